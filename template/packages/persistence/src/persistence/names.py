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
        raise InvalidProcessNameError(f"A process name must be text, not {type(name).__name__}.")
    if not name.strip():
        raise InvalidProcessNameError("A process name must not be empty.")
    if len(name) > MAX_NAME_LENGTH:
        raise InvalidProcessNameError(
            f"A process name can have at most {MAX_NAME_LENGTH} characters "
            f"(this one has {len(name)})."
        )
    for char in name:
        if unicodedata.category(char) in _FORBIDDEN_CATEGORIES:
            raise InvalidProcessNameError(
                f"A process name must not contain control characters (found U+{ord(char):04X})."
            )
    return name
