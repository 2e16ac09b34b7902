"""What operators see: one log line per event under the package's logger names (JSON lines
on request, never a password), outages and recoveries logged once, failed saves, expiry runs
and migrations logged, and the Prometheus counters of saves and outages. The app's
``/_persist/metrics`` route is tested on a real server in tests/test_health.py."""

from __future__ import annotations

import dataclasses
import io
import json
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry

from persistence.errors import (
    ConfigurationError,
    ProcessNotFoundError,
    StorageUnavailableError,
    UnstorableValueError,
)
from persistence.expiry import ExpiryJanitor, stop_expiry
from persistence.health import touch
from persistence.logs import configure_logging
from persistence.metrics import StoreMetrics
from persistence.migrations import AppMigrations, MigratingStorage, Migration
from persistence.models import State
from persistence.settings import build_settings, get_settings
from persistence.storage.observed import ObservedStorage, StoreHealth
from tests.conftest import StoreFactory
from tests.test_cli import run_persist
from tests.test_health import unreachable_url

pytestmark = pytest.mark.persistence

SECRET = "s3cr3t-pa55"
OBSERVED = "persistence.storage.observed"
log = logging.getLogger("persistence.tests")


def lines(stream: io.StringIO, logger: str = "persistence.") -> list[str]:
    """The lines logged by ``logger`` or below it (the app's expiry thread logs too)."""
    return [line for line in stream.getvalue().splitlines() if f" {logger}" in line]


@pytest.fixture
def json_log(monkeypatch: pytest.MonkeyPatch) -> Iterator[io.StringIO]:
    monkeypatch.setenv("PERSIST_LOG_FORMAT", "json")
    get_settings.cache_clear()
    stream = io.StringIO()
    configure_logging(logging.INFO, stream)
    yield stream
    monkeypatch.delenv("PERSIST_LOG_FORMAT")
    get_settings.cache_clear()
    configure_logging(logging.INFO)


def fail_with_two_lines() -> None:
    try:
        raise StorageUnavailableError(f"first line postgresql://app:{SECRET}@db/app\nsecond")
    except StorageUnavailableError:
        log.exception("it broke")


def test_a_text_line_is_one_line_with_the_logger_name_and_no_password(
    persist_log: io.StringIO,
) -> None:
    log.warning("connecting to %s", f"redis://:{SECRET}@cache:6379/0")
    fail_with_two_lines()
    first, second = lines(persist_log)
    assert " WARNING persistence.tests: connecting to redis://***@cache:6379/0" in first
    assert first[:4].isdigit() and "T" in first.split(" ")[0]  # an ISO time first
    assert " ERROR persistence.tests: it broke [StorageUnavailableError: " in second
    assert second.endswith("first line postgresql://***@db/app | second]")
    assert SECRET not in persist_log.getvalue()


def test_json_lines_on_request(json_log: io.StringIO) -> None:
    log.info("hello %s", "world")
    fail_with_two_lines()
    hello, broke = (json.loads(line) for line in json_log.getvalue().splitlines())
    assert hello.keys() == {"time", "level", "logger", "message"}
    assert (hello["level"], hello["logger"], hello["message"]) == (
        "INFO",
        "persistence.tests",
        "hello world",
    )
    assert broke["error"].startswith("StorageUnavailableError: Storage unavailable: first")
    assert "Traceback" in broke["traceback"]
    assert SECRET not in json_log.getvalue()


def test_an_unknown_log_format_is_a_clear_error(make_store: StoreFactory) -> None:
    defaults = dataclasses.asdict(get_settings())
    with pytest.raises(ConfigurationError, match="log_format must be 'text' or 'json'"):
        build_settings(defaults, {"log_format": "xml"})
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("PERSIST_LOG_FORMAT", "xml")
        status, out, err = run_persist(make_store, "list")
    assert (status, out) == (2, "")
    assert err.count("\n") == 1 and "log_format" in err, err


def test_a_command_against_a_store_that_is_down_prints_one_line(
    make_store: StoreFactory, tmp_path: Path
) -> None:
    # PostgreSQL's pool used to warn about every reconnection attempt first (ten lines).
    url = unreachable_url(make_store.settings.backend, tmp_path)
    status, out, err = run_persist(make_store, "list", url=url)
    assert (status, out) == (3, "")
    assert err.startswith("persist: ") and err.count("\n") == 1, err


def test_an_outage_is_logged_once_and_so_is_the_recovery(
    app_storage: StoreFactory,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    persist_log: io.StringIO,
) -> None:
    import streamlit as st

    from persistence.binding import server_health, server_storage

    def switch_to(url: str) -> None:  # the server restarted on another URL, say
        monkeypatch.setenv("PERSIST_STORAGE_URL", url)
        get_settings.cache_clear()
        st.cache_resource.clear()

    server_health.cache_clear()  # a server that starts now
    switch_to(unreachable_url(app_storage.backend, tmp_path))
    try:
        for _ in range(2):  # a rerun, then a readiness probe: JSON and SQLite fail to open
            with pytest.raises(StorageUnavailableError):
                touch(server_storage())
        assert not server_health().available
        switch_to(app_storage.url)  # the store is back
        touch(server_storage())
        touch(server_storage())
    finally:
        stop_expiry()  # the thread the server's store started
    outage, recovery = lines(persist_log, OBSERVED)
    store = f"persistence.storage.observed: The {app_storage.backend} store"
    assert f" ERROR {store} is unavailable: " in outage
    assert f" WARNING {store} answers again, after " in recovery
    assert server_health().available


def sample(metrics: StoreMetrics, name: str, **labels: str) -> float | None:
    return metrics.registry.get_sample_value(name, {"backend": metrics.backend, **labels})


def test_saves_outages_and_failed_saves_are_counted_and_logged(
    make_store: StoreFactory, persist_log: io.StringIO
) -> None:
    metrics = StoreMetrics(make_store.backend, CollectorRegistry())
    health = StoreHealth(make_store.backend, metrics)
    observed = ObservedStorage(make_store(), health)
    observed.create_process("p")
    revision_check = observed.process_revision("p")  # no save: counts nothing
    observed.update_process("p", {"persist_owner": "Ann"})
    observed.save_process("p", {"persist_owner": "Bea"})
    assert revision_check == 1
    assert sample(metrics, "persist_saves_total") == 2
    assert sample(metrics, "persist_save_seconds_count") == 2
    with pytest.raises(ProcessNotFoundError):  # deleted elsewhere: the app's business
        observed.update_process("gone", {"persist_owner": "Cy"})
    assert lines(persist_log) == []
    with pytest.raises(UnstorableValueError):  # what no code should try: logged
        observed.update_process("p", {"persist_owner": object()})
    (failed,) = lines(persist_log)
    assert " WARNING persistence.storage.observed: A save failed " in failed
    assert sample(metrics, "persist_saves_total") == 2
    for reason in ("ProcessNotFoundError", "UnstorableValueError"):
        assert sample(metrics, "persist_save_failures_total", reason=reason) == 1
    assert sample(metrics, "persist_save_seconds_count") == 4
    assert sample(metrics, "persist_storage_up") == 1
    health.unavailable(StorageUnavailableError("down"))
    health.unavailable(StorageUnavailableError("still down"))
    assert sample(metrics, "persist_storage_up") == 0
    assert observed.process_revision("p") == 3  # created, updated, saved
    assert sample(metrics, "persist_storage_outages_total") == 1
    assert sample(metrics, "persist_storage_up") == 1


def test_expiry_runs_and_migrations_are_logged(
    make_store: StoreFactory, persist_log: io.StringIO
) -> None:
    store = make_store()
    assert ExpiryJanitor(store).run_if_due() == []
    store.save_process("p", {"persist_progress": 0.5})

    def as_percent(state: State) -> State:
        return {**state, "persist_progress": state["persist_progress"] * 100}

    migrating = MigratingStorage(store, AppMigrations("main", (Migration("percent", as_percent),)))
    snapshot = migrating.read_process("p")
    assert snapshot is not None and snapshot.state["persist_progress"] == 50
    expiry_run, migrated = lines(persist_log)
    assert "INFO persistence.expiry: Expiry run: 0 expired process(es) purged" in expiry_run
    assert "INFO persistence.migrations: Migrated process 'p' of main: percent" in migrated
