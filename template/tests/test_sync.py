"""The sync engine on a plain dict: what it saves, restores, merges and refuses."""

from __future__ import annotations

import threading
from collections import Counter
from datetime import date
from typing import Any

import pandas as pd
import pytest
from streamlit.errors import StreamlitAPIException

from persistence import codec
from persistence.deliveries import NO_WIDGET, UNREAD
from persistence.errors import ProcessNotFoundError
from persistence.storage import StorageInterface
from persistence.sync import StateSync
from tests.conftest import FakeClock, StoreFactory

pytestmark = pytest.mark.persistence

PREFIX = "persist_"


def session_on(store: StorageInterface, state: dict[str, Any] | None = None) -> StateSync:
    return StateSync(store, {} if state is None else state, prefix=PREFIX, max_bytes=1 << 20)


def rerun(session: StateSync, **changes: Any) -> None:
    """One script run after the user changed ``changes`` in the browser."""
    session.state.update(changes)
    session.end_run(session.begin_run())


@pytest.fixture
def opened(store: StorageInterface) -> StateSync:
    store.create_process("p")
    session = session_on(store)
    session.open("p")
    return session


def test_only_prefixed_keys_are_saved(opened: StateSync, store: StorageInterface) -> None:
    rerun(opened, persist_owner="Aiko", show_details=True, other=1)
    assert store.load_process("p") == {"persist_owner": "Aiko"}


def test_an_unchanged_rerun_writes_nothing(opened: StateSync, store: StorageInterface) -> None:
    rerun(opened, persist_owner="Aiko", persist_tags=["a"])
    revision = store.process_revision("p")
    for _ in range(3):
        rerun(opened)
    assert store.process_revision("p") == revision


def test_an_in_place_change_is_detected(opened: StateSync, store: StorageInterface) -> None:
    rerun(opened, persist_tags=["a"], persist_filters={"region": "east"})
    opened.state["persist_tags"].append("b")
    opened.state["persist_filters"]["region"] = "west"
    rerun(opened)
    assert store.load_process("p") == {
        "persist_tags": ["a", "b"],
        "persist_filters": {"region": "west"},
    }


def test_opening_restores_saved_keys_and_drops_the_previous_processes_keys(
    store: StorageInterface,
) -> None:
    store.save_process("a", {"persist_owner": "A", "persist_due": date(2025, 1, 31)})
    store.save_process("b", {"persist_notes": "B"})
    session = session_on(store, {"unrelated": 1})
    session.open("a")
    assert session.state == {"unrelated": 1, "persist_owner": "A", "persist_due": date(2025, 1, 31)}
    session.open("b")
    assert session.state == {"unrelated": 1, "persist_notes": "B"}


def test_a_key_dropped_with_its_widget_comes_back_and_is_not_deleted(
    opened: StateSync, store: StorageInterface
) -> None:
    rerun(opened, persist_owner="Aiko")
    run = opened.begin_run()
    del opened.state["persist_owner"]  # Streamlit drops keys of widgets it did not render
    opened.end_run(run)
    assert store.load_process("p") == {"persist_owner": "Aiko"}
    opened.begin_run()
    assert opened.state["persist_owner"] == "Aiko"


def test_forget_deletes_on_purpose(opened: StateSync, store: StorageInterface) -> None:
    rerun(opened, persist_owner="Aiko", persist_notes="x")
    opened.forget("persist_notes")
    assert store.load_process("p") == {"persist_owner": "Aiko"}


def test_a_value_that_cannot_be_stored_warns_and_the_rest_is_saved(
    opened: StateSync, store: StorageInterface
) -> None:
    rerun(opened, persist_owner="Aiko")
    rerun(opened, persist_frame=object(), persist_notes="kept")
    assert "persist_frame" in opened.status.unstorable
    assert "persist_frame" in str(opened.status.unstorable["persist_frame"])
    assert store.load_process("p") == {"persist_owner": "Aiko", "persist_notes": "kept"}
    revision = store.process_revision("p")
    rerun(opened)  # the same bad value is not retried on every rerun
    assert store.process_revision("p") == revision
    rerun(opened, persist_frame="now storable")
    assert opened.status.unstorable == {}
    assert store.load_process("p") == {
        "persist_owner": "Aiko",
        "persist_notes": "kept",
        "persist_frame": "now storable",
    }


class WidgetState(dict[str, Any]):
    """Session state whose button keys refuse assignment, as Streamlit's does."""

    def __setitem__(self, key: str, value: Any) -> None:
        if key.endswith("_button"):
            raise StreamlitAPIException("st.button values cannot be set using st.session_state")
        super().__setitem__(key, value)


def test_widgets_that_cannot_be_set_are_skipped_on_restore(store: StorageInterface) -> None:
    store.save_process("p", {"persist_go_button": True, "persist_owner": "Aiko"})
    session = StateSync(
        store, WidgetState(), prefix=PREFIX, max_bytes=1 << 20, refused=(StreamlitAPIException,)
    )
    session.open("p")
    assert dict(session.state) == {"persist_owner": "Aiko"}


def test_an_oversize_write_is_refused_and_the_stored_state_stays(
    store: StorageInterface,
) -> None:
    store.create_process("p")
    session = StateSync(store, {}, prefix=PREFIX, max_bytes=1000)
    session.open("p")
    rerun(session, persist_small="ok")
    rerun(session, persist_big="x" * 2000)
    assert session.status.error is not None
    assert "persist_big" in str(session.status.error)
    assert store.load_process("p") == {"persist_small": "ok"}


@pytest.fixture
def two_sessions(make_store: StoreFactory, clock: FakeClock) -> tuple[StateSync, StateSync]:
    """Two sessions, each with a store of its own, on one new process ``p``."""
    store = make_store(clock)
    store.create_process("p")
    one, two = session_on(store), session_on(make_store(clock))
    one.open("p")
    two.open("p")
    return one, two


def test_two_sessions_editing_different_keys_keep_both(
    two_sessions: tuple[StateSync, StateSync],
) -> None:
    one, two = two_sessions
    store = one.store
    rerun(one, persist_a="one")
    rerun(two, persist_b="two")
    rerun(one)
    assert store.load_process("p") == {"persist_a": "one", "persist_b": "two"}
    assert one.state["persist_b"] == "two"


def test_the_later_write_to_one_key_wins_and_the_stale_copy_is_not_written_back(
    make_store: StoreFactory, clock: FakeClock
) -> None:
    store = make_store(clock)
    store.save_process("p", {"persist_owner": "start"})
    one, two = session_on(store), session_on(make_store(clock))
    one.open("p")
    two.open("p")
    rerun(one, persist_owner="one")
    rerun(two, persist_owner="two")  # later write wins
    rerun(one)  # one only reruns: it shows the newer value, writes nothing
    assert one.state["persist_owner"] == "two"
    assert store.load_process("p") == {"persist_owner": "two"}


def expenses(*amounts: int) -> pd.DataFrame:
    return pd.DataFrame(
        {"item": pd.array(["a", "b"], dtype="string"), "amount": pd.array(amounts, dtype="Int64")}
    )


def test_two_sessions_editing_different_cells_of_one_table_at_once_keep_both(
    two_sessions: tuple[StateSync, StateSync],
) -> None:
    """Both runs begin before either saves (neither has seen the other's edit): the later
    write puts its changed cells on top of the earlier one's table."""
    one, two = two_sessions
    rerun(one, persist_table=expenses(1, 2))
    rerun(two)
    first, second = one.begin_run(), two.begin_run()
    one.state["persist_table"] = expenses(10, 2)
    two.state["persist_table"] = expenses(1, 20)
    one.end_run(first)
    two.end_run(second)
    assert codec.same_value(one.store.load_process("p")["persist_table"], expenses(10, 20))  # type: ignore[index]
    assert codec.same_value(two.state["persist_table"], expenses(10, 20))
    rerun(one)
    assert codec.same_value(one.state["persist_table"], expenses(10, 20))


def test_a_table_both_sessions_changed_in_the_same_cell_takes_the_later_write(
    two_sessions: tuple[StateSync, StateSync],
) -> None:
    one, two = two_sessions
    rerun(one, persist_table=expenses(1, 2))
    rerun(two)
    first, second = one.begin_run(), two.begin_run()
    one.state["persist_table"] = expenses(10, 2)
    two.state["persist_table"] = expenses(30, 2)
    one.end_run(first)
    two.end_run(second)
    rerun(one)
    assert codec.same_value(one.state["persist_table"], expenses(30, 2))


def test_a_table_edit_no_run_saved_is_saved_to_its_process_before_a_switch(
    opened: StateSync, store: StorageInterface
) -> None:
    """The run that applied the edit was superseded by the one whose callback switches."""
    store.create_process("other")
    rerun(opened, persist_table=expenses(1, 2), persist_owner="saved")
    opened.state.update(persist_table=expenses(10, 2), persist_owner="unsaved")
    opened.open("other")
    stored = store.load_process("p") or {}
    assert codec.same_value(stored["persist_table"], expenses(10, 2))
    assert stored["persist_owner"] == "saved"  # a widget's value waits for begin_run
    assert "persist_table" not in (store.load_process("other") or {})


def test_a_process_deleted_elsewhere_is_not_brought_back(
    opened: StateSync, store: StorageInterface
) -> None:
    rerun(opened, persist_owner="Aiko")
    store.delete_process("p")
    rerun(opened, persist_owner="changed")
    assert opened.status.gone
    assert not store.process_exists("p")


def test_opening_a_missing_process_raises_and_keeps_the_current_one(
    opened: StateSync,
) -> None:
    rerun(opened, persist_owner="Aiko")
    with pytest.raises(ProcessNotFoundError):
        opened.open("missing")
    assert opened.process == "p"
    assert opened.state["persist_owner"] == "Aiko"


# -- what the browser shows ------------------------------------------------------------------


class FakeBrowser:
    """A browser as the engine sees it: which widget keys it reported in this run, and the
    defaults of the widgets it has seen."""

    def __init__(self, **defaults: Any) -> None:
        self.shown: dict[str, Any] = {}
        self.defaults = defaults

    def reported(self, prefix: str) -> dict[str, Any] | None:
        return self.shown

    def widget_default(self, key: str) -> Any:
        return self.defaults.get(key, NO_WIDGET)

    def guard(self, saved: Any, withhold: Any) -> None:
        return None  # no widgets register: nothing to check


class CountingState(dict[str, Any]):
    """Session state that counts how often each key was assigned."""

    def __init__(self) -> None:
        super().__init__()
        self.assigned: Counter[str] = Counter()

    def __setitem__(self, key: str, value: Any) -> None:
        self.assigned[key] += 1
        super().__setitem__(key, value)


def browser_session(
    store: StorageInterface, browser: FakeBrowser
) -> tuple[StateSync, CountingState]:
    state = CountingState()
    sync = StateSync(store, state, prefix=PREFIX, max_bytes=1 << 20, browser=browser)
    return sync, state


def browser_run(sync: StateSync, browser: FakeBrowser, **shown: Any) -> None:
    """One run started by the browser, which sent ``shown`` as its widgets' values."""
    browser.shown = shown
    sync.state.update(shown)
    sync.end_run(sync.begin_run())


def test_a_value_put_into_the_state_is_sent_again_until_the_browser_shows_it(
    store: StorageInterface,
) -> None:
    store.save_process("p", {"persist_owner": "Aiko"})
    browser = FakeBrowser(persist_owner="")
    sync, state = browser_session(store, browser)
    sync.open("p")
    browser_run(sync, browser)  # the run that opened it was never drawn: no owner on screen
    browser_run(sync, browser)
    assert state.assigned["persist_owner"] == 3  # the open, then once in each run
    browser_run(sync, browser, persist_owner="Aiko")  # drawn at last
    browser_run(sync, browser, persist_owner="Aiko")
    assert state.assigned["persist_owner"] == 3
    assert store.load_process("p") == {"persist_owner": "Aiko"}


def test_what_the_browser_showed_before_a_switch_is_not_taken_for_an_edit(
    store: StorageInterface,
) -> None:
    store.save_process("a", {"persist_owner": "A", "persist_done": True})
    store.save_process("b", {"persist_owner": "B"})
    browser = FakeBrowser(persist_owner="", persist_done=False)
    sync, state = browser_session(store, browser)
    sync.open("a")
    browser_run(sync, browser, persist_owner="A", persist_done=True)
    sync.open("b")  # the switch's run never reaches the screen, which still shows A
    browser_run(sync, browser, persist_owner="A", persist_done=True)
    assert state["persist_owner"] == "B"
    assert state["persist_done"] is False  # b has no such key: its widget goes to its default
    browser_run(sync, browser, persist_owner="B", persist_done=False)
    assert store.load_process("b") == {"persist_owner": "B", "persist_done": False}
    assert store.load_process("a") == {"persist_owner": "A", "persist_done": True}


def switched_before_drawn(
    store: StorageInterface, key: str, old: Any, new: Any, default: Any
) -> tuple[StateSync, CountingState, FakeBrowser]:
    """A session whose browser shows process ``a`` (``key`` = ``old``) when the selector's
    callback opens ``b`` (``key`` = ``new``): the switch has not reached the screen yet."""
    store.save_process("a", {key: old})
    store.save_process("b", {key: new})
    browser = FakeBrowser(**{key: default})
    sync, state = browser_session(store, browser)
    sync.open("a")
    browser_run(sync, browser, **{key: old})
    sync.open("b")
    return sync, state, browser


def test_the_users_own_edit_wins_even_before_the_browser_confirmed_the_switch(
    store: StorageInterface,
) -> None:
    sync, state, browser = switched_before_drawn(store, "persist_owner", "A", "B", "")
    browser_run(sync, browser, persist_owner="typed")
    assert state["persist_owner"] == "typed"
    assert store.load_process("b") == {"persist_owner": "typed"}


def test_an_old_value_a_fragment_run_took_from_the_browser_is_never_sent_back(
    store: StorageInterface,
) -> None:
    """The live-update watcher is a fragment: its runs take the browser's values into the
    state without the engine. After a switch the browser has not drawn, such a run holds the
    previous process's value; the next run (a page link, which reports no widgets) must send
    the opened value, not that one."""
    sync, state, browser = switched_before_drawn(store, "persist_notes", "A", "B", "")
    browser_run(sync, browser, persist_notes="A")  # this run never reaches the screen
    state.update(persist_notes="A")  # the watcher's fragment run
    browser_run(sync, browser)  # a page link: no widget reported
    assert state["persist_notes"] == "B"
    browser_run(sync, browser, persist_notes="B", persist_done=True)
    assert store.load_process("b") == {"persist_notes": "B", "persist_done": True}
    assert store.load_process("a") == {"persist_notes": "A"}


def test_the_watcher_learns_of_a_value_on_screen_that_no_save_stored(
    store: StorageInterface,
) -> None:
    """A run that saved an older value than the browser shows (Streamlit's overlapping
    reruns) is caught by the watcher's next two fragment runs, and the full run it starts saves
    what is on screen; within a full run, or for a value on its way, the watcher stays quiet."""
    store.save_process("p", {"persist_progress": 40})
    browser = FakeBrowser(persist_progress=0)
    sync, state = browser_session(store, browser)
    sync.open("p")
    browser_run(sync, browser, persist_progress=40)
    browser.shown = {"persist_progress": 40}
    assert not sync.shows_unsaved_values()
    browser_run(sync, browser, persist_progress=50)  # saved 50; the browser moved on to 60
    browser.shown = {"persist_progress": 60}  # the watcher's fragment run
    state.update(browser.shown)
    assert not sync.shows_unsaved_values()  # once: the edit's own run may not have begun
    assert sync.shows_unsaved_values()  # the next check: a save was missed
    run = sync.begin_run()  # the full run it starts: the fragment's values are still there
    assert not sync.shows_unsaved_values()  # the watcher inside a full run
    sync.end_run(run)
    assert store.load_process("p") == {"persist_progress": 60}
    assert not sync.shows_unsaved_values()


def test_the_watcher_does_not_take_an_undelivered_value_for_an_unsaved_one(
    store: StorageInterface,
) -> None:
    sync, _, browser = switched_before_drawn(store, "persist_progress", 10, 90, 0)
    browser_run(sync, browser, persist_progress=10)  # the switch is not drawn yet
    browser.shown = {"persist_progress": 10}
    assert not sync.shows_unsaved_values()


def test_a_merged_value_is_delivered_like_an_opened_one(
    make_store: StoreFactory, clock: FakeClock
) -> None:
    store = make_store(clock)
    store.save_process("p", {"persist_owner": "start"})
    browser = FakeBrowser(persist_owner="")
    mine, state = browser_session(store, browser)
    mine.open("p")
    browser_run(mine, browser, persist_owner="start")
    other = session_on(make_store(clock))
    other.open("p")
    rerun(other, persist_owner="colleague")
    browser_run(mine, browser, persist_owner="start")  # merged; not drawn yet
    browser_run(mine, browser, persist_owner="start")  # still the old value on screen
    assert state["persist_owner"] == "colleague"
    assert store.load_process("p") == {"persist_owner": "colleague"}


def test_a_reconnecting_tab_keeps_what_it_shows_and_its_edit_is_saved(
    store: StorageInterface,
) -> None:
    """A tab that outlived its server: the new server's first run is the user's edit."""
    store.save_process("p", {"persist_owner": "Aiko", "persist_notes": "kept"})
    browser = FakeBrowser()
    sync, state = browser_session(store, browser)
    browser.shown = {"persist_owner": UNREAD, "persist_notes": UNREAD}
    sync.open("p")  # from the tab's ?process= link
    state.update(persist_owner="edited", persist_notes="kept")  # the widgets register
    sync.end_run(sync.begin_run())
    assert state.assigned["persist_owner"] == 0  # the open left the screen alone
    assert store.load_process("p") == {"persist_owner": "edited", "persist_notes": "kept"}


def test_a_superseded_runs_end_does_nothing_and_the_newer_run_saves(
    opened: StateSync, store: StorageInterface
) -> None:
    rerun(opened, persist_owner="Aiko")
    revision = store.process_revision("p")
    old = opened.begin_run()
    opened.state["persist_owner"] = "Ken"
    new = opened.begin_run()  # the user clicked: Streamlit started a newer run
    opened.end_run(old)  # the abandoned run's finally, late
    assert store.process_revision("p") == revision
    opened.end_run(new)
    assert store.load_process("p") == {"persist_owner": "Ken"}


class GatedStore:
    """A store whose writes wait for a signal, recording when each call starts and ends."""

    def __init__(self, store: StorageInterface) -> None:
        self._store = store
        self.release = threading.Event()
        self.writing = threading.Event()
        self.calls: list[str] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)

    def update_process(
        self,
        name: str,
        changed: Any,
        removed: Any = (),
        *,
        expected_revision: Any = None,
        encodings: Any = None,
    ) -> int:
        self.calls.append("write starts")
        self.writing.set()
        self.release.wait(10)
        revision = self._store.update_process(
            name, changed, removed, expected_revision=expected_revision, encodings=encodings
        )
        self.calls.append("write ends")
        return revision

    def process_revision(self, name: str) -> int | None:
        self.calls.append("check")
        return self._store.process_revision(name)


def test_a_newer_run_waits_for_a_superseded_runs_save(store: StorageInterface) -> None:
    store.create_process("p")
    gated = GatedStore(store)
    sync = StateSync(gated, {}, prefix=PREFIX, max_bytes=1 << 20)
    sync.open("p")
    run = sync.begin_run()
    sync.state["persist_owner"] = "Aiko"
    saving = threading.Thread(target=sync.end_run, args=(run,))
    saving.start()
    assert gated.writing.wait(10)
    newer = threading.Thread(target=sync.begin_run)
    newer.start()
    newer.join(0.2)
    assert newer.is_alive()  # blocked: the two runs never work on the sync state at once
    gated.release.set()
    saving.join(10)
    newer.join(10)
    assert gated.calls[-3:] == ["write starts", "write ends", "check"]
    assert store.load_process("p") == {"persist_owner": "Aiko"}


def test_a_watcher_learns_of_a_colleagues_save_with_one_revision_read(
    two_sessions: tuple[StateSync, StateSync],
) -> None:
    mine, colleague = two_sessions
    rerun(mine, persist_owner="Aiko")
    assert not mine.changed_elsewhere()  # its own save is not news
    rerun(colleague, persist_notes="from a colleague")
    assert mine.changed_elsewhere()
    rerun(mine)  # the rerun the watcher asks for merges it
    assert mine.state["persist_notes"] == "from a colleague"
    assert mine.status.changed_elsewhere_at is not None
    assert not mine.changed_elsewhere()


def test_the_watcher_drawn_by_a_full_run_reads_no_revision(
    two_sessions: tuple[StateSync, StateSync],
) -> None:
    """``begin_run`` has just read the revision; a colleague's save during the run is the
    next fragment run's news."""
    mine, colleague = two_sessions
    run = mine.begin_run()
    rerun(colleague, persist_notes="from a colleague")
    assert not mine.changed_elsewhere()
    mine.end_run(run)
    assert mine.changed_elsewhere()


def test_overlapping_runs_leave_the_screen_unverified_until_a_check_finds_it_saved(
    store: StorageInterface,
) -> None:
    """The live-update fragment is drawn only after runs overlapped: a run that began before
    the previous one ended, a superseded run's end, or a widget's value changed during a run
    (a late thread's older values)."""
    store.save_process("p", {"persist_progress": 40})
    browser = FakeBrowser(persist_progress=0)
    sync, state = browser_session(store, browser)
    sync.open("p")
    browser_run(sync, browser, persist_progress=40)
    assert not sync.screen_unverified  # runs one after the other

    superseded = sync.begin_run()
    newer = sync.begin_run()  # the previous run has not ended
    assert sync.screen_unverified
    sync.end_run(newer)
    browser.shown = {"persist_progress": 40}
    assert not sync.shows_unsaved_values()  # the check finds every value saved
    assert not sync.screen_unverified
    sync.end_run(superseded)  # its finally, late
    assert sync.screen_unverified

    browser.shown = {"persist_progress": 60}
    state.update(browser.shown)
    run = sync.begin_run()
    state["persist_progress"] = 50  # a late thread puts its older value in
    sync.end_run(run)
    assert sync.screen_unverified


def test_a_watcher_reads_a_revision_once_for_every_session_on_the_process(
    two_sessions: tuple[StateSync, StateSync],
    store: StorageInterface,
) -> None:
    mine, colleague = two_sessions
    rerun(colleague, persist_notes="from a colleague")
    revision = colleague.store.process_revision("p")
    assert mine.is_behind("p", revision)
    assert not colleague.is_behind("p", revision)  # its own save
    assert not mine.is_behind("q", revision)  # another process than the open one
    run = mine.begin_run()  # merges it
    assert not mine.is_behind("p", revision)
    mine.end_run(run)
    assert not mine.is_behind("p", revision)
    assert mine.is_behind("p", None)  # deleted
