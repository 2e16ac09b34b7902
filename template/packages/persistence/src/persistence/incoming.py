"""What storage holds, brought into one session's state: the keys of a process as it is
opened, then what other sessions (colleagues) write to it.

At the top of every run (``StateSync.begin_run``) one cheap revision check; when another
session wrote meanwhile, the process is read and every key that changed there is merged in. A
key this session changed since its last save stays as it is, being the later write; keys
deleted elsewhere are dropped. A key missing from the state is no deletion, though: Streamlit
drops the keys of widgets it did not render, and the engine puts them back
(``Deliveries.restore_dropped``).

**One table, two sessions.** A key is one value: of two sessions that change it at once, the
later write wins. A table (a ``DataFrame``: the data editor's) is merged cell by cell instead
(``codec.merge_edits``): before it writes a table, a session checks the process's revision
and, when a colleague wrote meanwhile, puts its own changed cells on top of the colleague's
table (``merge_tables_written_meanwhile``, under the write lock of ``persistence.saving``).
The top-of-run merge does the same for a table both changed. Sessions on two servers
(replicas) can still cross between the check and the write (milliseconds); a cell both changed
takes the later write.

This module imports neither Streamlit nor the engine (``persistence.sync``), which uses it.
"""

from __future__ import annotations

from collections.abc import Mapping, MutableMapping
from typing import Any

from persistence import codec
from persistence.deliveries import MISSING, Deliveries, as_plain_dict, same
from persistence.errors import (
    CorruptProcessError,
    MigrationFailedError,
    NewerMigrationsError,
    PersistenceError,
    StorageUnavailableError,
)
from persistence.history import Change, split
from persistence.limits import SizeLimits
from persistence.misfits import Misfits
from persistence.models import State
from persistence.status import SaveStatus
from persistence.storage import StorageInterface
from persistence.stored import StoredCopy


class IncomingChanges:
    """Puts the open process's keys into one session's state, and merges colleagues' writes."""

    def __init__(
        self,
        store: StorageInterface,
        state: MutableMapping[Any, Any],
        stored: StoredCopy,
        deliveries: Deliveries,
        limits: SizeLimits,
        misfits: Misfits,
    ) -> None:
        self._store = store
        self._state = state
        self._stored = stored
        self._deliveries = deliveries
        self._limits = limits
        self._misfits = misfits
        self.storage_down = False  # the last check found storage unreachable

    def load(self, incoming: State, entries: list[Change], on_screen: Mapping[str, Any]) -> None:
        """Put the keys of the process just opened (``incoming``, with its change ``entries``)
        into the state in place of the previous process's, except the keys ``on_screen``:
        those the browser of a reconnected tab shows, which it sends back."""
        current = as_plain_dict(self._state)
        self._deliveries.clear_keys_missing_from(incoming, current)
        self._stored.history = entries
        for key, value in incoming.items():
            self._stored.accept(key, value)
            if key not in on_screen:
                self._deliveries.put(key, value, current)

    def check(self, process: str, status: SaveStatus) -> None:
        """The top of a run's revision check: merge what was written meanwhile, and note in
        ``status`` a process gone, storage unreachable or a process this code cannot read."""
        try:
            revision = self._store.process_revision(process)
            status.unavailable = None
            self.storage_down = False
            if revision is None:
                status.gone = True
            elif revision != self._stored.revision:
                self._merge(process, status)
        except StorageUnavailableError as error:
            status.unavailable = error
            self.storage_down = True  # this run's save would only wait for the same timeout
        except (CorruptProcessError, MigrationFailedError, NewerMigrationsError) as error:
            # Read as another server left it (migrated by newer code, say): nothing more is
            # written into it from this session, and the sidebar says why.
            status.error = error
            status.gone = True

    def _merge(self, process: str, status: SaveStatus) -> None:
        snapshot = self._store.read_process(process, with_history=True)
        if snapshot is None:
            status.gone = True
            return
        stored, deliveries, misfits = self._stored, self._deliveries, self._misfits
        seen = {change.id for change in stored.history}
        incoming, stored.history = split(snapshot.state)
        arrived = [change for change in stored.history if change.id not in seen]
        status.changed_by, status.overwritten = arrived, {}
        current, synced = as_plain_dict(self._state), stored.values
        for key, remote in incoming.items():
            known = synced.get(key, MISSING)
            if same(remote, known):
                continue
            local = current.get(key, MISSING)
            if key in misfits and not misfits.is_edited(key, local):
                misfits.drop(key)  # the colleague's value may fit: the widget checks it
                local = known
            if local is MISSING or same(local, known):
                deliveries.put(key, remote, current)
            elif (merged := codec.merge_edits(known, local, remote)) is not None:
                deliveries.put(key, merged, current)  # a table both changed: both's cells
            elif by := next((c for c in arrived if key in c.before), None):
                status.overwritten[key] = by  # this run saves the edit on screen
            stored.accept(key, remote)
        status.changed_elsewhere_at = snapshot.updated_at
        for key in [key for key in synced if key not in incoming]:
            if same(current.get(key, MISSING), synced[key]):
                deliveries.remove(key)
            stored.drop(key)
        stored.revision = snapshot.revision

    def changed_since_sync(self, process: str) -> bool:
        """Whether another session wrote to ``process`` since this one last synced: one
        revision read; ``False`` when storage cannot tell (the next run shows why)."""
        try:
            return self._store.process_revision(process) != self._stored.revision
        except PersistenceError:
            return False

    def merge_tables_written_meanwhile(
        self, process: str, status: SaveStatus, changed: State, encoded: dict[str, codec.Encoded]
    ) -> None:
        """Before writing tables: when a colleague wrote one of them since this session's
        last sync, put this session's changed cells on top of theirs (``changed``, the state
        and ``encoded`` then hold the merged table). The next ``begin_run`` merges the rest."""
        try:
            if self._store.process_revision(process) == self._stored.revision:
                return
            snapshot = self._store.read_process(process)
        except PersistenceError:
            return  # the save says why
        if snapshot is None:
            return
        for key in list(encoded):
            remote = snapshot.state.get(key, MISSING)
            known = self._stored.values.get(key, MISSING)
            if remote is MISSING or known is MISSING or same(remote, known):
                continue
            merged = codec.merge_edits(known, changed[key], remote)
            if merged is None:
                continue  # not a table, or not one to merge cell by cell: the later write wins
            del encoded[key]
            encoded.update(self._limits.encode({key: merged}, status.unstorable))
            changed[key] = merged
            self._deliveries.assign(key, merged)
