"""The storage contract every backend implements, structurally: a store needs no base class
(this package's share ``base.py`` only to write the derived calls once).

Names passed in are checked by ``validate_process_name``; states are free-form
``dict[str, Any]`` of values the codec can store. Every backend writes per key, so two
sessions that change different keys of one process never undo each other.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from datetime import timedelta
from typing import Any, Protocol, runtime_checkable

from persistence import codec
from persistence.models import Clock, ProcessInfo, ProcessRecord, ProcessSnapshot, Revision, State


@runtime_checkable
class StorageInterface(Protocol):
    # -- the two calls an app needs at the least: save and load a whole state --------------
    def save_process(self, name: str, data: Mapping[str, Any]) -> None:
        """Replace the whole state of ``name``, creating the process when it is new."""

    def load_process(self, name: str) -> State | None:
        """The state of ``name``, or ``None`` when there is no such (unexpired) process."""

    # -- what a real app needs --------------------------------------------------------------
    def read_process(self, name: str, *, with_history: bool = False) -> ProcessSnapshot | None:
        """State plus revision and last update, or ``None``. The process's change entries
        (``persistence.history``) are keys of its state only ``with_history``."""

    def update_process(
        self,
        name: str,
        changed: Mapping[str, Any],
        removed: Collection[str] = (),
        *,
        expected_revision: Revision | None = None,
        encodings: Mapping[str, codec.Encoded] | None = None,
    ) -> Revision:
        """Write only ``changed`` keys and delete only ``removed`` ones; return the new revision.

        Raises ``ProcessNotFoundError`` when the process was deleted or expired: a session
        saving into a process deleted elsewhere must not bring it back. With
        ``expected_revision``, the write happens only when the process is at that revision
        (checked in the same atomic step), else ``RevisionConflictError`` and nothing is
        written: a migration applied by two servers at once is applied once. ``encodings``:
        what the caller encoded of ``changed`` already (the sync engine, which measures each
        value), used for a key whose value is that very object instead of encoding again.
        """

    def process_revision(self, name: str) -> Revision | None:
        """The current revision, or ``None`` when the process is gone: the cheap per-rerun check."""

    def create_process(self, name: str) -> ProcessInfo:
        """Create an empty process; ``ProcessExistsError`` when the name is taken."""

    def rename_process(self, old: str, new: str) -> None:
        """Rename keeping the state; ``ProcessNotFoundError`` / ``ProcessExistsError``."""

    def copy_process(self, source: str, target: str) -> ProcessInfo:
        """Create ``target`` holding a copy of ``source``'s whole state (its own revision
        and retention clock); ``ProcessNotFoundError`` / ``ProcessExistsError``, and then
        nothing is written."""

    def delete_process(self, name: str) -> bool:
        """Delete; ``True`` when something was deleted."""

    def process_exists(self, name: str) -> bool: ...

    def list_processes(self) -> list[ProcessInfo]:
        """Every unexpired process, most recently updated first."""

    def list_processes_by_prefix(self, prefix: str) -> list[ProcessInfo]:
        """The unexpired processes whose name starts with ``prefix``, most recently updated
        first. Backends answer from an index, reading only those processes: a per-user view
        lists one user's processes this way, whatever the number of users."""

    def import_processes(self, processes: Sequence[ProcessRecord]) -> list[str]:
        """Write whole processes with their state and last update, all or none; return the
        names written.

        Every name and value is checked before anything is written, and the writes are one
        transaction (or undone when one fails): a failure leaves the store as it was. A
        process of the same name is replaced. A last update in the future counts as now; a
        process already past the retention window is skipped (an import never brings back
        an expired process).
        """

    def purge_expired(self) -> list[str]:
        """Delete processes not updated within the retention window; return their names."""

    def close(self) -> None: ...

    @property
    def max_name_length(self) -> int:
        """The longest process name this store takes, in characters."""


class BackendFactory(Protocol):
    """A backend module's ``open_store``: the store for a storage URL of its scheme."""

    def __call__(
        self, url: str, *, retention: timedelta, namespace: str, clock: Clock
    ) -> StorageInterface: ...
