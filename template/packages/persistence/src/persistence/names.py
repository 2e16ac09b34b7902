"""The one rule for process names, shared by every backend and the UI."""

from __future__ import annotations

import unicodedata

from persistence.errors import InvalidProcessNameError

MAX_NAME_LENGTH = 200

# Cc: control characters; Cs: lone surrogates (not encodable); Zl/Zp: line breaks.
_FORBIDDEN_CATEGORIES = frozenset({"Cc", "Cs", "Zl", "Zp"})


def validate_process_name(name: object) -> str:
    """Return ``name`` unchanged when it is a valid process name, else raise.

    Any printable Unicode is kept as typed (``2025年1月_週次レポート``). Names never become
    paths or keys directly: every backend derives its own safe identifier from them.
    """
    if not isinstance(name, str):
        kind = type(name).__name__
        raise InvalidProcessNameError(code="name.not_text", type=kind)
    if not name.strip():
        raise InvalidProcessNameError(code="name.empty")
    check_name_length(name, MAX_NAME_LENGTH)
    for char in name:
        if unicodedata.category(char) in _FORBIDDEN_CATEGORIES:
            raise InvalidProcessNameError(code="name.control", codepoint=f"{ord(char):04X}")
    return name


def check_name_length(name: str, limit: int) -> None:
    if len(name) > limit:
        raise InvalidProcessNameError(code="name.too_long", limit=limit, length=len(name))
