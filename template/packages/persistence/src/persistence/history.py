"""Who changed what in a process, and how to take it back.

Every save also writes a change entry into the process it changes, in the same update (one
transaction, Lua script or locked file write), so after a crash at any moment the history
and the state agree. An entry is a reserved key (``HISTORY_KEY_PREFIX`` and an id that
sorts by time) whose value is the entry as JSON text: when, by whom, what kind of change
(a save, an undo, a restore) and, for each key it changed, the value the key held before
(or that it held none). Only the keys a change touched are in its entry, so a big table
that did not change is not copied into it. The value is text so that an entry that cannot
be read drops out of the listing instead of making its process unreadable.

Entries are kept for the retention window, at most ``HistoryLimits.entries`` of them and
``HistoryLimits.bytes`` of their text per process: each write removes, in the same update,
the oldest entries over those bounds. Reads leave the entries out unless asked
(``read_process(name, with_history=True)``): apps, ``load_process`` and exports see the
state alone.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from persistence import codec
from persistence.errors import ProcessNotFoundError, RevisionConflictError
from persistence.models import ProcessSnapshot, State

if TYPE_CHECKING:  # the storage package reads through this module: no import at run time
    from persistence.storage.contract import StorageInterface

HISTORY_KEY_PREFIX = "_persistence_history:"
KINDS = ("save", "undo", "restore")
# A write that reads, then writes conditionally on the revision it read, tries this often
# when other sessions keep writing in between.
ATTEMPTS = 5


class _Absent:
    """The value of a key that did not exist: undoing its change removes it."""

    def __repr__(self) -> str:
        return "ABSENT"


ABSENT: Any = _Absent()


@dataclass(frozen=True, slots=True)
class HistoryLimits:
    entries: int
    bytes: int
    retention: timedelta


@dataclass(frozen=True, slots=True)
class Change:
    """One entry: ``before`` maps each key the change wrote or removed to its value before
    (``ABSENT``: there was none)."""

    id: str
    at: datetime
    by: str
    kind: str
    before: Mapping[str, Any]
    size: int

    @property
    def keys(self) -> list[str]:
        return sorted(self.before)


def is_history_key(key: object) -> bool:
    return isinstance(key, str) and key.startswith(HISTORY_KEY_PREFIX)


def split(state: Mapping[str, Any]) -> tuple[State, list[Change]]:
    """A stored state as the app's keys and the change entries, newest first."""
    own: State = {}
    entries: dict[str, Any] = {}
    for key, value in state.items():
        if is_history_key(key):
            entries[key] = value
        else:
            own[key] = value
    return own, parse(entries)


def without_history(snapshot: ProcessSnapshot) -> ProcessSnapshot:
    if not any(is_history_key(key) for key in snapshot.state):
        return snapshot
    state = {key: value for key, value in snapshot.state.items() if not is_history_key(key)}
    return ProcessSnapshot(snapshot.name, state, snapshot.revision, snapshot.updated_at)


def parse(entries: Mapping[str, Any]) -> list[Change]:
    """The entries that can be read, newest first; the others are left out."""
    changes = [change for key, text in entries.items() if (change := _parse(key, text))]
    return sorted(changes, key=lambda change: change.id, reverse=True)


def _parse(key: str, text: Any) -> Change | None:
    try:
        document = json.loads(text)
        before = {
            name: codec.from_jsonable(held[0]) if held else ABSENT
            for name, held in document["before"].items()
        }
        at = datetime.fromisoformat(document["at"])
        change = Change(
            id=key[len(HISTORY_KEY_PREFIX) :],
            at=at if at.tzinfo else at.replace(tzinfo=UTC),
            by=str(document["by"]),
            kind=str(document["kind"]),
            before=before,
            size=codec.byte_size(text),
        )
    except (ValueError, TypeError, KeyError, IndexError, AttributeError, RecursionError):
        return None
    return change if change.kind in KINDS else None


def new_entry(
    before: Mapping[str, Any], *, at: datetime, by: str, kind: str = "save"
) -> tuple[str, str, Change]:
    """``(key, text, change)`` of a new entry. ``UnstorableValueError`` cannot happen here:
    every value in ``before`` was stored already."""
    change_id = f"{int(at.timestamp() * 1_000_000):017d}-{secrets.token_hex(4)}"
    document = {
        "at": at.astimezone(UTC).isoformat(),
        "by": by,
        "kind": kind,
        "before": {
            key: [] if value is ABSENT else [codec.to_jsonable(value)]
            for key, value in before.items()
        },
    }
    text = json.dumps(document, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    change = Change(change_id, at, by, kind, dict(before), codec.byte_size(text))
    return HISTORY_KEY_PREFIX + change_id, text, change


def expired(changes: list[Change], new: Change, limits: HistoryLimits) -> list[Change]:
    """The entries (of ``changes``, newest first) that ``new`` pushes past the bounds."""
    cutoff = new.at - limits.retention
    kept, total, dropped = 1, new.size, []
    for change in changes:
        total += change.size
        kept += 1
        if kept > limits.entries or total > limits.bytes or change.at < cutoff:
            dropped.append(change)
    return dropped


def recorded(
    changed: Mapping[str, Any],
    removed: Collection[str],
    before: Mapping[str, Any],
    history: list[Change],
    limits: HistoryLimits,
    *,
    at: datetime,
    by: str,
    kind: str = "save",
) -> tuple[dict[str, Any], list[str], Change]:
    """A write of ``changed`` and ``removed`` with its entry: the keys to write (the entry
    among them), the keys to delete (the entries it pushes out among them) and the entry.
    ``before``: what each written or removed key held (``ABSENT``: nothing)."""
    touched = {key: before.get(key, ABSENT) for key in [*changed, *removed]}
    key, text, change = new_entry(touched, at=at, by=by, kind=kind)
    dropped = [HISTORY_KEY_PREFIX + old.id for old in expired(history, change, limits)]
    return {**changed, key: text}, [*removed, *dropped], change


def state_after(history: list[Change], change_id: str, state: Mapping[str, Any]) -> State:
    """The keys that differ between ``state`` (now) and how the process was right after
    change ``change_id``, with their value then (``ABSENT``: none): every later change
    undone, newest first. ``KeyError`` when there is no such change."""
    if all(change.id != change_id for change in history):
        raise KeyError(change_id)
    target: State = {}
    for change in history:  # newest first: an older entry's value is the earlier one
        if change.id == change_id:
            break
        target.update(change.before)
    return _differences(target, state)


def state_before(history: list[Change], change_id: str, state: Mapping[str, Any]) -> State:
    """The keys change ``change_id`` wrote that now differ from what they held before it,
    with that value (``ABSENT``: none). ``KeyError`` when there is no such change."""
    for change in history:
        if change.id == change_id:
            return _differences(dict(change.before), state)
    raise KeyError(change_id)


def _differences(target: Mapping[str, Any], state: Mapping[str, Any]) -> State:
    return {
        key: value
        for key, value in target.items()
        if not codec.same_value(state.get(key, ABSENT), value)
    }


_Target = Callable[[list[Change], str, Mapping[str, Any]], State]


class HistoryStore:
    """The history operations of one store: list, undo, restore. Each undo or restore reads
    the process and writes conditionally on the revision it read (another session's save in
    between: read and work it out again), and is a change of its own, so it can be undone."""

    def __init__(self, store: StorageInterface, limits: HistoryLimits) -> None:
        self.store = store
        self.limits = limits

    def changes(self, name: str) -> list[Change]:
        snapshot = self.store.read_process(name, with_history=True)
        return [] if snapshot is None else split(snapshot.state)[1]

    def undo(self, name: str, change_id: str, *, by: str, at: datetime) -> Change | None:
        """Put the keys change ``change_id`` wrote back to what they held before it; the
        new change, or ``None`` when they hold that already."""
        return self._revert(name, change_id, state_before, by=by, at=at, kind="undo")

    def restore(self, name: str, change_id: str, *, by: str, at: datetime) -> Change | None:
        """Make the process as it was right after change ``change_id``."""
        return self._revert(name, change_id, state_after, by=by, at=at, kind="restore")

    def _revert(
        self, name: str, change_id: str, target: _Target, *, by: str, at: datetime, kind: str
    ) -> Change | None:
        revision = 0
        for _ in range(ATTEMPTS):
            snapshot = self.store.read_process(name, with_history=True)
            if snapshot is None:
                raise ProcessNotFoundError(name)
            revision = snapshot.revision
            state, history = split(snapshot.state)
            values = target(history, change_id, state)
            if not values:
                return None
            changed = {key: value for key, value in values.items() if value is not ABSENT}
            removed = [key for key, value in values.items() if value is ABSENT]
            written, deleted, change = recorded(
                changed, removed, state, history, self.limits, at=at, by=by, kind=kind
            )
            try:
                self.store.update_process(
                    name, written, deleted, expected_revision=snapshot.revision
                )
            except RevisionConflictError:
                continue
            return change
        raise RevisionConflictError(name, revision)
