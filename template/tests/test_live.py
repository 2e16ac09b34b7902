"""The server's live-update watcher: one revision read per open process and round, and a
full run only for the sessions behind it (``persistence.live``; the browser side is in
tests/e2e/test_replicas.py)."""

from __future__ import annotations

import time
from collections import Counter

import pytest

from persistence.binding import PersistentSession, ProcessCatalog
from persistence.live import LiveUpdates
from persistence.models import Revision
from persistence.storage import StorageInterface
from persistence.storage.delegating import DelegatingStorage
from persistence.sync import StateSync

pytestmark = pytest.mark.persistence


class CountingStorage(DelegatingStorage):
    def __init__(self, inner: StorageInterface) -> None:
        super().__init__(inner)
        self.revision_reads: Counter[str] = Counter()

    def process_revision(self, name: str) -> Revision | None:
        self.revision_reads[name] += 1
        return super().process_revision(name)


class ServerSessions:
    """The sessions a server holds: which are still there, which were woken."""

    def __init__(self) -> None:
        self.open: set[str] = set()
        self.woken: list[str] = []

    def alive(self, session_id: str) -> bool:
        return session_id in self.open

    def wake(self, session_id: str) -> None:
        self.woken.append(session_id)


def tab(store: StorageInterface, catalog: ProcessCatalog, process: str) -> PersistentSession:
    sync = StateSync(store, {}, prefix="persist_", max_bytes=1 << 20)
    session = PersistentSession(store, sync, catalog)
    session.sync.open(process)
    session.sync.end_run(session.sync.begin_run())
    return session


@pytest.fixture
def counting(store: StorageInterface) -> CountingStorage:
    for name in ("p", "q"):
        store.create_process(name)
    return CountingStorage(store)


def test_one_read_per_open_process_wakes_only_the_sessions_behind(
    counting: CountingStorage, store: StorageInterface
) -> None:
    catalog = ProcessCatalog(counting)
    sessions = ServerSessions()
    watcher = LiveUpdates(2.0, sessions)
    tabs = {"a": tab(counting, catalog, "p"), "b": tab(counting, catalog, "p")}
    tabs["c"] = tab(counting, catalog, "q")
    for session_id, session in tabs.items():
        sessions.open.add(session_id)
        watcher.watch(session_id, session)
    watcher.stop()  # its thread ends; check() is called here instead
    counting.revision_reads.clear()

    assert watcher.check() == []  # nobody else saved: an idle round wakes no session
    assert counting.revision_reads == {"p": 1, "q": 1}

    store.update_process("p", {"persist_owner": "a colleague"})
    assert sorted(watcher.check()) == ["a", "b"]
    tabs["a"].sync.end_run(tabs["a"].sync.begin_run())  # the runs the wake starts
    tabs["b"].sync.end_run(tabs["b"].sync.begin_run())
    assert tabs["a"].sync.state["persist_owner"] == "a colleague"
    assert watcher.check() == []

    store.update_process("q", {"persist_owner": "a colleague"})
    tabs["c"].ran_at = time.monotonic()  # a tab in use: its own next run merges it
    assert watcher.check() == []

    sessions.open.discard("c")  # the tab was closed
    counting.revision_reads.clear()
    watcher.check()
    assert counting.revision_reads == {"p": 1}


def test_a_session_whose_runs_overlapped_is_woken_to_draw_the_screen_check(
    counting: CountingStorage,
) -> None:
    sessions = ServerSessions()
    watcher = LiveUpdates(2.0, sessions)
    session = tab(counting, ProcessCatalog(counting), "p")
    sessions.open.add("a")
    watcher.watch("a", session)
    watcher.stop()
    superseded = session.sync.begin_run()
    session.sync.end_run(session.sync.begin_run())
    session.sync.end_run(superseded)  # noticed after the page drew: no check on screen
    assert watcher.check() == ["a"]
    session.screen_check_drawn = True  # the full run it started drew the check
    assert watcher.check() == []
