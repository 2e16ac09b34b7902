"""Every UI string exists in every language, and every key the code asks for exists."""

from __future__ import annotations

import re
import string
from pathlib import Path

import pytest

from persistence.errors import (
    MESSAGES,
    CorruptProcessError,
    InvalidProcessNameError,
    PersistenceError,
    ProcessExistsError,
    ProcessNotFoundError,
    ProcessTooLargeError,
    StorageUnavailableError,
    UnstorableValueError,
)
from persistence.names import validate_process_name
from persistence.ui.strings import STRINGS, describe, t
from tests.conftest import PROJECT_ROOT

LITERAL_KEY = re.compile(r"""\bt\(\s*["']([a-z_.]+)["']""")
OPTION_LISTS = {"tags": "TAGS", "region": "REGIONS", "items": "ITEMS"}


def source() -> str:
    files = [*(PROJECT_ROOT / "apps").rglob("*.py"), *(PROJECT_ROOT / "packages").rglob("*.py")]
    return "\n".join(
        path.read_text(encoding="utf-8") for path in files if path.name != "strings.py"
    )


def test_every_language_has_every_string() -> None:
    english = set(STRINGS["en"])
    for language, strings in STRINGS.items():
        assert set(strings) == english, f"{language}: {set(strings) ^ english}"
        assert all(text.strip() for text in strings.values()), language


@pytest.mark.parametrize("language", sorted(STRINGS))
def test_every_key_the_code_uses_exists(language: str) -> None:
    used = set(LITERAL_KEY.findall(source()))
    assert used, "the pattern found no t(...) calls"
    assert used <= set(STRINGS[language]), used - set(STRINGS[language])


@pytest.mark.parametrize("language", sorted(STRINGS))
def test_option_labels_exist_for_every_option(language: str) -> None:
    text = source()
    for prefix, constant in OPTION_LISTS.items():
        match = re.search(rf"{constant} = \[(.*?)\]", text)
        assert match, constant
        for option in re.findall(r'"(\w+)"', match.group(1)):
            assert t(f"{prefix}.{option}", language)


def placeholders(text: str) -> set[str]:
    return {field for _, field, _, _ in string.Formatter().parse(text) if field is not None}


def test_placeholders_match_across_languages() -> None:
    for key, english in STRINGS["en"].items():
        for language, strings in STRINGS.items():
            assert placeholders(strings[key]) == placeholders(english), (language, key)


def _errors() -> list[PersistenceError]:
    examples: list[PersistenceError] = [
        ProcessExistsError("週次"),
        ProcessNotFoundError("週次"),
        UnstorableValueError("persist_x", "values of type set cannot be stored"),
        ProcessTooLargeError(2_000_000, 1_048_576, [("persist_big", 1_999_000)]),
        CorruptProcessError("週次", "bad JSON"),
        CorruptProcessError("週次", "bad JSON", Path("/data/corrupt/x.json")),
        StorageUnavailableError("connection refused"),
    ]
    for bad in ["", "x" * 201, "a\nb", 42]:
        try:
            validate_process_name(bad)
        except InvalidProcessNameError as error:
            examples.append(error)
    return examples


@pytest.mark.parametrize("language", sorted(STRINGS))
@pytest.mark.parametrize("error", _errors(), ids=lambda error: error.code)
def test_every_error_a_user_can_meet_is_translated(language: str, error: PersistenceError) -> None:
    text = describe(error, language)
    assert f"error.{error.code}" in STRINGS[language]
    assert "{" not in text and text.strip()


@pytest.mark.parametrize("error", _errors(), ids=lambda error: error.code)
def test_each_error_sentence_has_one_source(error: PersistenceError) -> None:
    """The log and command-line text is the UI's English: both come from MESSAGES."""
    assert STRINGS["en"][f"error.{error.code}"] is MESSAGES[error.code]
    assert describe(error, "en") == str(error)


def test_every_error_sentence_is_used() -> None:
    assert {error.code for error in _errors()} == set(MESSAGES)
