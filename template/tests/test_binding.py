"""The session binding on a plain dict: what it saves, restores, merges and refuses."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from streamlit.errors import StreamlitAPIException

from persistence.binding import PersistentSession
from persistence.errors import ProcessNotFoundError
from persistence.storage import StorageInterface
from tests.conftest import FakeClock, StoreFactory

PREFIX = "persist_"


def session_on(store: StorageInterface, state: dict[str, Any] | None = None) -> PersistentSession:
    return PersistentSession(
        store, {} if state is None else state, prefix=PREFIX, max_bytes=1 << 20
    )


def rerun(session: PersistentSession, **changes: Any) -> None:
    """One script run after the user changed ``changes`` in the browser."""
    session.state.update(changes)
    session.begin_run()
    session.end_run()


@pytest.fixture
def opened(store: StorageInterface) -> PersistentSession:
    store.create_process("p")
    session = session_on(store)
    session.open("p")
    return session


def test_only_prefixed_keys_are_saved(opened: PersistentSession, store: StorageInterface) -> None:
    rerun(opened, persist_owner="Aiko", show_details=True, other=1)
    assert store.load_process("p") == {"persist_owner": "Aiko"}


def test_an_unchanged_rerun_writes_nothing(
    opened: PersistentSession, store: StorageInterface
) -> None:
    rerun(opened, persist_owner="Aiko", persist_tags=["a"])
    revision = store.process_revision("p")
    for _ in range(3):
        rerun(opened)
    assert store.process_revision("p") == revision


def test_an_in_place_change_is_detected(opened: PersistentSession, store: StorageInterface) -> None:
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
    opened: PersistentSession, store: StorageInterface
) -> None:
    rerun(opened, persist_owner="Aiko")
    del opened.state["persist_owner"]  # Streamlit drops keys of widgets it did not render
    opened.end_run()
    assert store.load_process("p") == {"persist_owner": "Aiko"}
    opened.begin_run()
    assert opened.state["persist_owner"] == "Aiko"


def test_forget_deletes_on_purpose(opened: PersistentSession, store: StorageInterface) -> None:
    rerun(opened, persist_owner="Aiko", persist_notes="x")
    opened.forget("persist_notes")
    assert store.load_process("p") == {"persist_owner": "Aiko"}


def test_a_value_that_cannot_be_stored_warns_and_the_rest_is_saved(
    opened: PersistentSession, store: StorageInterface
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
    session = session_on(store, WidgetState())
    session.open("p")
    assert dict(session.state) == {"persist_owner": "Aiko"}


def test_an_oversize_write_is_refused_and_the_stored_state_stays(
    store: StorageInterface,
) -> None:
    store.create_process("p")
    session = PersistentSession(store, {}, prefix=PREFIX, max_bytes=1000)
    session.open("p")
    rerun(session, persist_small="ok")
    rerun(session, persist_big="x" * 2000)
    assert session.status.error is not None
    assert "persist_big" in str(session.status.error)
    assert store.load_process("p") == {"persist_small": "ok"}


def test_two_sessions_editing_different_keys_keep_both(
    make_store: StoreFactory, clock: FakeClock
) -> None:
    store = make_store(clock)
    store.create_process("p")
    one, two = session_on(store), session_on(make_store(clock))
    one.open("p")
    two.open("p")
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


def test_a_process_deleted_elsewhere_is_not_brought_back(
    opened: PersistentSession, store: StorageInterface
) -> None:
    rerun(opened, persist_owner="Aiko")
    store.delete_process("p")
    rerun(opened, persist_owner="changed")
    assert opened.status.gone
    assert not store.process_exists("p")


def test_opening_a_missing_process_raises_and_keeps_the_current_one(
    opened: PersistentSession,
) -> None:
    rerun(opened, persist_owner="Aiko")
    with pytest.raises(ProcessNotFoundError):
        opened.open("missing")
    assert opened.process == "p"
    assert opened.state["persist_owner"] == "Aiko"
