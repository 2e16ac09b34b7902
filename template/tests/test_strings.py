"""Every UI string exists in every language, and every key the code uses exists.

Each table is checked against its own code: the package's (``persistence/ui/strings.py``)
against the package, each app's (``apps/<app>/strings.toml``) against that app's files.
"""

from __future__ import annotations

import re
import string
from pathlib import Path

import pytest

from persistence import StringTable
from persistence.errors import (
    MESSAGES,
    CorruptProcessError,
    InvalidProcessNameError,
    MigrationFailedError,
    NewerMigrationsError,
    PersistenceError,
    ProcessExistsError,
    ProcessNotFoundError,
    ProcessTooLargeError,
    RevisionConflictError,
    StorageUnavailableError,
    UnstorableValueError,
    ValueTooLargeError,
)
from persistence.names import validate_process_name
from persistence.ui.strings import STRINGS, describe, t
from tests.conftest import PROJECT_ROOT

LITERAL_KEY = re.compile(r"""\bt\(\s*["']([a-z_.]+)["']""")
OPTION_LISTS = {"tags": "TAGS", "region": "REGIONS", "items": "ITEMS"}
PACKAGE = PROJECT_ROOT / "packages" / "persistence" / "src" / "persistence"
APPS = sorted(table.parent for table in (PROJECT_ROOT / "apps").glob("*/strings.toml"))
# Each table, and the folder of the code that looks strings up in it.
TABLES: dict[str, tuple[StringTable, Path]] = {
    "persistence": (t, PACKAGE),
    **{app.name: (StringTable.load(app / "strings.toml"), app) for app in APPS},
}


LOOKUP_ITSELF = {"strings.py", "i18n.py"}  # the package table and the lookup, not callers


def source(folder: Path) -> str:
    files = sorted(path for path in folder.rglob("*.py") if path.name not in LOOKUP_ITSELF)
    return "\n".join(path.read_text(encoding="utf-8") for path in files)


def placeholders(text: str) -> set[str]:
    return {field for _, field, _, _ in string.Formatter().parse(text) if field is not None}


def test_every_app_has_its_own_table() -> None:
    apps = {entry.parent for entry in (PROJECT_ROOT / "apps").glob("*/app.py")}
    assert apps == set(APPS), "an app without strings.toml beside its app.py"


@pytest.mark.parametrize("table", sorted(TABLES))
def test_every_language_has_every_string(table: str) -> None:
    strings = TABLES[table][0].strings
    assert sorted(strings) == ["en", "ja"]
    english = set(strings["en"])
    for language, texts in strings.items():
        assert set(texts) == english, f"{language}: {set(texts) ^ english}"
        assert all(text.strip() for text in texts.values()), language


@pytest.mark.parametrize("language", ["en", "ja"])
@pytest.mark.parametrize("table", sorted(TABLES))
def test_every_key_the_code_uses_exists(table: str, language: str) -> None:
    strings, folder = TABLES[table]
    used = set(LITERAL_KEY.findall(source(folder)))
    assert used, "the pattern found no t(...) calls"
    assert used <= set(strings.strings[language]), used - set(strings.strings[language])


@pytest.mark.parametrize("language", ["en", "ja"])
def test_option_labels_exist_for_every_option(language: str) -> None:
    main, folder = TABLES["main"]
    text = source(folder)
    for prefix, constant in OPTION_LISTS.items():
        match = re.search(rf"{constant} = \[(.*?)\]", text)
        assert match, constant
        for option in re.findall(r'"(\w+)"', match.group(1)):
            assert main(f"{prefix}.{option}", language)


@pytest.mark.parametrize("table", sorted(TABLES))
def test_placeholders_match_across_languages(table: str) -> None:
    strings = TABLES[table][0].strings
    for key, english in strings["en"].items():
        for language, texts in strings.items():
            assert placeholders(texts[key]) == placeholders(english), (language, key)


def test_the_package_holds_no_app_wording() -> None:
    groups = {key.split(".")[0] for key in STRINGS["en"]}
    assert groups == {"sidebar", "status", "toast", "error", "login", "new", "upload", "history"}, (
        groups
    )


def _errors() -> list[PersistenceError]:
    examples: list[PersistenceError] = [
        ProcessExistsError("週次"),
        ProcessNotFoundError("週次"),
        UnstorableValueError("persist_x", "values of type set cannot be stored"),
        ValueTooLargeError("persist_big", 25_000_000, 20_971_520),
        ProcessTooLargeError(
            70_000_000, 67_108_864, [("persist_big", 20_000_000)], ["persist_big"]
        ),
        CorruptProcessError("週次", "bad JSON"),
        CorruptProcessError("週次", "bad JSON", Path("/data/corrupt/x.json")),
        StorageUnavailableError("connection refused"),
        RevisionConflictError("週次", 3),
        MigrationFailedError("週次", "0002-percent", "ValueError: no such column"),
        NewerMigrationsError("週次", ["0003-split"]),
    ]
    for bad in ["", "x" * 201, "a\nb", 42]:
        try:
            validate_process_name(bad)
        except InvalidProcessNameError as error:
            examples.append(error)
    return examples


@pytest.mark.parametrize("language", ["en", "ja"])
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
