"""The one lookup for UI text: a ``StringTable`` per owner of wording.

The package's own table (sidebar, new-process form, save status, errors) is
``persistence.ui.strings``. Each app keeps its wording beside it, in ``strings.toml`` in the
app's folder, so an app's text goes away with the app::

    t = StringTable.load(Path(__file__).parent / "strings.toml")
    st.title(t("report.title"))

A table holds one mapping per language (``en``, ``ja``) of the same keys.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from persistence.settings import get_settings

Strings = Mapping[str, Mapping[str, str]]


class StringTable:
    """UI strings in every language: ``table("key", name=...)`` is the string ``key`` in the
    configured ``ui_language`` (or ``language=``), formatted with ``str.format``."""

    def __init__(self, strings: Strings) -> None:
        self.strings = strings

    @classmethod
    def load(cls, path: Path | str) -> StringTable:
        """The table in a TOML file: a table per language, keys nested or dotted.

        ``[en.report]`` then ``title = "Report"`` is the key ``report.title`` in English.
        The file is read again only when it changes.
        """
        path = Path(path)
        return cls(_read(path, path.stat().st_mtime_ns))

    @property
    def languages(self) -> list[str]:
        return sorted(self.strings)

    def get(self, key: str, language: str | None = None) -> str | None:
        """The unformatted string ``key``, or ``None`` when the table has no such key."""
        return self.strings[language or get_settings().ui_language].get(key)

    def __call__(self, key: str, language: str | None = None, **values: Any) -> str:
        return self.strings[language or get_settings().ui_language][key].format(**values)


_cache: dict[Path, tuple[int, dict[str, dict[str, str]]]] = {}


def _read(path: Path, mtime: int) -> dict[str, dict[str, str]]:
    cached = _cache.get(path)
    if cached is not None and cached[0] == mtime:
        return cached[1]
    with path.open("rb") as file:
        document = tomllib.load(file)
    strings = {language: _flatten(path, language, table) for language, table in document.items()}
    _cache[path] = (mtime, strings)
    return strings


def _flatten(path: Path, prefix: str, table: object) -> dict[str, str]:
    if not isinstance(table, dict):
        raise ValueError(f"{path}: {prefix} must be a table of strings")
    flat: dict[str, str] = {}
    for key, value in table.items():
        if isinstance(value, str):
            flat[key] = value
        else:
            nested = _flatten(path, f"{prefix}.{key}", value)
            flat.update({f"{key}.{inner}": text for inner, text in nested.items()})
    return flat
