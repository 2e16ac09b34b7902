"""Live updates: one watcher per server process, not a timer per open tab.

Every ``live_update_seconds`` one thread reads the revision of each process that some
session of this server has open, once per process however many tabs show it, and starts a
full run only in the sessions behind it (the run merges the colleague's keys, as any run
does). An idle tab costs the server its share of that one read and nothing else. A timer per
tab instead (a fragment run by every open tab each interval) costs Streamlit's full
``gc.collect()`` (``runner.postScriptGC``) per fragment run on top of the read: at 30 busy and
30 idle tabs on two cores no run finished at all (``make load``, docs/scaling.md).

Checking that what the browser shows is saved needs the browser's own report of its widgets,
which only a fragment's timer makes the browser send unasked. That check is needed only after
runs overlapped (``StateSync.screen_unverified``): the sidebar draws it then, and this watcher
starts a full run that draws it when the overlap was noticed after the page had drawn
(``PersistentSession.needs_screen_check``).

Streamlit has no public API to start a run of a session from outside it. Only this module
uses its internals for that (checked on the versions ``pyproject.toml`` allows): the
runtime's session manager finds the session, and on the session's event loop the run is
requested as ``st.rerun()`` requests one (the page and query string the session last ran
with; no widget states, so the session keeps the values it has). Where those internals are
missing (or under AppTest, whose session the runtime's session manager does not hold),
``watch`` answers ``False`` and the sidebar falls back to a fragment per tab.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import TYPE_CHECKING, Any, Protocol

import streamlit as st
from streamlit import runtime
from streamlit.runtime.app_session import AppSession, AppSessionState
from streamlit.runtime.scriptrunner import get_script_run_ctx
from streamlit.runtime.scriptrunner_utils.script_requests import RerunData

from persistence.errors import PersistenceError

if TYPE_CHECKING:
    from persistence.binding import PersistentSession
    from persistence.models import Revision

_LOGGER = logging.getLogger(__name__)
_UNREADABLE: Any = object()


class Sessions(Protocol):
    """The server's sessions, as the watcher needs them."""

    def alive(self, session_id: str) -> bool:
        """Whether the session still exists (its tab may reconnect to it)."""

    def wake(self, session_id: str) -> None:
        """Start a full run of the session (queued after its run when one is going)."""


class LiveUpdates:
    """The watcher of one server process: ``watch`` each session as it runs; ``check``
    every ``interval`` seconds, in a thread of its own started by the first ``watch``."""

    def __init__(self, interval: float, sessions: Sessions) -> None:
        self.interval = interval
        self._sessions = sessions
        self._watched: dict[str, PersistentSession] = {}
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._stopped = threading.Event()

    def watch(self, session_id: str, session: PersistentSession) -> None:
        with self._lock:
            self._watched[session_id] = session
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._loop, name="persistence-live-updates", daemon=True
                )
                self._thread.start()

    def stop(self) -> None:
        self._stopped.set()

    def check(self) -> list[str]:
        """One round: each watched process's revision read once; wake the sessions that are
        behind it or need their screen checked, unless their last run began less than half
        an interval ago (a colleague's save shows within 1.5 intervals in a tab in use, within
        one in an idle tab); forget closed sessions. Returns the woken."""
        with self._lock:
            watched = list(self._watched.items())
        revisions: dict[tuple[int, str], Revision | None] = {}
        woken: list[str] = []
        recent = time.monotonic() - self.interval / 2
        for session_id, session in watched:
            if not self._sessions.alive(session_id):
                with self._lock:
                    if self._watched.get(session_id) is session:
                        del self._watched[session_id]
            elif session.ran_at > recent:
                # A tab in use: its own runs merge what colleagues saved. A browser likewise
                # restarts a fragment's timer with every full run.
                continue
            elif session.needs_screen_check() or _behind(session, revisions):
                self._sessions.wake(session_id)
                woken.append(session_id)
        return woken

    def _loop(self) -> None:
        while not self._stopped.wait(self.interval):
            try:
                self.check()
            except Exception:  # the thread outlives any one round's surprise
                _LOGGER.exception("live-update check failed")


def _behind(session: PersistentSession, revisions: dict[tuple[int, str], Revision | None]) -> bool:
    """Whether another session saved to ``session``'s open process; ``revisions`` holds what
    this round read, per process list (one per owner) and name."""
    sync = session.sync
    process = sync.process
    if process is None:
        return False
    key = (id(session.catalog), process)
    if key not in revisions:
        try:
            revisions[key] = sync.store.process_revision(process)
        except PersistenceError:
            revisions[key] = _UNREADABLE  # the session's next run shows why
    revision = revisions[key]
    return revision is not _UNREADABLE and sync.is_behind(process, revision)


class StreamlitSessions:
    """``Sessions`` over the Streamlit runtime this server runs."""

    def _manager(self) -> Any:
        return getattr(runtime.get_instance(), "_session_mgr", None) if runtime.exists() else None

    def alive(self, session_id: str) -> bool:
        manager = self._manager()
        return manager is not None and manager.get_session_info(session_id) is not None

    def wake(self, session_id: str) -> None:
        manager = self._manager()
        # A tab that lost its connection is not run for: it reruns when it reconnects.
        info = None if manager is None else manager.get_active_session_info(session_id)
        if info is not None:
            session: AppSession = info.session
            session._call_soon_on_event_loop(lambda: _rerun(session))


def _rerun(session: AppSession) -> None:
    """On the session's event loop: ask for a full run as ``st.rerun()`` does."""
    if session._state == AppSessionState.SHUTDOWN_REQUESTED:
        return
    last = session._client_state
    request = RerunData(
        query_string=last.query_string,
        page_script_hash=last.page_script_hash,
        context_info=last.context_info if last.HasField("context_info") else None,
    )
    runner = session._scriptrunner
    if runner is not None and runner.request_rerun(request):
        return  # the runner takes it at its next check, folded with any other request
    session._create_scriptrunner(request)


_INTERNALS = all(
    hasattr(AppSession, name)
    for name in ("_call_soon_on_event_loop", "_create_scriptrunner", "request_rerun")
)


@st.cache_resource(show_spinner=False)
def _server_watcher(interval: float) -> LiveUpdates:
    return LiveUpdates(interval, StreamlitSessions())


def watch(session: PersistentSession, interval: float) -> bool:
    """Have this server's watcher bring ``session`` a colleague's changes every
    ``interval`` s; ``False`` where it cannot (no runtime, other Streamlit internals)."""
    context = get_script_run_ctx()
    sessions = StreamlitSessions()
    # AppTest runs a runtime whose session manager does not hold its session.
    if context is None or not _INTERNALS or not sessions.alive(context.session_id):
        return False
    _server_watcher(float(interval)).watch(context.session_id, session)
    return True
