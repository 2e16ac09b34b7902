"""Every error the persistence layer raises: one hierarchy, messages a user can act on."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path


class PersistenceError(Exception):
    """Base class: catch this to handle every persistence failure.

    ``str(error)`` is an English sentence for logs and the command line; the UI shows
    ``code`` and ``params`` through its string table, in the user's language.
    """

    code = "error"

    def __init__(self, message: str, *, code: str | None = None, **params: object) -> None:
        super().__init__(message)
        if code is not None:
            self.code = code
        self.params = params


class ConfigurationError(PersistenceError):
    """The storage URL or a setting cannot be used."""


class InvalidProcessNameError(PersistenceError, ValueError):
    """A process name was rejected; the message (and ``code``: ``name.<rule>``) says why."""


class ProcessExistsError(PersistenceError):
    code = "exists"

    def __init__(self, name: str) -> None:
        super().__init__(f"A process named {name!r} already exists.", name=name)
        self.name = name


class ProcessNotFoundError(PersistenceError):
    code = "not_found"

    def __init__(self, name: str) -> None:
        super().__init__(
            f"The process {name!r} does not exist (it was deleted or it expired).", name=name
        )
        self.name = name


class UnstorableValueError(PersistenceError, TypeError):
    """A session-state value has a type that cannot be saved."""

    code = "unstorable"

    def __init__(self, key: str, reason: str) -> None:
        super().__init__(f"{key!r} cannot be saved: {reason}", key=key, reason=reason)
        self.key = key
        self.reason = reason


class ProcessTooLargeError(PersistenceError):
    code = "too_large"

    def __init__(self, size: int, limit: int, biggest: Sequence[tuple[str, int]]) -> None:
        keys = ", ".join(f"{key} ({length:,} bytes)" for key, length in biggest)
        super().__init__(
            f"The process would take {size:,} bytes, over the limit of {limit:,} bytes. "
            f"Biggest keys: {keys}. Nothing was saved.",
            size=f"{size:,}",
            limit=f"{limit:,}",
            keys=keys,
        )
        self.size = size
        self.limit = limit
        self.biggest = list(biggest)


class CorruptProcessError(PersistenceError):
    """A stored process cannot be read; a copy of the bad data was kept."""

    def __init__(self, name: str, detail: str, preserved_copy: Path | None = None) -> None:
        where = f" A copy of the bad data was kept at {preserved_copy}." if preserved_copy else ""
        super().__init__(
            f"The process {name!r} is corrupt and cannot be opened: {detail}.{where}",
            code="corrupt_copied" if preserved_copy else "corrupt",
            name=name,
            detail=detail,
            copy=str(preserved_copy),
        )
        self.name = name
        self.preserved_copy = preserved_copy


class StorageUnavailableError(PersistenceError):
    """The storage server or file cannot be reached right now; retry later."""

    code = "unavailable"

    def __init__(self, message: str) -> None:
        super().__init__(message, detail=message)


class UnsupportedFormatError(PersistenceError):
    """An export file was written by a newer release than this one can read."""


class LoginRequiredError(PersistenceError):
    """``process_scope = "per_user"`` and nobody is signed in: no process may be read."""

    code = "login_required"
