"""The sync engine: keeps the prefixed keys of a session-state mapping in step with one
process in storage. It imports no Streamlit, so it runs (and is tested) on a plain dict.

Per script run:

* ``begin_run`` (top of the run, before any widget): one cheap revision check; when another
  session wrote meanwhile, merge its keys in (what this session changed since the last save
  wins, being the later write); make sure every value the engine put into the state reaches
  the browser (see below); put back keys that Streamlit dropped with an unrendered widget.
* ``end_run`` (after the page ran, also when it ended by ``st.rerun``/``st.stop``): compare
  the prefixed keys with the last saved copy (``persistence.stored``) by content and write only
  the keys that changed (``persistence.saving``). An unchanged rerun writes nothing.

**Colleagues' changes** (``persistence.incoming``): merged in at the top of a run; a table
(a ``DataFrame``) is merged cell by cell, also just before this session writes one.

**Limits** (``persistence.limits``). A key whose value cannot be stored, or is over a
size limit, is refused and the other keys of the same run are saved.

**Values that no longer fit** (``persistence.misfits``). A saved value that today's widget
cannot take is withheld from it; what the widget got instead is no edit.

A key missing from the state is never a deletion: Streamlit drops the keys of widgets it did
not render, and ``begin_run`` puts them back. ``forget`` deletes a key on purpose.

**What the browser shows** (``persistence.deliveries``). Every value the engine puts into the
state is a delivery that stays pending until the browser reports that value (or an edit of
its own); until then it is put in again at the top of every run.

**Runs that overlap** (``persistence.screen``). Streamlit starts a new run as soon as the user
interacts, while the superseded run is still unwinding in another thread (its ``finally`` runs
later). One lock serialises the engine's work, and ``end_run`` of a superseded run does
nothing: the newer run saves whatever it would have. After runs overlapped, a check of the
screen finds the values whose save a superseded run's thread made the newer run miss.
"""

from __future__ import annotations

import threading
from collections.abc import MutableMapping
from datetime import datetime
from typing import Any

from persistence.deliveries import BrowserView, Deliveries, NoBrowser, as_plain_dict
from persistence.errors import ProcessNotFoundError
from persistence.history import Change, HistoryLimits, split
from persistence.incoming import IncomingChanges
from persistence.limits import SizeLimits
from persistence.misfits import Misfits
from persistence.models import Revision, State
from persistence.saving import Saver
from persistence.screen import ScreenCheck
from persistence.status import SaveStatus
from persistence.storage import StorageInterface
from persistence.stored import StoredCopy


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
        history: HistoryLimits | None = None,
        author: str = "",
    ) -> None:
        self.store, self.state, self.prefix = store, state, prefix
        self.process: str | None = None
        self.status = SaveStatus()
        # Held by every method; hold it to make several calls one step.
        self.lock = threading.RLock()
        self._browser = browser or NoBrowser()
        self._deliveries = Deliveries(state, self._browser, prefix=prefix, refused=refused)
        self._limits = SizeLimits(max_bytes=max_bytes, max_value_bytes=max_value_bytes)
        self._stored = StoredCopy(self._limits)
        self._misfits = Misfits(self.status.misfit)
        parts = (self._stored, self._deliveries, self._limits, self._misfits)
        self._incoming = IncomingChanges(store, state, *parts)
        self._screen = ScreenCheck(*parts)
        self._saver = Saver(store, *parts, self._incoming, history=history, author=author)

    # -- choosing the process
    def open(self, name: str) -> None:
        """Make ``name`` the active process and put its saved keys into the state. On
        ``ProcessNotFoundError``, ``CorruptProcessError`` or ``StorageUnavailableError`` the
        current process stays as it was."""
        with self.lock:
            snapshot = self.store.read_process(name, with_history=True)
            if snapshot is None:
                raise ProcessNotFoundError(name)
            incoming, entries = split(snapshot.state)
            # Before its first run a session has shown nothing: a browser that reports
            # widgets of this process is a tab that reconnected (a restarted server, another
            # replica), and what it shows, perhaps just edited, is what the user sees.
            first = not self._screen.runs
            on_screen = (self._browser.reported(self.prefix) or {}) if first else {}
            # A table edit that no run saved yet (the run that applied it was superseded by
            # the one whose callback switches) goes to the process it was made in. Only
            # tables: a widget's value may be a default the browser sent for a delivery it
            # never drew, which only ``begin_run`` can tell.
            self._save_changes(tables_only=True)
            self._switch_to(name, snapshot.revision, snapshot.updated_at)
            self._incoming.load(incoming, entries, on_screen)

    def close(self) -> None:
        """Leave the active process (after it was deleted, say)."""
        with self.lock:
            self._switch_to(None, None, None)
            self._incoming.load({}, [], {})

    def forget(self, key: str) -> None:
        """Delete ``key`` from the state and from the active process."""
        with self.lock:
            self._saver.forget(self.process, key)

    def remember(self, change: Change) -> None:
        """``change`` was written by this session outside a save (an undo, a restore): the
        next merge brings its values, not a colleague's change."""
        with self.lock:
            self._stored.history = [change, *self._stored.history]

    # The two calls a widget makes as it registers (``BrowserView.guard``). They take no
    # lock: Streamlit holds its session-state lock around them, and a superseded run's
    # ``end_run`` holds ours while it reads session state. One dict operation each is atomic.
    def is_saved(self, key: str, value: Any) -> bool:
        """Whether ``value`` is what storage holds for ``key`` in the open process."""
        return self._stored.holds(key, value)

    def withhold(self, key: str, given: Any) -> None:
        """``key``'s saved value does not fit its widget, which got ``given`` instead: keep
        the saved value (``given`` is no edit) and name the key in ``status.misfit`` until
        the key holds something else."""
        self._misfits.withhold(key, given)
        self._deliveries.discard(key)  # the widget shows ``given``, not the saved value

    # -- once per run
    def begin_run(self) -> int:
        """Bring the state up to date before the page draws; return this run's number."""
        with self.lock:
            run = self._screen.begin()
            self._browser.guard(self.is_saved, self.withhold)
            reported = self._browser.reported(self.prefix)
            self._deliveries.settle(reported)
            if self.process is not None and not self.status.gone:
                self._incoming.check(self.process, self.status)
            current = as_plain_dict(self.state)
            if reported is not None:
                self._deliveries.resend_off_screen(current, reported)
            self._screen.note_on_screen(current, reported or {})
            self._deliveries.restore_dropped(self._stored.values, current, reported or {})
            return run

    def end_run(self, run: int) -> None:
        """Save what changed in run ``run``; nothing when a newer run has begun since."""
        with self.lock:
            if self._screen.end(run):  # a superseded run's end saves nothing: the newer run does
                self._save_changes(check_screen=True)

    def _save_changes(self, tables_only: bool = False, check_screen: bool = False) -> None:
        """Write the keys that changed since the last save; with ``tables_only``, only the
        tables. ``check_screen``: note a run whose widgets changed while it ran."""
        if self.process is None or self.status.gone:
            return
        current = as_plain_dict(self.state)
        if check_screen:
            self._screen.note_changed_on_screen(current)
        self._saver.save(self.process, self.status, current, tables_only)

    # -- between runs: the live-update watcher and the screen check
    def changed_elsewhere(self) -> bool:
        """Whether another session wrote to the open process since this one last synced:
        one revision read, for a watcher that reruns the page only when this is true. Inside
        a full run (whose page draws the watcher too) ``begin_run`` has just read it: no read."""
        with self.lock:
            if self.process is None or self.status.gone or self.in_run:
                return False
            return self._incoming.changed_since_sync(self.process)

    def is_behind(self, process: str, revision: Revision | None) -> bool:
        """Whether ``revision``, read from storage for ``process`` (``None``: it is gone),
        is news to this session: ``process`` is open, between runs, and not at that revision.
        For a watcher that reads a process's revision once for every session that has it open."""
        with self.lock:
            if self.process != process or self.status.gone or self.in_run:
                return False
            return revision != self._stored.revision

    @property
    def in_run(self) -> bool:
        """Whether a full run is between its ``begin_run`` and its ``end_run``."""
        return self._screen.in_run

    @property
    def screen_unverified(self) -> bool:
        """Whether runs overlapped since a check last found every value on screen saved
        (``persistence.screen``): until then the screen needs checking."""
        return self._screen.unverified

    def shows_unsaved_values(self) -> bool:
        """Whether the browser, in a fragment's run (the screen check's), shows a value for a
        persisted key that no save stored, twice in a row: an edit whose save a run missed
        (``persistence.screen``). A full rerun saves what is on screen."""
        with self.lock:
            if self.process is None or self.status.gone or self.in_run or self._saver.unsaved:
                return False
            return self._screen.shows_unsaved(self._browser.reported(self.prefix) or {})

    # -- what the UI reads
    def persisted_state(self) -> State:
        """The prefixed keys as they are in the state now."""
        prefix = self.prefix
        return {k: v for k, v in self.state.items() if isinstance(k, str) and k.startswith(prefix)}

    @property
    def max_bytes(self) -> int:
        """The whole process's limit, in bytes of encoded JSON (settings can lower it)."""
        return self._limits.max_bytes

    @max_bytes.setter
    def max_bytes(self, limit: int) -> None:
        self._limits.max_bytes = limit

    @property
    def author(self) -> str:
        """Whom this session's change entries name."""
        return self._saver.author

    @property
    def history(self) -> list[Change]:
        """The open process's change entries (``persistence.history``), newest first."""
        return self._stored.history

    @property
    def has_unsaved_changes(self) -> bool:
        """Whether the last ``end_run`` left changes unwritten (storage down, too large ...)."""
        return self.process is not None and self._saver.unsaved

    def _switch_to(
        self, process: str | None, revision: Revision | None, saved_at: datetime | None
    ) -> None:
        """Make ``process`` (or none) the open one, at ``revision``: nothing of it is known yet."""
        self.process = process
        self.status = SaveStatus(saved_at=saved_at)
        self._stored.reset(revision)
        self._saver.unsaved = self._incoming.storage_down = False
        self._limits.reset()
        self._misfits.reset(self.status.misfit)
        self._screen.reset()
