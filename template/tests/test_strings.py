"""Every UI string exists in every language, and every key the code asks for exists."""

from __future__ import annotations

import re

import pytest

from persistence.ui.strings import STRINGS, t
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


def test_placeholders_match_across_languages() -> None:
    fields = re.compile(r"\{(\w+)\}")
    for key, english in STRINGS["en"].items():
        for language, strings in STRINGS.items():
            assert set(fields.findall(strings[key])) == set(fields.findall(english)), (
                language,
                key,
            )
