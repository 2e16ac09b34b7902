"""Expired processes leave the storage by themselves: each server purges at most once an
hour, in a thread of its own, never during a rerun; several servers may purge at once."""

from __future__ import annotations

import io
import threading
import time
from datetime import UTC, datetime, timedelta

import pytest

from persistence import expiry
from persistence.expiry import ExpiryJanitor
from persistence.settings import get_settings
from tests.app_driver import key, start
from tests.conftest import FakeClock, StoreFactory


def still_stored(make_store: StoreFactory, name: str, moment: datetime) -> bool:
    """Whether ``name`` is still in the storage: seen from ``moment``, when it was live,
    a process that is merely hidden (expired, not purged) is still there."""
    past = FakeClock()
    past.now = moment
    return make_store(past).process_exists(name)


@pytest.mark.persistence
def test_a_janitor_purges_at_most_once_an_interval(
    make_store: StoreFactory, clock: FakeClock
) -> None:
    store = make_store(clock)
    store.create_process("old")
    created = clock.now
    clock.advance(days=8)
    store.create_process("new")
    janitor = ExpiryJanitor(store, clock=clock)
    assert janitor.run_if_due() == ["old"]  # the first run is at once
    assert not still_stored(make_store, "old", created)
    assert still_stored(make_store, "new", clock.now)

    clock.advance(minutes=30)
    past = FakeClock()
    past.now = clock.now - timedelta(days=8)
    make_store(past).create_process("expired meanwhile")
    assert janitor.run_if_due() is None  # the last purge was half an hour ago
    assert janitor.seconds_until_due() == 30 * 60
    assert still_stored(make_store, "expired meanwhile", past.now)
    clock.advance(minutes=30)
    assert janitor.run_if_due() == ["expired meanwhile"]
    assert janitor.run_if_due() is None
    assert not still_stored(make_store, "expired meanwhile", past.now)


@pytest.mark.persistence
def test_a_storage_outage_is_logged_and_waits_for_the_next_interval(
    clock: FakeClock, persist_log: io.StringIO
) -> None:
    class Down:
        def purge_expired(self) -> list[str]:
            from persistence.errors import StorageUnavailableError

            raise StorageUnavailableError("the server is down")

    janitor = ExpiryJanitor(Down(), clock=clock)  # type: ignore[arg-type]
    assert janitor.run_if_due() == []
    assert "the server is down" in persist_log.getvalue()
    assert janitor.run_if_due() is None


@pytest.mark.persistence
def test_the_thread_purges_and_stops(make_store: StoreFactory) -> None:
    old = FakeClock()
    old.now = datetime.now(UTC) - timedelta(days=get_settings().retention_days + 1)
    make_store(old).create_process("stale")
    janitor = ExpiryJanitor(make_store())
    janitor.start()
    try:
        deadline = time.monotonic() + 10
        while still_stored(make_store, "stale", old.now) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not still_stored(make_store, "stale", old.now)
        assert janitor.running
    finally:
        janitor.stop()
    assert not janitor.running


@pytest.mark.persistence
@pytest.mark.slow
def test_servers_purging_at_the_same_time_delete_each_process_once(
    make_store: StoreFactory, clock: FakeClock
) -> None:
    """Replicas share one storage and each runs a janitor: the same hour, the same store."""
    creator = make_store(clock)
    for index in range(20):
        creator.create_process(f"old {index}")
    clock.advance(days=8)
    make_store(clock).create_process("live")
    janitors = [ExpiryJanitor(make_store(clock), clock=clock) for _ in range(4)]
    results: list[list[str] | None] = []
    barrier = threading.Barrier(len(janitors))

    def purge(janitor: ExpiryJanitor) -> None:
        barrier.wait()
        results.append(janitor.run_if_due())

    threads = [threading.Thread(target=purge, args=(janitor,)) for janitor in janitors]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    purged = [name for names in results for name in names or []]
    assert sorted(purged) == sorted(f"old {index}" for index in range(20))
    assert [info.name for info in make_store(clock).list_processes()] == ["live"]


def test_the_app_purges_off_the_rerun_path(
    app_storage: StoreFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The server's first store starts the janitor; reruns never call it."""
    calls: list[str] = []
    run_if_due = ExpiryJanitor.run_if_due

    def counted(janitor: ExpiryJanitor) -> list[str] | None:
        calls.append(threading.current_thread().name)
        return run_if_due(janitor)

    monkeypatch.setattr(ExpiryJanitor, "run_if_due", counted)
    old = FakeClock()
    old.now = datetime.now(UTC) - timedelta(days=get_settings().retention_days + 1)
    app_storage(old).save_process("stale", {key("owner"): "old"})
    at = start()
    deadline = time.monotonic() + 10
    while still_stored(app_storage, "stale", old.now) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not still_stored(app_storage, "stale", old.now)
    for _ in range(3):
        at.run()
    assert calls == ["persistence-expiry"]  # once, in its own thread, at server start
    janitor = expiry._current
    assert janitor is not None and janitor.running
    expiry.stop_expiry()
    assert not janitor.running
