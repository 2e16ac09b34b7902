"""Change history on every backend: who changed which keys, undo and restore, bounds, and
what rename, copy, delete, export and a corrupt entry do to it."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from persistence.cli import export_document, import_document
from persistence.history import (
    ABSENT,
    HISTORY_KEY_PREFIX,
    Change,
    HistoryLimits,
    HistoryStore,
    expired,
    new_entry,
)
from persistence.storage import StorageInterface, utc_now
from persistence.sync import StateSync
from tests.conftest import StoreFactory

pytestmark = pytest.mark.persistence

LIMITS = HistoryLimits(entries=50, bytes=1 << 20, retention=timedelta(days=7))


def session(store: StorageInterface, author: str, limits: HistoryLimits = LIMITS) -> StateSync:
    sync = StateSync(store, {}, prefix="persist_", max_bytes=1 << 24, history=limits, author=author)
    sync.open("週次")
    return sync


def edit(sync: StateSync, **changes: Any) -> None:
    """One script run after the user changed ``changes``."""
    sync.state.update(changes)
    sync.end_run(sync.begin_run())


def history(store: StorageInterface) -> list[Change]:
    return HistoryStore(store, LIMITS).changes("週次")


def undo(store: StorageInterface, change: Change, by: str = "bob") -> Change | None:
    return HistoryStore(store, LIMITS).undo("週次", change.id, by=by, at=utc_now())


def test_each_save_names_who_changed_which_keys_and_what_they_held(
    store: StorageInterface,
) -> None:
    store.create_process("週次")
    alice, bob = session(store, "alice@example.com"), session(store, "guest:1a2b3c")
    edit(alice, persist_owner="山田", persist_progress=10)
    edit(bob, persist_notes="メモ")
    edit(alice, persist_owner="佐藤")
    newest, middle, oldest = history(store)
    assert [change.by for change in (newest, middle, oldest)] == [
        "alice@example.com",
        "guest:1a2b3c",
        "alice@example.com",
    ]
    assert oldest.keys == ["persist_owner", "persist_progress"]
    assert oldest.before == {"persist_owner": ABSENT, "persist_progress": ABSENT}
    assert middle.before == {"persist_notes": ABSENT}
    assert newest.before == {"persist_owner": "山田"}
    assert alice.history == history(store), "a session keeps the entries it read and wrote"
    assert store.load_process("週次") == {
        "persist_owner": "佐藤",
        "persist_progress": 10,
        "persist_notes": "メモ",
    }, "reads leave the entries out"


def test_undo_and_restore_are_changes_that_reach_every_session(store: StorageInterface) -> None:
    store.create_process("週次")
    alice, bob = session(store, "alice"), session(store, "bob")
    edit(alice, persist_owner="山田")
    edit(alice, persist_owner="佐藤", persist_notes="メモ")
    edit(bob)  # bob's run merges alice's saves
    assert bob.state == {"persist_owner": "佐藤", "persist_notes": "メモ"}
    undone = undo(store, history(store)[0])
    assert undone is not None and undone.kind == "undo" and undone.by == "bob"
    assert store.load_process("週次") == {"persist_owner": "山田"}
    edit(alice)
    assert alice.state == {"persist_owner": "山田"}, "alice's next run shows bob's undo"
    assert undo(store, history(store)[0], by="alice") is not None  # undo the undo
    assert store.load_process("週次") == {"persist_owner": "佐藤", "persist_notes": "メモ"}
    first = history(store)[-1]
    restored = HistoryStore(store, LIMITS).restore("週次", first.id, by="bob", at=utc_now())
    assert restored is not None and restored.kind == "restore"
    assert store.load_process("週次") == {"persist_owner": "山田"}
    assert HistoryStore(store, LIMITS).restore("週次", first.id, by="bob", at=utc_now()) is None


def test_a_colleagues_change_is_named_and_one_saved_over_is_said(
    store: StorageInterface,
) -> None:
    store.create_process("週次")
    alice, bob = session(store, "alice"), session(store, "bob")
    edit(alice, persist_owner="山田", persist_notes="メモ")
    edit(bob)
    assert [change.by for change in bob.status.changed_by] == ["alice"]
    assert bob.status.overwritten == {}
    edit(alice, persist_owner="佐藤")
    edit(bob, persist_owner="鈴木")  # bob's edit arrives with alice's change unseen
    assert list(bob.status.overwritten) == ["persist_owner"]
    assert bob.status.overwritten["persist_owner"].by == "alice"
    assert store.load_process("週次") == {"persist_owner": "鈴木", "persist_notes": "メモ"}
    mine, theirs = history(store)[:2]
    assert (mine.by, mine.before) == ("bob", {"persist_owner": "佐藤"})
    assert (theirs.by, theirs.before) == ("alice", {"persist_owner": "山田"})
    undo(store, mine)
    assert store.load_process("週次") == {"persist_owner": "佐藤", "persist_notes": "メモ"}


def test_entries_are_bounded_by_count_and_bytes(store: StorageInterface) -> None:
    store.create_process("週次")
    few = HistoryLimits(entries=3, bytes=1 << 20, retention=timedelta(days=7))
    alice = session(store, "alice", few)
    for count in range(6):
        edit(alice, persist_count=count)
    assert [change.before for change in history(store)] == [
        {"persist_count": 4},
        {"persist_count": 3},
        {"persist_count": 2},
    ]
    small = HistoryLimits(entries=50, bytes=3000, retention=timedelta(days=7))
    bob = session(store, "bob", small)
    for text in ["a" * 1000, "b" * 1000, "c" * 1000, "d" * 1000]:
        edit(bob, persist_text=text)
    assert sum(change.size for change in history(store)) <= 3000


def test_a_big_value_is_kept_only_by_the_entries_that_changed_it(
    store: StorageInterface,
) -> None:
    store.create_process("週次")
    alice = session(store, "alice")
    edit(alice, persist_file=bytes(range(256)) * 400)
    edit(alice, persist_file=b"replaced")
    for count in range(5):
        edit(alice, persist_count=count)
    changes = history(store)
    assert [change.keys for change in changes[:5]] == [["persist_count"]] * 5
    assert all(change.size < 200 for change in changes[:5])
    assert changes[5].before == {"persist_file": bytes(range(256)) * 400}


def test_the_bounds_drop_entries_past_the_retention_window() -> None:
    now = datetime(2025, 1, 31, tzinfo=UTC)
    old = [
        new_entry({"persist_a": n}, at=now - timedelta(days=days), by="a")[2]
        for n, days in enumerate([1, 6, 8, 9])
    ]
    new = new_entry({"persist_a": 9}, at=now, by="a")[2]
    dropped = expired(old, new, LIMITS)
    assert [change.before for change in dropped] == [{"persist_a": 2}, {"persist_a": 3}]


def test_a_corrupt_entry_leaves_the_process_and_the_other_entries_readable(
    store: StorageInterface,
) -> None:
    store.create_process("週次")
    edit(session(store, "alice"), persist_owner="山田")
    store.update_process("週次", {HISTORY_KEY_PREFIX + "00000000000000001-dead": "{not json"})
    assert store.load_process("週次") == {"persist_owner": "山田"}
    assert [change.by for change in history(store)] == ["alice"]


def test_rename_keeps_the_history_copy_starts_its_own_delete_drops_it(
    store: StorageInterface,
) -> None:
    store.create_process("週次")
    edit(session(store, "alice"), persist_owner="山田")
    store.rename_process("週次", "月次")
    assert [change.by for change in HistoryStore(store, LIMITS).changes("月次")] == ["alice"]
    store.copy_process("月次", "週次")
    assert history(store) == []
    assert store.load_process("週次") == {"persist_owner": "山田"}
    store.delete_process("月次")
    store.create_process("月次")
    assert HistoryStore(store, LIMITS).changes("月次") == []


def test_an_export_carries_the_history_unless_told_not_to(store: StorageInterface) -> None:
    store.create_process("週次")
    edit(session(store, "alice"), persist_owner="山田")
    with_history, without = export_document(store), export_document(store, history=False)
    store.delete_process("週次")
    import_document(store, with_history)
    assert [change.by for change in history(store)] == ["alice"]
    import_document(store, without)
    assert history(store) == []
    assert store.load_process("週次") == {"persist_owner": "山田"}


STEPS = st.lists(
    st.dictionaries(
        st.sampled_from(["persist_a", "persist_b", "persist_c"]),
        st.one_of(st.integers(-3, 3), st.text(max_size=3), st.none()),
        min_size=1,
    ),
    min_size=1,
    max_size=6,
)


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(start=STEPS.map(lambda steps: steps[0]), steps=STEPS)
def test_undoing_every_change_newest_first_gives_back_the_start(
    store: StorageInterface, start: dict[str, Any], steps: list[dict[str, Any]]
) -> None:
    store.delete_process("週次")
    store.save_process("週次", start)
    alice = session(store, "alice")
    for step in steps:
        edit(alice, **step)
    for change in history(store):
        if change.kind == "save":
            undo(store, change)
    assert store.load_process("週次") == start


WRITER = """
import sys
from persistence.history import HistoryLimits
from persistence.storage import open_storage
from persistence.sync import StateSync
from datetime import timedelta
limits = HistoryLimits(entries=1000, bytes=1 << 30, retention=timedelta(days=7))
sync = StateSync(open_storage(), {}, prefix="persist_", max_bytes=1 << 24, history=limits,
                 author="writer")
sync.open("週次")
count = sync.state.get("persist_counter", 0)
while True:
    count += 1
    sync.state["persist_counter"] = count
    sync.state["persist_payload"] = str(count) * 5000
    sync.end_run(sync.begin_run())
    print(count, flush=True)
"""


@pytest.mark.slow
def test_after_sigkill_during_saves_the_history_and_the_state_agree(
    make_store: StoreFactory,
) -> None:
    store = make_store()
    store.create_process("週次")
    env = {
        **os.environ,
        "PERSIST_STORAGE_URL": make_store.url,
        "PERSIST_NAMESPACE": make_store.settings.namespace,
    }
    for _ in range(5):
        writer = subprocess.Popen(
            [sys.executable, "-c", WRITER], env=env, stdout=subprocess.PIPE, text=True
        )
        assert writer.stdout is not None
        seen = [writer.stdout.readline() for _ in range(random.randint(5, 20))]
        assert all(line.strip() for line in seen), "the writer died on its own"
        time.sleep(random.uniform(0.0, 0.003))  # land anywhere inside a save
        writer.send_signal(signal.SIGKILL)
        writer.communicate()
        state = store.load_process("週次")
        assert state is not None
        changes = history(store)
        # One entry per save, each holding what the save before it left.
        assert len(changes) == state["persist_counter"]
        for count, change in zip(range(state["persist_counter"], 0, -1), changes, strict=True):
            expected = {"persist_counter": count - 1, "persist_payload": str(count - 1) * 5000}
            if count == 1:
                expected = {"persist_counter": ABSENT, "persist_payload": ABSENT}
            assert change.before == expected
