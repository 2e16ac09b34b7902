"""Every error the persistence layer raises: one hierarchy, messages a user can act on.

``MESSAGES`` is the one source of each error sentence a user can meet, keyed by the error's
``code``: ``str(error)`` is that sentence in English, filled from the error's ``params`` (for
logs and the ``persist`` command), and the UI shows the same entry, or its translation in
``persistence/ui/strings.py``, as ``error.<code>``. Errors without an entry (configuration,
export format) carry their own English message.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

MESSAGES: dict[str, str] = {
    "name.not_text": "A process name must be text, not {type}.",
    "name.empty": "A process name must not be empty.",
    "name.too_long": "A process name can have at most {limit} characters (this one has {length}).",
    "name.control": "A process name must not contain control characters (found U+{codepoint}).",
    "exists": "A process named {name!r} already exists.",
    "not_found": "The process {name!r} does not exist (it was deleted or it expired).",
    "unstorable": "{key!r} cannot be saved: {reason}",
    "value_too_large": "{key!r} takes {size} bytes, over the limit of {limit} bytes for one "
    "value. The other keys are saved.",
    "too_large": "The process would take {size} bytes, over the limit of {limit} bytes. "
    "Not saved: {refused}; the other keys are saved. Biggest keys: {keys}.",
    "corrupt": "The process {name!r} is corrupt and cannot be opened ({detail}). "
    "The stored data was left as it is.",
    "corrupt_copied": "The process {name!r} is corrupt and cannot be opened ({detail}). "
    "A copy of the bad data was kept at {copy}.",
    "unavailable": "Storage unavailable: {detail}",
    "conflict": "The process {name!r} changed while it was being migrated; nothing was written.",
    "migration_failed": "The process {name!r} cannot be opened: its migration {migration!r} "
    "failed ({detail}). The process was left exactly as it was.",
    "migration_newer": "The process {name!r} was migrated by a newer version of this app "
    "({unknown}). This server leaves it as it is: open it once every server runs the new "
    "version.",
}


class PersistenceError(Exception):
    """Base class: catch this to handle every persistence failure.

    ``code`` names the sentence in ``MESSAGES`` and ``params`` fill it: ``str(error)`` is
    the English sentence, the UI shows it in the user's language. Give ``message`` only for
    a code without a sentence there.
    """

    code = "error"

    def __init__(
        self, message: str | None = None, *, code: str | None = None, **params: object
    ) -> None:
        if code is not None:
            self.code = code
        self.params = params
        sentence = MESSAGES.get(self.code)
        if sentence is not None and message is not None:
            raise TypeError(f"{self.code!r} errors take their message from MESSAGES")
        if message is None:
            if sentence is None:
                raise TypeError(f"{self.code!r} has no sentence in MESSAGES: pass a message")
            message = sentence.format(**params)
        super().__init__(message)


class ConfigurationError(PersistenceError):
    """The storage URL or a setting cannot be used."""


class InvalidProcessNameError(PersistenceError, ValueError):
    """A process name was rejected; ``code`` (``name.<rule>``) says why."""


class ProcessExistsError(PersistenceError):
    code = "exists"

    def __init__(self, name: str) -> None:
        super().__init__(name=name)
        self.name = name


class ProcessNotFoundError(PersistenceError):
    code = "not_found"

    def __init__(self, name: str) -> None:
        super().__init__(name=name)
        self.name = name


class UnstorableValueError(PersistenceError, TypeError):
    """A session-state value has a type that cannot be saved."""

    code = "unstorable"

    def __init__(self, key: str, reason: str) -> None:
        super().__init__(key=key, reason=reason)
        self.key = key
        self.reason = reason


class ValueTooLargeError(PersistenceError):
    """One session-state value whose encoding is over ``max_value_bytes``: that key is not
    saved, the others are."""

    code = "value_too_large"

    def __init__(self, key: str, size: int, limit: int) -> None:
        super().__init__(key=key, size=f"{size:,}", limit=f"{limit:,}")
        self.key = key
        self.size = size
        self.limit = limit


class ProcessTooLargeError(PersistenceError):
    """Saving ``refused`` would take the process over ``max_process_bytes``: those keys are
    not saved (the other changed keys are), and ``biggest`` says what takes the room."""

    code = "too_large"

    def __init__(
        self,
        size: int,
        limit: int,
        biggest: Sequence[tuple[str, int]],
        refused: Sequence[str],
    ) -> None:
        keys = ", ".join(f"{key} ({length:,} bytes)" for key, length in biggest)
        super().__init__(
            size=f"{size:,}", limit=f"{limit:,}", keys=keys, refused=", ".join(refused)
        )
        self.size = size
        self.limit = limit
        self.biggest = list(biggest)
        self.refused = list(refused)


class CorruptProcessError(PersistenceError):
    """A stored process cannot be read. The data is left as it is, or moved aside with a copy
    kept at ``preserved_copy``."""

    def __init__(self, name: str, detail: str, preserved_copy: Path | None = None) -> None:
        super().__init__(
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

    def __init__(self, detail: str) -> None:
        super().__init__(detail=detail)
        self.detail = detail


class RevisionConflictError(PersistenceError):
    """A conditional write (``expected_revision``) found the process at another revision:
    someone wrote meanwhile, and nothing was written."""

    code = "conflict"

    def __init__(self, name: str, expected: int) -> None:
        super().__init__(name=name)
        self.name = name
        self.expected = expected


class MigrationFailedError(PersistenceError):
    """A migration of saved state raised (or made a value that cannot be stored): the
    process is left exactly as it was, and neither it nor the later migrations are applied."""

    code = "migration_failed"

    def __init__(self, name: str, migration: str, detail: str) -> None:
        super().__init__(name=name, migration=migration, detail=detail)
        self.name = name
        self.migration = migration
        self.detail = detail


class NewerMigrationsError(PersistenceError):
    """The process records migrations this code does not know: a newer release migrated it
    (a rolling deploy). This server writes nothing into it."""

    code = "migration_newer"

    def __init__(self, name: str, unknown: Sequence[str]) -> None:
        super().__init__(name=name, unknown=", ".join(unknown))
        self.name = name
        self.unknown = list(unknown)


class UnsupportedFormatError(PersistenceError):
    """An export file cannot be imported: not an export, a newer format version, or a
    process in it that cannot be stored. Nothing of it is imported."""


class LoginRequiredError(PersistenceError):
    """``process_scope = "per_user"`` and nobody is signed in: no process may be read."""

    code = "login_required"
