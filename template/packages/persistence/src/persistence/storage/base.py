"""What every store derives from a few primitives, written once (as Django's ``SessionBase``).

``StorageBase`` derives the reads that follow from others (``load_process`` from
``read_process``, ``process_exists`` from ``process_revision``); the backends and the
wrappers of ``persistence.storage.delegating`` extend it. ``BackendStore`` adds what a
backend shares: the retention window, the name check (once, before a primitive sees the
name), the rename to the same name, and encoding before its writes. This module also holds
the helpers a backend uses instead of writing its own: ``name_digest`` (a name's file name
or key part), ``describe_server`` (an address for messages), ``outages`` (the medium's
errors as ``StorageUnavailableError``), ``decode_snapshot`` (a process kept as a value per
key) and ``migrate_schema`` (versioned schema steps of an SQL database). So a backend module
holds only what touches its medium. The public contract stays the structural
``StorageInterface``: these classes are a convenience, never a requirement.
"""

from __future__ import annotations

import contextlib
import hashlib
from abc import ABC, abstractmethod
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import SplitResult, urlsplit

from persistence import codec, settings
from persistence.errors import (
    ConfigurationError,
    CorruptProcessError,
    ProcessExistsError,
    ProcessNotFoundError,
    RevisionConflictError,
    StorageUnavailableError,
)
from persistence.history import without_history
from persistence.models import Clock, ProcessInfo, ProcessRecord, ProcessSnapshot, Revision, State
from persistence.names import MAX_NAME_LENGTH, validate_process_name

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_ONE_MICROSECOND = timedelta(microseconds=1)


def to_micros(moment: datetime) -> int:
    """Exact integer microseconds (a float timestamp would round some datetimes)."""
    return (moment - _EPOCH) // _ONE_MICROSECOND


def from_micros(micros: int) -> datetime:
    return _EPOCH + timedelta(microseconds=micros)


def url_path(url: str) -> Path:
    """The path of ``scheme:///relative`` or ``scheme:////absolute`` (SQLAlchemy's convention).

    A relative path is resolved against the project root (``settings.project_root``), not
    the working directory: the app and ``persist`` use one ``data/`` folder wherever they
    are started from.
    """
    path = url.split("://", 1)[1] if "://" in url else url
    if path.startswith("/"):
        path = path[1:]
    if not path:
        raise ConfigurationError(f"The storage URL {url!r} names no path.")
    if "\x00" in path:
        raise ConfigurationError(f"The storage URL {url!r} contains a NUL character.")
    return settings.project_root() / path


def redact(url: str) -> str:
    """``url`` for a message: everything before the last ``@`` of its address (a user name
    and password) is masked."""
    scheme, separator, rest = url.partition("://")
    address, slash, path = rest.partition("/")
    if separator and "@" in address:
        return f"{scheme}://***@{address.rsplit('@', 1)[1]}{slash}{path}"
    return url


def server_url_parts(url: str) -> SplitResult:
    """``url`` of a storage server, split, with its port checked: a mistyped URL is a
    ``ConfigurationError`` naming what is wrong (never the password), not a ``ValueError``."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError unless a number in 0-65535
    except ValueError as error:
        raise ConfigurationError(
            f"The storage URL {redact(url)} cannot be used: {error}."
        ) from None
    return parts


def describe_server(url: str, *, default_port: int, scheme: str | None = None) -> str:
    """A storage server's address for messages, without the credentials the URL may carry
    (``scheme``: the one to show, else the URL's). A URL with no host names a socket path."""
    parts = server_url_parts(url)
    shown = scheme or parts.scheme
    if parts.scheme == "unix":
        return f"{shown}://{parts.path}"
    host = parts.hostname or "localhost"
    return f"{shown}://{host}:{parts.port or default_port}{parts.path}"


def name_digest(name: str) -> str:
    """A fixed-length identifier for a process name, safe as a file name or a key part
    (names are free Unicode; these stores never use a name itself as one)."""
    return hashlib.sha256(name.encode("utf-8")).hexdigest()[:40]


@contextlib.contextmanager
def outages(
    translate: Callable[[Exception], str | None], *, passed: tuple[type[Exception], ...] = ()
) -> Iterator[None]:
    """Turn what the medium raises when it cannot serve (down, locked, unreadable) into
    ``StorageUnavailableError``, with the message ``translate`` gives; an error for which
    it gives ``None``, or one of ``passed`` (a bug of the backend, not an outage), is
    raised as it is."""
    try:
        yield
    except passed:
        raise
    except Exception as error:
        message = translate(error)
        if message is None:
            raise
        raise StorageUnavailableError(message) from error


SchemaSteps = Mapping[int, Sequence[str]]  # version n: the statements that make n-1 into n


class Rows(Protocol):
    """What a database driver's ``execute`` returns (a cursor), as far as this module reads it."""

    def fetchone(self) -> Any: ...


def migrate_schema(
    run: Callable[[str, tuple[int, ...] | None], Rows],
    steps: SchemaSteps,
    *,
    table: str,
    placeholder: str,
    where: str,
    instead: str,
) -> None:
    """Bring an SQL database up to the last of ``steps``, inside the caller's transaction.
    ``table`` (created when missing) has a row per version the database was brought to;
    every statement goes through ``run(statement, parameters)``, whose driver writes a
    parameter as ``placeholder``. A version newer than this release knows is a
    ``ConfigurationError`` naming ``where`` it was found and what to use ``instead`` of
    updating the project."""
    # ``table`` and ``placeholder`` are the backends' constants, never input: no injection.
    run(f"CREATE TABLE IF NOT EXISTS {table} (version integer NOT NULL)", None)
    row = run(f"SELECT max(version) FROM {table}", None).fetchone()  # noqa: S608
    current = (row[0] if row else None) or 0
    latest = max(steps)
    if current > latest:
        raise ConfigurationError(
            f"{where} has schema version {current}, written by a newer release; this one "
            f"knows up to {latest}. Update the project (copier update) or {instead}."
        )
    for version in range(current + 1, latest + 1):
        for statement in steps[version]:
            run(statement, None)
        run(f"INSERT INTO {table} (version) VALUES ({placeholder})", (version,))  # noqa: S608


def prefix_end(prefix: str) -> str | None:
    """The smallest text after every text that starts with ``prefix``, in code point order
    (which is UTF-8 byte order): ``prefix <= name < prefix_end(prefix)`` is a range an
    ordered index can walk. ``None`` when there is no such text (no upper bound)."""
    while prefix:
        code = ord(prefix[-1]) + 1
        if 0xD800 <= code <= 0xDFFF:  # surrogates are no text: skip to the next character
            code = 0xE000
        if code <= 0x10FFFF:
            return prefix[:-1] + chr(code)
        prefix = prefix[:-1]
    return None


def decode_snapshot(
    name: str,
    revision: Revision,
    updated_at: datetime,
    entries: Iterable[tuple[str | bytes, str | bytes]],
) -> ProcessSnapshot:
    """A process from ``(key, codec JSON text)`` pairs, as stores that keep a value per key
    hold it (Redis hands back bytes); a value that cannot be read fails its process only."""
    state: State = {}
    for raw_key, text in entries:
        try:
            key = raw_key.decode("utf-8") if isinstance(raw_key, bytes) else raw_key
            state[key] = codec.loads(text)
        except (ValueError, TypeError) as error:
            raise CorruptProcessError(
                name, f"the value of {raw_key!r} cannot be read: {error}"
            ) from None
    return ProcessSnapshot(name=name, state=state, revision=revision, updated_at=updated_at)


class StorageBase(ABC):
    """The reads every implementation derives instead of writing them again."""

    @abstractmethod
    def _read_stored(self, name: str) -> ProcessSnapshot | None:
        """Every stored key of ``name``, its change entries included."""

    def read_process(self, name: str, *, with_history: bool = False) -> ProcessSnapshot | None:
        snapshot = self._read_stored(name)
        if snapshot is None or with_history:
            return snapshot
        return without_history(snapshot)

    @abstractmethod
    def process_revision(self, name: str) -> Revision | None: ...

    @abstractmethod
    def list_processes(self) -> list[ProcessInfo]: ...

    @abstractmethod
    def create_process(self, name: str) -> ProcessInfo: ...

    @abstractmethod
    def update_process(
        self,
        name: str,
        changed: Mapping[str, Any],
        removed: Collection[str] = (),
        *,
        expected_revision: Revision | None = None,
        encodings: Mapping[str, codec.Encoded] | None = None,
    ) -> Revision: ...

    @abstractmethod
    def delete_process(self, name: str) -> bool: ...

    def list_processes_by_prefix(self, prefix: str) -> list[ProcessInfo]:
        """Correct for any store, but it reads every process: a backend with an index on
        names overrides it."""
        return [info for info in self.list_processes() if info.name.startswith(prefix)]

    def load_process(self, name: str) -> State | None:
        snapshot = self.read_process(name)
        return None if snapshot is None else snapshot.state

    def process_exists(self, name: str) -> bool:
        return self.process_revision(name) is not None

    def copy_process(self, source: str, target: str) -> ProcessInfo:
        """Correct for any store through its own calls (a wrapper's names stay its own):
        the target is created first, so a taken name writes nothing, then filled; a fill
        that fails deletes it again. The copy's history starts empty."""
        snapshot = self.read_process(source)
        if snapshot is None:
            raise ProcessNotFoundError(source)
        info = self.create_process(target)
        if not snapshot.state:
            return info
        try:
            self.update_process(target, snapshot.state)
        except BaseException:
            with contextlib.suppress(Exception):  # the fill's error is the one to report
                self.delete_process(target)
            raise
        copied = self.read_process(target)
        if copied is None:  # deleted by someone else at once: as if never copied
            raise ProcessNotFoundError(target)
        return ProcessInfo(copied.name, copied.updated_at)

    @property
    def max_name_length(self) -> int:
        return MAX_NAME_LENGTH


class BackendStore(StorageBase):
    """A backend: the contract's calls written once around the backend's primitives.

    Every name is checked here, once, before a primitive sees it; a rename to the same
    name is answered here; ``save_process`` and ``update_process`` encode every value before
    the backend's ``_replace_state`` / ``_update_state`` write anything, so an unstorable
    value writes nothing. Each primitive is one atomic step in its backend (a locked file, a
    transaction, a Lua script): a save is never an update plus a create.
    """

    def __init__(self, *, retention: timedelta, clock: Clock) -> None:
        self.retention = retention
        self._clock = clock

    # -- what a backend implements: its primitives (names already checked) ------------------
    @abstractmethod
    def _snapshot_of(self, name: str) -> ProcessSnapshot | None:
        """The live process ``name`` (state, revision, last update), or ``None``."""

    @abstractmethod
    def _revision_of(self, name: str) -> Revision | None:
        """The revision of the live process ``name``, or ``None``."""

    @abstractmethod
    def _create_new(self, name: str) -> ProcessInfo:
        """Create an empty process (an expired one of that name is replaced);
        ``ProcessExistsError`` when a live one has the name."""

    @abstractmethod
    def _move(self, old: str, new: str) -> None:
        """Rename ``old`` to ``new`` (never the same name), keeping its state, one revision
        up; ``ProcessNotFoundError`` / ``ProcessExistsError`` in the same atomic step."""

    @abstractmethod
    def _delete_named(self, name: str) -> bool:
        """Delete ``name``, live or expired; ``True`` when something was deleted."""

    @abstractmethod
    def _replace_state(self, name: str, encoded: Mapping[str, Any]) -> None:
        """Make ``encoded`` the whole state of ``name``, creating the process when it is
        new or expired (revision 1), else counting one revision up."""

    @abstractmethod
    def _update_state(
        self,
        name: str,
        encoded: Mapping[str, Any],
        removed: Collection[str],
        expected: Revision | None = None,
    ) -> Revision | None:
        """Write ``encoded`` keys and delete ``removed`` ones of a live process; return the
        new revision, or ``None`` (writing nothing) when the process is gone or, with
        ``expected``, not at that revision (one atomic step with the write)."""

    @abstractmethod
    def _import_states(self, batch: Sequence[tuple[str, Mapping[str, Any], datetime]]) -> None:
        """Make each ``(name, encoded, updated_at)`` the whole state and last update of its
        process, as ``_replace_state`` does, all or none: one transaction, or undone when a
        write fails. Names are distinct and checked, values encoded, times within the
        retention window."""

    def _encode_value(self, key: str, value: Any, known: codec.Encoded | None) -> Any:
        """One value as the backend keeps it: ``codec`` JSON text (a row, a hash field),
        or ``known``, what was encoded of this very value already. A backend that writes
        its values into a document of its own overrides it."""
        return codec.encode(key, value, known)

    def _encode_state(
        self, values: Mapping[str, Any], known: Mapping[str, codec.Encoded] | None = None
    ) -> dict[str, Any]:
        """Each value as ``_encode_value`` makes it, taken from ``known`` for the very value
        encoded there already. ``UnstorableValueError`` names the first key that cannot be
        stored."""
        return {
            key: self._encode_value(key, value, codec.reused(known, key, value))
            for key, value in values.items()
        }

    # -- the contract -----------------------------------------------------------------------
    def _read_stored(self, name: str) -> ProcessSnapshot | None:
        return self._snapshot_of(validate_process_name(name))

    def process_revision(self, name: str) -> Revision | None:
        return self._revision_of(validate_process_name(name))

    def create_process(self, name: str) -> ProcessInfo:
        return self._create_new(validate_process_name(name))

    def rename_process(self, old: str, new: str) -> None:
        validate_process_name(old)
        validate_process_name(new)
        if old != new:
            self._move(old, new)
        elif self._revision_of(old) is None:
            raise ProcessNotFoundError(old)

    def delete_process(self, name: str) -> bool:
        return self._delete_named(validate_process_name(name))

    def save_process(self, name: str, data: Mapping[str, Any]) -> None:
        validate_process_name(name)
        self._replace_state(name, self._encode_state(data))

    def update_process(
        self,
        name: str,
        changed: Mapping[str, Any],
        removed: Collection[str] = (),
        *,
        expected_revision: Revision | None = None,
        encodings: Mapping[str, codec.Encoded] | None = None,
    ) -> Revision:
        validate_process_name(name)
        encoded = self._encode_state(changed, encodings)
        revision = self._update_state(name, encoded, removed, expected_revision)
        if revision is None:
            if expected_revision is not None and self.process_revision(name) is not None:
                raise RevisionConflictError(name, expected_revision)
            # A session saving into a process deleted elsewhere must not bring it back.
            raise ProcessNotFoundError(name)
        return revision

    def import_processes(self, processes: Sequence[ProcessRecord]) -> list[str]:
        now = self._clock()
        cutoff = self._cutoff(now)
        batch: list[tuple[str, Mapping[str, Any], datetime]] = []
        seen: set[str] = set()
        for record in processes:  # every check before the first write
            validate_process_name(record.name)
            if record.name in seen:
                raise ProcessExistsError(record.name)
            seen.add(record.name)
            updated_at = now if record.updated_at is None else min(record.updated_at, now)
            if updated_at >= cutoff:
                batch.append((record.name, self._encode_state(record.state), updated_at))
        if batch:
            self._import_states(batch)
        return [name for name, _, _ in batch]

    # -- retention --------------------------------------------------------------------------
    def _cutoff(self, now: datetime | None = None) -> datetime:
        """A process last updated before this moment has expired, whether purged or not."""
        return (self._clock() if now is None else now) - self.retention

    def _expired(self, updated_at: datetime) -> bool:
        return updated_at < self._cutoff()
