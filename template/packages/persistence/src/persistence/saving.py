"""The save: which persisted keys changed since the last save, and writing them.

At the end of a run (``StateSync.end_run``) the prefixed keys are compared with the stored copy
(``persistence.stored``) by content, and only the keys that changed are written, with one
``update_process`` (per key: other keys in storage are not touched). An unchanged rerun writes
nothing. Not a change: a value its widget got instead of a saved value that did not fit
(``persistence.misfits``), a value refused as it is (``persistence.limits``), and what the
browser showed before a delivery arrived (``persistence.deliveries``). Each save records a
change entry (``persistence.history``) when the app keeps any.

A save that holds a table first merges a colleague's write to it (``persistence.incoming``);
that check and the write hold a lock per process shared by every session of the server, so two
sessions of one server never both write a table the other has not seen.

This module imports neither Streamlit nor the engine (``persistence.sync``), which uses it.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Mapping
from typing import Any

from persistence import codec
from persistence.deliveries import MISSING, Deliveries, same
from persistence.errors import ProcessNotFoundError, ProcessTooLargeError, StorageUnavailableError
from persistence.history import HISTORY_KEY_PREFIX, HistoryLimits, recorded
from persistence.incoming import IncomingChanges
from persistence.limits import SizeLimits
from persistence.misfits import Misfits
from persistence.models import State
from persistence.status import SaveStatus
from persistence.storage import StorageInterface, utc_now
from persistence.stored import StoredCopy

_WRITE_LOCKS: weakref.WeakValueDictionary[str, threading.Lock] = weakref.WeakValueDictionary()
_WRITE_LOCKS_GUARD = threading.Lock()


def _write_lock(process: str) -> threading.Lock:
    """The lock that every session of this server holds to check and write ``process``."""
    with _WRITE_LOCKS_GUARD:
        lock = _WRITE_LOCKS.get(process)
        if lock is None:
            lock = _WRITE_LOCKS[process] = threading.Lock()
        return lock


class Saver:
    """Writes one session's changed keys into the open process."""

    def __init__(
        self,
        store: StorageInterface,
        stored: StoredCopy,
        deliveries: Deliveries,
        limits: SizeLimits,
        misfits: Misfits,
        incoming: IncomingChanges,
        *,
        history: HistoryLimits | None,
        author: str,
    ) -> None:
        self._store = store
        self._stored = stored
        self._deliveries = deliveries
        self._limits = limits
        self._misfits = misfits
        self._incoming = incoming
        self._prefix = deliveries.prefix
        # Each save's change entry (``persistence.history``): its bounds, and whom it names.
        self._history = history
        self.author = author
        self.unsaved = False  # the last save left changes unwritten

    def save(
        self, process: str, status: SaveStatus, current: Mapping[Any, Any], tables_only: bool
    ) -> None:
        """Write the keys of ``current`` that changed since the last save (with
        ``tables_only``, only the tables)."""
        changed = self._changed_keys(current, status)
        if tables_only:
            changed = {key: value for key, value in changed.items() if codec.mergeable(value)}
        encoded = self._limits.encode(changed, status.unstorable)
        self.unsaved = bool(encoded)
        if not encoded and isinstance(status.error, ProcessTooLargeError):
            status.error = None  # nothing is held back any more
        if not encoded or self._incoming.storage_down:
            return
        if not any(codec.mergeable(value) for value in changed.values()):
            self._write(process, status, changed, encoded)
            return
        with _write_lock(process):
            self._incoming.merge_tables_written_meanwhile(process, status, changed, encoded)
            self._write(process, status, changed, encoded)

    def forget(self, process: str | None, key: str) -> None:
        """Delete ``key`` from the state and, with a process open, from storage."""
        self._deliveries.remove(key)
        self._limits.forget(key)
        if process is not None and key in self._stored.values:
            self._stored.adopt(self._store.update_process(process, {}, removed=[key]))
            del self._stored.values[key]

    def _write(
        self, process: str, status: SaveStatus, changed: State, encoded: dict[str, codec.Encoded]
    ) -> None:
        too_large = self._limits.fit(encoded)
        if not encoded:
            status.error = too_large
            return
        values: dict[str, Any] = {key: changed[key] for key in encoded}
        removed: list[str] = []
        change = None
        limits, stored = self._history, self._stored
        if limits is not None and limits.entries > 0:
            values, removed, change = recorded(
                values, (), stored.values, stored.history, limits, at=utc_now(), by=self.author
            )
        try:
            # The store encodes what it writes: it gets the encodings made above, not a copy.
            revision = self._store.update_process(process, values, removed, encodings=encoded)
        except ProcessNotFoundError:
            status.gone = True
            return
        except StorageUnavailableError as error:
            status.unavailable = error
            return
        stored.adopt(revision)
        if change is not None:
            dropped = {key.removeprefix(HISTORY_KEY_PREFIX) for key in removed}
            stored.history = [change, *(old for old in stored.history if old.id not in dropped)]
        for key, item in encoded.items():
            stored.accept(key, changed[key], item.size)
        self.unsaved = self._limits.holds_back
        status.unavailable = None
        status.error = too_large
        status.saved_at = utc_now()

    def _changed_keys(self, current: Mapping[Any, Any], status: SaveStatus) -> State:
        prefix, synced, deliveries = self._prefix, self._stored.values, self._deliveries
        # Mostly empty: tested first.
        rejected, waiting = self._limits.rejected, self._limits.waiting
        misfits = self._misfits if self._misfits else None  # mostly none: tested once
        changed: State = {}
        for key, value in current.items():
            if not (isinstance(key, str) and key.startswith(prefix)):
                continue
            if misfits is not None and key in misfits and not misfits.is_edited(key, value):
                continue  # what its widget got instead of the saved value: no edit
            if rejected and rejected.get(key, MISSING) is value:
                continue  # refused as it is: tried again once it changes
            if waiting and key in waiting and waiting[key].value is value:
                changed[key] = value  # still waiting for room in the process
            elif same(value, synced.get(key, MISSING)):
                if rejected and key in rejected:  # changed back to what is saved
                    self._limits.withdraw_refusal(key, status.unstorable)
            elif not deliveries.is_stale(key, value):
                changed[key] = value
        return changed
