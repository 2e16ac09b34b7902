"""The sync engine: keeps the prefixed keys of a session-state mapping in step with one
process in storage. It imports no Streamlit, so it runs (and is tested) on a plain dict.

Per script run:

* ``begin_run`` (top of the run, before any widget): one cheap revision check; when another
  session wrote meanwhile, merge its keys in (what this session changed since the last save
  wins, being the later write); make sure every value the engine put into the state reaches
  the browser (see below); put back keys that Streamlit dropped with an unrendered widget.
* ``end_run`` (after the page ran, also when it ended by ``st.rerun``/``st.stop``): compare
  the prefixed keys with the last saved copy by content and write only the keys that
  changed. An unchanged rerun writes nothing.

**Limits.** A key is refused, and the others of the same run are saved, when its value cannot
be encoded (``UnstorableValueError``), when its encoding is over ``max_value_bytes``
(``ValueTooLargeError``; both in ``status.unstorable`` until the value changes), or when
saving it would take the process over ``max_bytes`` (``ProcessTooLargeError`` in
``status.error``: the keys that grow the process most are held back until it fits; they are
tried again, without encoding again, on every run until there is room or they change).

**Values that no longer fit.** A saved value that today's widget cannot take (a slider whose
range was narrowed, a date saved as text ...) is withheld from it: the browser view checks it
as the widget registers and gives the widget its default, or what Streamlit makes of the value
(``BrowserView.guard``). The key is in ``status.misfit``, and what the widget got is not an
edit: the saved value stays as it is until the user changes the widget, then the edit is saved.

A key missing from the state is never a deletion (Streamlit drops the keys of widgets it did
not render); ``forget`` deletes a key on purpose.

**What the browser shows.** Streamlit sends a value put into session state to the browser only
with the run that put it there. When that run is never drawn (the user clicked before it
arrived), the browser mounts the widget at its default and later sends that default back as
if the user had typed it; when the widget was already on screen, it keeps showing, and sends
back, what it showed before. So every value the engine puts into the state is a *delivery*
that stays pending until the browser reports that value (or an edit of its own) for the
widget. Until then the engine puts the value in again at the top of every run, and a report of
what the browser showed before is never taken for an edit. A ``BrowserView`` tells the engine
what the browser reported in this run; without one (a plain dict) the engine cannot tell, and
trusts what it reads.

**Runs that overlap.** Streamlit starts a new run as soon as the user interacts, while the
superseded run is still unwinding in another thread (its ``finally`` runs later). One lock
serialises the engine's work, and ``end_run`` of a superseded run does nothing: the newer
run saves whatever it would have.
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Callable, Mapping, MutableMapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final, Protocol

from persistence import codec
from persistence.errors import (
    CorruptProcessError,
    MigrationFailedError,
    NewerMigrationsError,
    PersistenceError,
    ProcessNotFoundError,
    ProcessTooLargeError,
    StorageUnavailableError,
    UnstorableValueError,
    ValueTooLargeError,
)
from persistence.models import Revision, State
from persistence.storage import StorageInterface, utc_now

_MISSING: Any = object()

NO_WIDGET: Final[Any] = object()
"""``BrowserView.widget_default`` for a key that has no widget whose value can be set."""


UNREAD: Final[Any] = object()
"""A reported value this server cannot read yet (a tab that reconnected to a new server)."""

IsSaved = Callable[[str, Any], bool]  # whether a value is what storage holds for a key
Withhold = Callable[[str, Any], None]  # a key's saved value did not fit: what its widget got


class BrowserView(Protocol):
    """What the browser sent with the request that started this run."""

    def reported(self, prefix: str) -> Mapping[str, Any] | None:
        """The values the browser sent with this run's request for widgets whose key starts
        with ``prefix`` (``UNREAD`` where it cannot be read yet); ``None`` when unknown."""

    def widget_default(self, key: str) -> Any:
        """The default of the settable widget bound to ``key``, or ``NO_WIDGET``."""

    def guard(self, saved: IsSaved, withhold: Withhold) -> None:
        """From now on, give a widget about to take a value for which ``saved(key, value)``
        holds and that it cannot take something it can, and tell ``withhold(key, given)``."""


class NoBrowser:
    """A state that no browser draws (a plain dict): nothing is known, nothing is re-sent."""

    def reported(self, prefix: str) -> Mapping[str, Any] | None:
        return None

    def widget_default(self, key: str) -> Any:
        return NO_WIDGET

    def guard(self, saved: IsSaved, withhold: Withhold) -> None:
        return None


# Identity, or same type and content; a DataFrame's == is elementwise, so frames and series
# compare as wholes there (plain values keep the one-comparison path).
_same = codec.same_value


@dataclass
class SaveStatus:
    """What the sidebar tells the user about the active process."""

    saved_at: datetime | None = None
    changed_elsewhere_at: datetime | None = None
    unavailable: StorageUnavailableError | None = None
    error: PersistenceError | None = None
    gone: bool = False
    # Keys not saved, and why: a value that cannot be stored, or one over max_value_bytes.
    unstorable: dict[str, PersistenceError] = field(default_factory=dict)
    # Keys whose saved value today's widget cannot take: shown at a default, kept in storage.
    misfit: list[str] = field(default_factory=list)


@dataclass
class _Delivery:
    """A value the engine put into the state, and what the browser may show until it arrives."""

    value: Any
    stale: list[Any]

    def is_stale(self, shown: Any) -> bool:
        return any(_same(shown, old) for old in self.stale)


class StateSync:
    """The persisted part of one session's state, kept in step with one process."""

    def __init__(
        self,
        store: StorageInterface,
        state: MutableMapping[Any, Any],
        *,
        prefix: str,
        max_bytes: int,
        max_value_bytes: int | None = None,
        browser: BrowserView | None = None,
        refused: tuple[type[Exception], ...] = (),
    ) -> None:
        self.store = store
        self.state = state
        self.prefix = prefix
        self.max_bytes = max_bytes  # the whole process, in bytes of encoded JSON
        self.max_value_bytes = max_value_bytes  # one value; None: only the process limit
        self.process: str | None = None
        self.status = SaveStatus()
        self._browser = browser or NoBrowser()
        self._refused = refused  # what assigning a widget's key raises when it cannot be set
        self.lock = (
            threading.RLock()
        )  # held by every method; hold it to make several calls one step
        self._run = 0
        self._in_run = False  # between a full run's begin_run and its end_run
        self._unsaved_seen: State = {}  # what the watcher's last check found unsaved on screen
        # Runs overlapped since the screen was last found saved (``screen_unverified``), and
        # the values of the widgets on screen as this run began (to see a late thread's).
        self._overlapped = False
        self._on_screen_at_begin: dict[str, Any] = {}
        self._revision: Revision | None = None
        self._unsaved = False
        self._storage_down = False
        self._synced: State = {}
        self._sizes: dict[str, int] = {}
        self._rejected: dict[str, Any] = {}  # values refused for good, until they change
        self._waiting: dict[str, codec.Encoded] = {}  # held back for the process limit
        self._pending: dict[str, _Delivery] = {}
        self._misfits: dict[str, Any] = {}  # key -> what its widget got instead of the saved value

    # -- choosing the process
    def open(self, name: str) -> None:
        """Make ``name`` the active process and put its saved keys into the state.

        Raises ``ProcessNotFoundError``, ``CorruptProcessError`` or ``StorageUnavailableError``
        and then leaves the current process as it was.
        """
        with self.lock:
            snapshot = self.store.read_process(name)
            if snapshot is None:
                raise ProcessNotFoundError(name)
            # Before its first run a session has shown nothing: a browser that reports
            # widgets of this process is a tab that reconnected (a restarted server, another
            # replica), and what it shows, perhaps just edited, is what the user sees.
            on_screen = (self._browser.reported(self.prefix) or {}) if self._run == 0 else {}
            current = self._current()
            self._switch_to(name, snapshot.revision, snapshot.updated_at, snapshot.state, current)
            for key, value in snapshot.state.items():
                self._accept(key, value)
                if key not in on_screen:
                    self._put(key, value, current)

    def close(self) -> None:
        """Leave the active process (after it was deleted, say)."""
        with self.lock:
            self._switch_to(None, None, None, {}, self._current())

    def forget(self, key: str) -> None:
        """Delete ``key`` from the state and from the active process."""
        with self.lock:
            self.state.pop(key, None)
            self._pending.pop(key, None)
            self._waiting.pop(key, None)
            if self.process is not None and key in self._synced:
                self._adopt(self.store.update_process(self.process, {}, removed=[key]))
                del self._synced[key]
                self._sizes.pop(key, None)

    # The two calls a widget makes as it registers (``BrowserView.guard``). They take no
    # lock: Streamlit holds its session-state lock around them, and a superseded run's
    # ``end_run`` holds ours while it reads session state. One dict operation each is atomic.
    def is_saved(self, key: str, value: Any) -> bool:
        """Whether ``value`` is what storage holds for ``key`` in the open process."""
        saved = self._synced.get(key, _MISSING)
        return saved is not _MISSING and _same(value, saved)

    def withhold(self, key: str, given: Any) -> None:
        """``key``'s saved value does not fit its widget, which got ``given`` instead: keep
        the saved value (``given`` is no edit) and name the key in ``status.misfit`` until
        the key holds something else."""
        self._misfits[key] = copy.deepcopy(given)
        self._pending.pop(key, None)  # the widget shows ``given``, not the saved value
        if key not in self.status.misfit:
            self.status.misfit.append(key)

    def _misfit_changed(self, key: str, value: Any) -> bool:
        """Whether ``key``, withheld from its widget, now holds something other than what the
        widget was given (the user's edit): then it is no misfit any more."""
        if _same(value, self._misfits[key]):
            return False
        self._drop_misfit(key)
        return True

    def _drop_misfit(self, key: str) -> None:
        self._misfits.pop(key, None)
        if key in self.status.misfit:
            self.status.misfit.remove(key)

    # -- once per run
    def begin_run(self) -> int:
        """Bring the state up to date before the page draws; return this run's number."""
        with self.lock:
            self._run += 1
            if self._in_run:  # the previous run has not ended: it was superseded
                self._overlapped = True
            self._in_run = True
            self._browser.guard(self.is_saved, self.withhold)
            reported = self._browser.reported(self.prefix)
            self._settle_deliveries(reported)
            if self.process is not None and not self.status.gone:
                self._check_revision()
            current = self._current()
            if reported is not None:
                self._resend_off_screen(current, reported)
            self._on_screen_at_begin = {k: current[k] for k in reported or () if k in current}
            self._restore_dropped_keys(current, reported or {})
            return self._run

    def end_run(self, run: int) -> None:
        """Save what changed in run ``run``; nothing when a newer run has begun since."""
        with self.lock:
            if run != self._run:
                self._overlapped = True
                return
            self._in_run = False
            if self.process is None or self.status.gone:
                return
            current = self._current()
            if self._changed_on_screen(current):
                self._overlapped = True
            changed = self._changed_keys(current)
            encoded = self._encode(changed)
            for key in [key for key in self._waiting if key not in encoded]:
                del self._waiting[key]  # changed back, or to a value refused for itself
            self._unsaved = bool(encoded)
            if not encoded and isinstance(self.status.error, ProcessTooLargeError):
                self.status.error = None  # nothing is held back any more
            if not encoded or self._storage_down:
                return
            self._save(changed, encoded)

    def changed_elsewhere(self) -> bool:
        """Whether another session wrote to the open process since this one last synced:
        one revision read, for a watcher that reruns the page only when this is true. Inside
        a full run (whose page draws the watcher too) ``begin_run`` has just read it: no read."""
        with self.lock:
            if self.process is None or self.status.gone or self._in_run:
                return False
            try:
                return self.store.process_revision(self.process) != self._revision
            except PersistenceError:
                return False  # the next run shows why

    def is_behind(self, process: str, revision: Revision | None) -> bool:
        """Whether ``revision``, read from storage for ``process`` (``None``: it is gone),
        is news to this session: ``process`` is open, between runs, and not at that revision.
        For a watcher that reads a process's revision once for every session that has it open."""
        with self.lock:
            if self.process != process or self.status.gone or self._in_run:
                return False
            return revision != self._revision

    @property
    def in_run(self) -> bool:
        """Whether a full run is between its ``begin_run`` and its ``end_run``."""
        return self._in_run

    @property
    def screen_unverified(self) -> bool:
        """Whether runs overlapped (a superseded run's thread may have put older widget values
        into the state) since a check found every value on screen saved
        (``shows_unsaved_values``): until then the screen needs checking."""
        return self._overlapped

    def shows_unsaved_values(self) -> bool:
        """Whether the browser, in a fragment's run (the watcher's), reports a value for a
        persisted key that storage does not hold and that is no delivery on its way: an edit
        whose save a run missed. With Streamlit's fast reruns each rerun gets a thread of its
        own, and a superseded run that is late to start can still apply its older widget
        values after the newer run began, which then saves those. A full rerun saves what is
        on screen.

        Only a value found unsaved by two checks in a row counts: under load an edit's own
        run may not have begun when the watcher runs, and a rerun for that would replace
        the very run that saves it (at 30 busy tabs such reruns kept every run from
        finishing)."""
        with self.lock:
            if self.process is None or self.status.gone or self._in_run or self._unsaved:
                return False
            reported = self._browser.reported(self.prefix) or {}
            skipped = (self._pending, self._rejected, self._waiting, self._misfits)
            unsaved = {
                key: shown
                for key, shown in reported.items()
                if shown is not UNREAD
                and not any(key in keys for keys in skipped)
                and not _same(shown, self._synced.get(key, _MISSING))
            }
            seen, self._unsaved_seen = self._unsaved_seen, unsaved
            if not unsaved:
                self._overlapped = False  # every value on screen is saved
            return any(key in seen and _same(seen[key], shown) for key, shown in unsaved.items())

    def persisted_state(self) -> State:
        """The prefixed keys as they are in the state now."""
        prefix = self.prefix
        return {k: v for k, v in self.state.items() if isinstance(k, str) and k.startswith(prefix)}

    @property
    def has_unsaved_changes(self) -> bool:
        """Whether the last ``end_run`` left changes unwritten (storage down, too large ...)."""
        return self.process is not None and self._unsaved

    # -- internals: the process
    def _check_revision(self) -> None:
        assert self.process is not None
        try:
            revision = self.store.process_revision(self.process)
            self.status.unavailable = None
            self._storage_down = False
            if revision is None:
                self.status.gone = True
            elif revision != self._revision:
                self._merge_remote()
        except StorageUnavailableError as error:
            self.status.unavailable = error
            self._storage_down = True  # this run's save would only wait for the same timeout
        except (CorruptProcessError, MigrationFailedError, NewerMigrationsError) as error:
            # Read as another server left it (migrated by newer code, say): nothing more is
            # written into it from this session, and the sidebar says why.
            self.status.error = error
            self.status.gone = True

    def _save(self, changed: State, encoded: dict[str, codec.Encoded]) -> None:
        assert self.process is not None
        too_large = self._fit(encoded)
        if not encoded:
            self.status.error = too_large
            return
        try:
            # The store encodes what it writes: it gets the text encoded above, not a copy.
            with codec.reusing(encoded):
                revision = self.store.update_process(
                    self.process, {key: changed[key] for key in encoded}
                )
        except ProcessNotFoundError:
            self.status.gone = True
            return
        except StorageUnavailableError as error:
            self.status.unavailable = error
            return
        self._adopt(revision)
        for key, item in encoded.items():
            self._accept(key, changed[key], item.size)
        self._unsaved = bool(self._waiting)
        self.status.unavailable = None
        self.status.error = too_large
        self.status.saved_at = utc_now()

    def _switch_to(
        self,
        process: str | None,
        revision: Revision | None,
        saved_at: datetime | None,
        incoming: State,
        current: Mapping[Any, Any],
    ) -> None:
        self._clear_keys_missing_from(incoming, current)
        self.process = process
        self.status = SaveStatus(saved_at=saved_at)
        self._revision = revision
        self._unsaved = self._storage_down = False
        self._synced, self._sizes, self._rejected, self._waiting = {}, {}, {}, {}
        self._misfits = {}
        self._unsaved_seen = {}

    def _clear_keys_missing_from(self, incoming: State, current: Mapping[Any, Any]) -> None:
        """Remove the previous process's keys that ``incoming`` does not set. A widget on
        screen is reset to its default instead: removing its key would leave the browser
        showing, and sending back, the previous process's value."""
        for key in [k for k in current if self._is_persisted(k) and k not in incoming]:
            default = self._browser.widget_default(key)
            if default is NO_WIDGET:
                self.state.pop(key, None)
                self._pending.pop(key, None)
            else:
                self._put(key, default, current)

    def _adopt(self, revision: Revision) -> None:
        """Take the revision of our own write only when it directly follows the one we know:
        otherwise another session wrote in between, and the next ``begin_run`` merges it."""
        if self._revision is not None and revision == self._revision + 1:
            self._revision = revision

    def _merge_remote(self) -> None:
        assert self.process is not None
        snapshot = self.store.read_process(self.process)
        if snapshot is None:
            self.status.gone = True
            return
        current, synced = self._current(), self._synced
        for key, remote in snapshot.state.items():
            known = synced.get(key, _MISSING)
            if _same(remote, known):
                continue
            local = current.get(key, _MISSING)
            if key in self._misfits and not self._misfit_changed(key, local):
                self._drop_misfit(key)  # the colleague's value may fit: the widget checks it
                local = known
            if local is _MISSING or _same(local, known):
                self._put(key, remote, current)
            self._accept(key, remote)
        self.status.changed_elsewhere_at = snapshot.updated_at
        for key in [key for key in synced if key not in snapshot.state]:
            if _same(current.get(key, _MISSING), synced[key]):
                self.state.pop(key, None)
                self._pending.pop(key, None)
            del synced[key]
            self._sizes.pop(key, None)
        self._revision = snapshot.revision

    # -- internals: the state and the browser
    def _is_persisted(self, key: Any) -> bool:
        return isinstance(key, str) and key.startswith(self.prefix)

    def _current(self) -> Mapping[Any, Any]:
        """The state as one plain dict: every ``SessionStateProxy`` lookup takes a lock and
        resolves widget ids, so one ``to_dict`` beats fifty lookups on the hot path."""
        to_dict = getattr(self.state, "to_dict", None)
        return to_dict() if callable(to_dict) else self.state

    def _assign(self, key: str, value: Any) -> bool:
        """Put ``value`` into the state; ``False`` when the key's widget refuses it (buttons,
        uploaders, data editors)."""
        try:
            self.state[key] = value
        except self._refused:
            return False
        return True

    def _put(self, key: str, value: Any, current: Mapping[Any, Any]) -> None:
        """Put ``value`` into the state as a delivery the browser has yet to show."""
        shown = current.get(key, _MISSING)
        previous = self._pending.get(key)
        stale = [] if previous is None else [*previous.stale, previous.value]
        if shown is not _MISSING and not _same(shown, value):
            stale.append(shown)
        if self._assign(key, copy.deepcopy(value)):
            self._pending[key] = _Delivery(copy.deepcopy(value), stale)

    def _settle_deliveries(self, reported: Mapping[str, Any] | None) -> None:
        """Compare what the browser sent with what the engine put into the state: a delivery
        it shows (or the user edited) is done; one it still shows the old value for is put in
        again. Without a browser view, the state itself is taken for what is shown.

        A widget not reported in this run is not on screen, but the state may still hold an
        old value the browser sent for it: a fragment's run (the live-update watcher's) takes
        the browser's values without passing through ``begin_run``. The delivery replaces it,
        so a later run never sends that old value back to the browser."""
        pending = self._pending
        if not pending:
            return
        current = self._current()
        shown_values = current if reported is None else reported
        for key in list(pending):
            delivery = pending[key]
            shown = shown_values.get(key, _MISSING)
            on_screen = shown is not _MISSING and shown is not UNREAD
            if delivery.is_stale(shown if on_screen else current.get(key, _MISSING)):
                self._assign(key, copy.deepcopy(delivery.value))
            elif on_screen:
                del pending[key]  # it shows ours, or the user's own edit of it

    def _resend_off_screen(self, current: Mapping[Any, Any], reported: Mapping[str, Any]) -> None:
        """A widget the browser did not report is not on its screen. Its value, put into the
        state again now, reaches the browser with the widget whichever run draws it first."""
        pending = self._pending
        for key, value in current.items():
            if key in reported or not self._is_persisted(key):
                continue
            default = self._browser.widget_default(key)
            if default is NO_WIDGET:
                pending.pop(key, None)  # no widget yet: Streamlit sends the value when one appears
            elif not _same(value, default):
                self._assign(key, value)

    def _restore_dropped_keys(
        self, current: Mapping[Any, Any], reported: Mapping[str, Any]
    ) -> None:
        """Put back what Streamlit dropped with an unrendered widget. A key the browser
        reported is on its screen: its widget brings the browser's value back this run (a
        tab reconnected to a new server reports values this server cannot read yet)."""
        for key, value in self._synced.items():
            if key not in current and key not in reported:
                self._put(key, value, current)

    def _changed_on_screen(self, current: Mapping[Any, Any]) -> bool:
        """Whether a widget that was on screen as the run began holds another value now: a
        superseded run's thread, late to start, put its older widget values in during the run
        (so what this run saves may not be what the browser shows)."""
        return any(
            not _same(current.get(key, _MISSING), value)
            for key, value in self._on_screen_at_begin.items()
        )

    def _accept(self, key: str, value: Any, size: int | None = None) -> None:
        """Record ``value`` as what storage holds for ``key`` (``size``: its encoding's bytes)."""
        self._synced[key] = copy.deepcopy(value)
        if size is None:  # a value read from storage: no key check (it was stored already)
            size = codec.byte_size(codec.dumps(codec.to_jsonable(value)))
        self._sizes[key] = size
        self._waiting.pop(key, None)

    def _changed_keys(self, current: Mapping[Any, Any]) -> State:
        prefix, synced, pending = self.prefix, self._synced, self._pending
        rejected, waiting = self._rejected, self._waiting  # mostly empty: tested first
        misfits = self._misfits
        changed: State = {}
        for key, value in current.items():
            if not (isinstance(key, str) and key.startswith(prefix)):
                continue
            if misfits and key in misfits and not self._misfit_changed(key, value):
                continue  # what its widget got instead of the saved value: no edit
            if rejected and rejected.get(key, _MISSING) is value:
                continue  # refused as it is: tried again once it changes
            if waiting and key in waiting and waiting[key].value is value:
                changed[key] = value  # still waiting for room in the process
            elif _same(value, synced.get(key, _MISSING)):
                if rejected and key in rejected:  # changed back to what is saved
                    del rejected[key]
                    self.status.unstorable.pop(key, None)
            elif not (key in pending and pending[key].is_stale(value)):
                changed[key] = value
        return changed

    def _encode(self, changed: State) -> dict[str, codec.Encoded]:
        """The changed values that can be saved, encoded; the others are recorded as refused."""
        encoded: dict[str, codec.Encoded] = {}
        limit = self.max_value_bytes
        for key, value in changed.items():
            held = self._waiting.get(key)
            if held is not None and held.value is value:
                encoded[key] = held
                continue
            try:
                item = codec.encode_once(key, value)
            except UnstorableValueError as error:
                self._refuse(key, value, error)
                continue
            if limit is not None and item.size > limit:
                self._refuse(key, value, ValueTooLargeError(key, item.size, limit))
                continue
            self._rejected.pop(key, None)
            self.status.unstorable.pop(key, None)
            encoded[key] = item
        return encoded

    def _refuse(self, key: str, value: Any, error: PersistenceError) -> None:
        self._rejected[key] = value
        self.status.unstorable[key] = error

    def _fit(self, encoded: dict[str, codec.Encoded]) -> ProcessTooLargeError | None:
        """Hold back, from ``encoded``, the keys that would take the process over
        ``max_bytes``: those that grow it most, until the rest fits. Changes that do not
        grow the process are always saved (also in a process already over a lowered limit)."""
        sizes = {**self._sizes, **{key: item.size for key, item in encoded.items()}}
        total = sum(sizes.values())
        if total <= self.max_bytes:
            return None
        growth = sorted(
            ((item.size - self._sizes.get(key, 0), key) for key, item in encoded.items()),
            reverse=True,
        )
        held: list[str] = []
        remaining = total
        for grown, key in growth:
            if remaining <= self.max_bytes or grown <= 0:
                break
            held.append(key)
            remaining -= grown
        if not held:
            return None
        for key in held:
            self._waiting[key] = encoded.pop(key).text_only()
        biggest = sorted(sizes.items(), key=lambda item: item[1], reverse=True)[:3]
        return ProcessTooLargeError(total, self.max_bytes, biggest, held)
