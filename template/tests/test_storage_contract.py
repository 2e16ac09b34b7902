"""The storage contract, written once and run against every backend the project has, and
against a per-user view (``ScopedStorage``) of each: apps see stores through both."""

from __future__ import annotations

import dataclasses
import functools
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, cast

import pytest

from persistence.errors import (
    InvalidProcessNameError,
    ProcessExistsError,
    ProcessNotFoundError,
    UnstorableValueError,
)
from persistence.models import ProcessRecord
from persistence.storage import StorageInterface
from persistence.storage.scoped import ScopedStorage
from tests.conftest import FakeClock, StoreFactory

pytestmark = pytest.mark.persistence

OWNER = "alice@example.com"

RICH_STATE: dict[str, Any] = {
    "persist_owner": "山田 太郎",
    "persist_progress": 42,
    "persist_ratio": 0.25,
    "persist_done": True,
    "persist_none": None,
    "persist_tags": ["weekly", "urgent"],
    "persist_range": (1, 5),
    "persist_due_date": date(2025, 1, 31),
    "persist_stamp": datetime(2025, 1, 6, 9, 30, tzinfo=UTC),
    "persist_naive": datetime(2025, 1, 6, 9, 30),
    "persist_time": time(14, 15),
    "persist_nested": {"rows": [{"a": 1, "b": (2, 3)}], "$type": "not a tag"},
}


@pytest.fixture(params=["store", "per-user view"])
def view(request: pytest.FixtureRequest) -> str:
    view: str = request.param
    return view


@pytest.fixture
def make_store(make_store: StoreFactory, view: str) -> StoreFactory:
    """Every test below runs on the backend's store and on one user's view of it."""
    if view == "per-user view":
        return dataclasses.replace(make_store, owner=OWNER)
    return make_store


def test_the_store_satisfies_the_protocol(store: StorageInterface) -> None:
    assert isinstance(store, StorageInterface)


def test_a_save_then_a_load_round_trips_every_supported_type(store: StorageInterface) -> None:
    store.save_process("2025年1月_週次レポート", RICH_STATE)
    loaded = store.load_process("2025年1月_週次レポート")
    assert loaded == RICH_STATE
    assert loaded is not None
    assert {key: type(value) for key, value in loaded.items()} == {
        key: type(value) for key, value in RICH_STATE.items()
    }


def test_an_unknown_process_loads_as_none(store: StorageInterface) -> None:
    assert store.load_process("nothing here") is None
    assert store.read_process("nothing here") is None
    assert store.process_revision("nothing here") is None
    assert not store.process_exists("nothing here")


def test_save_replaces_the_whole_state(store: StorageInterface) -> None:
    store.save_process("p", {"persist_a": 1, "persist_b": 2})
    store.save_process("p", {"persist_b": 3})
    assert store.load_process("p") == {"persist_b": 3}


def test_create_makes_an_empty_process_and_rejects_duplicates(store: StorageInterface) -> None:
    info = store.create_process("週次")
    assert info.name == "週次"
    assert store.load_process("週次") == {}
    assert store.process_exists("週次")
    with pytest.raises(ProcessExistsError, match="already exists"):
        store.create_process("週次")


def test_update_writes_only_the_given_keys(store: StorageInterface) -> None:
    store.create_process("p")
    first = store.update_process("p", {"persist_a": 1, "persist_b": [1]})
    second = store.update_process("p", {"persist_b": [1, 2]}, removed=["persist_a"])
    assert second > first
    assert store.load_process("p") == {"persist_b": [1, 2]}


def test_updates_from_two_sessions_to_different_keys_both_survive(
    make_store: StoreFactory, clock: FakeClock
) -> None:
    one, two = make_store(clock), make_store(clock)
    one.create_process("shared")
    one.update_process("shared", {"persist_a": "from one"})
    two.update_process("shared", {"persist_b": "from two"})
    assert one.load_process("shared") == {"persist_a": "from one", "persist_b": "from two"}


def test_update_of_a_deleted_process_does_not_bring_it_back(store: StorageInterface) -> None:
    store.create_process("p")
    assert store.delete_process("p")
    with pytest.raises(ProcessNotFoundError):
        store.update_process("p", {"persist_a": 1})
    assert not store.process_exists("p")
    assert not store.delete_process("p")


def test_revision_changes_on_every_write(store: StorageInterface) -> None:
    store.create_process("p")
    seen = {store.process_revision("p")}
    for value in range(3):
        store.update_process("p", {"persist_a": value})
        seen.add(store.process_revision("p"))
    assert len(seen) == 4
    snapshot = store.read_process("p")
    assert snapshot is not None and snapshot.revision == store.process_revision("p")


def test_rename_keeps_the_state(store: StorageInterface) -> None:
    store.save_process("old", {"persist_a": 1})
    store.rename_process("old", "新しい名前")
    assert store.load_process("old") is None
    assert store.load_process("新しい名前") == {"persist_a": 1}
    assert [info.name for info in store.list_processes()] == ["新しい名前"]


def test_rename_refuses_a_taken_name_and_a_missing_process(store: StorageInterface) -> None:
    store.create_process("a")
    store.create_process("b")
    with pytest.raises(ProcessExistsError):
        store.rename_process("a", "b")
    with pytest.raises(ProcessNotFoundError):
        store.rename_process("missing", "c")
    assert {info.name for info in store.list_processes()} == {"a", "b"}


def test_copy_holds_the_whole_state_and_lives_on_its_own(
    store: StorageInterface, clock: FakeClock
) -> None:
    big = bytes(range(256)) * 400  # over every backend's threshold for a value kept apart
    store.save_process("2025年1月_週次レポート", {**RICH_STATE, "persist_file": big})
    clock.advance(minutes=1)
    info = store.copy_process("2025年1月_週次レポート", "2025年2月_週次レポート")
    assert info.name == "2025年2月_週次レポート"
    assert info.updated_at == clock.now
    copied = store.read_process("2025年2月_週次レポート")
    assert copied is not None and copied.state == {**RICH_STATE, "persist_file": big}
    store.update_process("2025年2月_週次レポート", {"persist_owner": "佐藤"})
    assert store.delete_process("2025年1月_週次レポート")
    assert store.load_process("2025年2月_週次レポート") == {
        **RICH_STATE,
        "persist_owner": "佐藤",
        "persist_file": big,
    }


def test_copy_refuses_a_taken_name_and_a_missing_process(store: StorageInterface) -> None:
    store.save_process("a", {"persist_a": 1})
    store.save_process("b", {"persist_b": 2})
    with pytest.raises(ProcessExistsError):
        store.copy_process("a", "b")
    with pytest.raises(ProcessNotFoundError):
        store.copy_process("missing", "c")
    assert store.load_process("b") == {"persist_b": 2}
    assert {info.name for info in store.list_processes()} == {"a", "b"}
    store.create_process("empty")
    store.copy_process("empty", "also empty")
    assert store.load_process("also empty") == {}


def test_list_is_most_recent_first(store: StorageInterface, clock: FakeClock) -> None:
    for name in ["first", "second", "third"]:
        store.create_process(name)
        clock.advance(minutes=1)
    store.update_process("first", {"persist_a": 1})
    listed = store.list_processes()
    assert [info.name for info in listed] == ["first", "third", "second"]
    assert listed[0].updated_at == clock.now


def test_listing_by_prefix_reads_that_prefix_only(
    store: StorageInterface, clock: FakeClock
) -> None:
    for name in ["team:b", "team:a", "teams", "other:team:c", "チーム:d", "team"]:
        store.create_process(name)
        clock.advance(minutes=1)
    store.update_process("team:b", {"persist_a": 1})
    assert [i.name for i in store.list_processes_by_prefix("team:")] == ["team:b", "team:a"]
    assert [i.name for i in store.list_processes_by_prefix("チーム")] == ["チーム:d"]
    assert store.list_processes_by_prefix("nobody:") == []
    assert store.list_processes_by_prefix("") == store.list_processes()
    clock.advance(days=7, seconds=-30)  # everything but team:b expired
    assert [i.name for i in store.list_processes_by_prefix("team")] == ["team:b"]


def test_import_writes_whole_processes_with_their_last_update(
    store: StorageInterface, clock: FakeClock
) -> None:
    store.save_process("replaced", {"persist_old": 1})
    revision = store.process_revision("replaced")
    yesterday = clock.now - timedelta(days=1)
    written = store.import_processes(
        [
            ProcessRecord("replaced", {"persist_new": (1, 2)}, yesterday),
            ProcessRecord("2025年1月_週次レポート", RICH_STATE, yesterday - timedelta(hours=1)),
            ProcessRecord("no time given", {}),
        ]
    )
    assert written == ["replaced", "2025年1月_週次レポート", "no time given"]
    assert store.load_process("2025年1月_週次レポート") == RICH_STATE
    replaced = store.read_process("replaced")
    assert replaced is not None and replaced.state == {"persist_new": (1, 2)}
    assert replaced.updated_at == yesterday
    assert revision is not None and replaced.revision > revision  # open sessions notice
    listed = store.list_processes()
    assert [info.name for info in listed] == [
        "no time given",
        "replaced",
        "2025年1月_週次レポート",
    ]
    assert abs(listed[1].updated_at - yesterday) < timedelta(milliseconds=1)
    assert listed[0].updated_at == clock.now


def test_import_counts_a_future_time_as_now_and_skips_what_has_expired(
    store: StorageInterface, clock: FakeClock
) -> None:
    written = store.import_processes(
        [
            ProcessRecord("future", {"persist_a": 1}, clock.now + timedelta(days=365)),
            ProcessRecord("expired", {"persist_a": 2}, clock.now - timedelta(days=8)),
        ]
    )
    assert written == ["future"]
    future = store.read_process("future")
    assert future is not None and future.updated_at == clock.now
    assert not store.process_exists("expired")


@pytest.mark.parametrize(
    "bad",
    [
        ProcessRecord("bad\nname", {}),
        ProcessRecord("unstorable", {"persist_a": object()}),
        ProcessRecord("first", {"persist_a": "the same name twice"}),
    ],
    ids=["invalid name", "unstorable value", "duplicate name"],
)
def test_import_is_all_or_nothing(store: StorageInterface, bad: ProcessRecord) -> None:
    store.save_process("first", {"persist_a": "before"})
    before = store.read_process("first")
    with pytest.raises((InvalidProcessNameError, UnstorableValueError, ProcessExistsError)):
        store.import_processes(
            [ProcessRecord("first", {"persist_a": "after"}), ProcessRecord("new", {}), bad]
        )
    assert store.read_process("first") == before
    assert [info.name for info in store.list_processes()] == ["first"]


@pytest.mark.parametrize("name", ["", "   ", "a\nb", "tab\there", "nul\x00", "x" * 201, 42, None])
def test_invalid_names_are_rejected_with_a_message(store: StorageInterface, name: Any) -> None:
    with pytest.raises(InvalidProcessNameError, match="process name"):
        store.create_process(name)
    assert store.list_processes() == []


def test_hostile_names_stay_inside_the_store(store: StorageInterface) -> None:
    hostile = ["../../etc/passwd", "a/b", "..", "CON", "nul.txt", "\u202eevil", "🙂" * 50]
    for index, name in enumerate(hostile):
        store.save_process(name, {"persist_i": index})
    for index, name in enumerate(hostile):
        assert store.load_process(name) == {"persist_i": index}
    assert {info.name for info in store.list_processes()} == set(hostile)


def test_an_unstorable_value_is_refused_and_names_its_key(store: StorageInterface) -> None:
    store.save_process("p", {"persist_a": 1})
    with pytest.raises(UnstorableValueError, match="persist_bad"):
        store.update_process("p", {"persist_ok": 2, "persist_bad": object()})
    with pytest.raises(UnstorableValueError, match="persist_set"):
        store.save_process("p", {"persist_set": {1, 2}})
    assert store.load_process("p") == {"persist_a": 1}


DEEP: Any = functools.reduce(lambda inner, _: [inner], range(200), cast(Any, 0))


@pytest.mark.parametrize(
    "state",
    [
        {"persist_nul\x00key": 1},  # PostgreSQL's text cannot hold NUL: no backend takes it
        {"persist_\ud800": 1},  # a lone surrogate: no UTF-8 text holds it
        {"persist_text": "a\ud800b"},
        {"persist_list": ["ok", {"k\udfff": 1}]},
        {"persist_deep": DEEP},
    ],
    ids=["nul-in-key", "surrogate-in-key", "surrogate-in-text", "surrogate-in-dict-key", "deep"],
)
def test_what_cannot_round_trip_is_refused_by_key(
    store: StorageInterface, state: dict[str, Any]
) -> None:
    store.save_process("p", {"persist_a": 1})
    (key,) = state
    with pytest.raises(UnstorableValueError) as refused:
        store.update_process("p", {"persist_ok": 2, **state})
    assert refused.value.key == key
    with pytest.raises(UnstorableValueError):
        store.save_process("p", state)
    with pytest.raises(UnstorableValueError):
        store.import_processes([ProcessRecord("q", state, None)])
    assert store.load_process("p") == {"persist_a": 1}
    assert store.load_process("q") is None


def test_nul_inside_values_round_trips(store: StorageInterface) -> None:
    state = {"persist_text": "a\x00b", "persist_dict": {"k\x00": ("\x00",)}}
    store.save_process("p", state)
    assert store.load_process("p") == state


def test_processes_expire_after_the_retention_window(
    store: StorageInterface, clock: FakeClock
) -> None:
    store.create_process("stale")
    clock.advance(days=3)
    store.create_process("fresh")
    clock.advance(days=5)  # stale: 8 days old; fresh: 5 days old
    assert [info.name for info in store.list_processes()] == ["fresh"]
    assert store.load_process("stale") is None
    assert store.process_revision("stale") is None
    with pytest.raises(ProcessNotFoundError):
        store.update_process("stale", {"persist_a": 1})


def test_an_update_slides_the_retention_window(store: StorageInterface, clock: FakeClock) -> None:
    store.create_process("busy")
    for _ in range(4):
        clock.advance(days=5)
        store.update_process("busy", {"persist_a": clock.now.isoformat()})
    assert store.process_exists("busy")


def test_purge_deletes_expired_processes_only(store: StorageInterface, clock: FakeClock) -> None:
    if isinstance(store, ScopedStorage):
        pytest.skip("a per-user view leaves purging to the operator (tests/test_per_user.py)")
    store.create_process("old")
    clock.advance(days=8)
    store.create_process("new")
    assert store.purge_expired() == ["old"]
    assert [info.name for info in store.list_processes()] == ["new"]
    assert store.purge_expired() == []
