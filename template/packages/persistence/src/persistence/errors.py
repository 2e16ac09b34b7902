"""Every error the persistence layer raises: one hierarchy, messages a user can act on."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path


class PersistenceError(Exception):
    """Base class: catch this to handle every persistence failure."""


class ConfigurationError(PersistenceError):
    """The storage URL or a setting cannot be used."""


class InvalidProcessNameError(PersistenceError, ValueError):
    """A process name was rejected; the message says why."""


class ProcessExistsError(PersistenceError):
    def __init__(self, name: str) -> None:
        super().__init__(f"A process named {name!r} already exists.")
        self.name = name


class ProcessNotFoundError(PersistenceError):
    def __init__(self, name: str) -> None:
        super().__init__(f"The process {name!r} does not exist (it was deleted or it expired).")
        self.name = name


class UnstorableValueError(PersistenceError, TypeError):
    """A session-state value has a type that cannot be saved."""

    def __init__(self, key: str, reason: str) -> None:
        super().__init__(f"{key!r} cannot be saved: {reason}")
        self.key = key
        self.reason = reason


class ProcessTooLargeError(PersistenceError):
    def __init__(self, size: int, limit: int, biggest: Sequence[tuple[str, int]]) -> None:
        keys = ", ".join(f"{key} ({length:,} bytes)" for key, length in biggest)
        super().__init__(
            f"The process would take {size:,} bytes, over the limit of {limit:,} bytes. "
            f"Biggest keys: {keys}. Nothing was saved."
        )
        self.size = size
        self.limit = limit
        self.biggest = list(biggest)


class CorruptProcessError(PersistenceError):
    """A stored process cannot be read; a copy of the bad data was kept."""

    def __init__(self, name: str, detail: str, preserved_copy: Path | None = None) -> None:
        where = f" A copy of the bad data was kept at {preserved_copy}." if preserved_copy else ""
        super().__init__(f"The process {name!r} is corrupt and cannot be opened: {detail}.{where}")
        self.name = name
        self.preserved_copy = preserved_copy


class StorageUnavailableError(PersistenceError):
    """The storage server or file cannot be reached right now; retry later."""


class UnsupportedFormatError(PersistenceError):
    """An export file was written by a newer release than this one can read."""
