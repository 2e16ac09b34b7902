"""Readiness: ``persist ping`` and the app's ``/_persist/ready`` route see the store, answer
within their timeout, and tell "down" from "misconfigured" by exit status. On the same
servers: the ``/_persist/metrics`` route, and the log line of an outage."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from persistence.cli import EXIT_DATA, EXIT_OK, EXIT_UNAVAILABLE
from persistence.health import within
from scripts.loadtest.tab import Tab
from tests.conftest import PROJECT_ROOT, StoreFactory, free_port
from tests.test_cli import run_persist

pytestmark = pytest.mark.persistence

SERVE = PROJECT_ROOT / "apps" / "main" / "serve.py"
START_TIMEOUT = 60.0


def unreachable_url(backend: str, tmp_path: Path) -> str:
    """A storage URL of ``backend`` that cannot be reached: no server on the port, or a data
    path below a regular file."""
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("", encoding="utf-8")
    return {
        "json": f"json:///{blocker}/processes",
        "sqlite": f"sqlite:///{blocker}/state.db",
        "redis": f"redis://127.0.0.1:{free_port()}/0",
        "postgres": f"postgresql://postgres@127.0.0.1:{free_port()}/test",
    }[backend]


def test_ping_is_silent_and_succeeds_when_the_store_answers(make_store: StoreFactory) -> None:
    assert run_persist(make_store, "ping") == (EXIT_OK, "", "")


def test_ping_against_a_store_that_is_down_is_one_line_and_exit_3(
    make_store: StoreFactory, tmp_path: Path
) -> None:
    url = unreachable_url(make_store.settings.backend, tmp_path)
    status, out, err = run_persist(make_store, "ping", "--timeout", "10", url=url)
    assert status == EXIT_UNAVAILABLE, err
    assert out == ""
    assert err.startswith("persist: ") and err.count("\n") == 1, err


def test_ping_with_a_bad_url_is_a_usage_error(make_store: StoreFactory) -> None:
    status, _, err = run_persist(make_store, "ping", url="mongodb://somewhere/x")
    assert status == EXIT_DATA, err


def test_a_probe_that_hangs_is_not_ready_once_the_timeout_passes() -> None:
    release = threading.Event()
    try:
        readiness = within(release.wait, timeout=0.2)
    finally:
        release.set()
    assert not readiness.ready
    assert isinstance(readiness.error, TimeoutError)
    assert "no answer within 0.2 s" in readiness.detail


def _get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=15) as response:
            return int(response.status), response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


@pytest.fixture
def serve(make_store: StoreFactory, tmp_path: Path) -> Iterator[tuple[str, str]]:
    """``streamlit run apps/main/serve.py`` (what the image runs) on a store that answers and
    on one that is down: ``(url of the first, url of the second)``. The first has metrics on
    (and shared processes: a simulated tab cannot sign in), the second JSON log lines."""
    urls = [make_store.url, unreachable_url(make_store.settings.backend, tmp_path)]
    own_settings = [
        {"PERSIST_METRICS": "true", "PERSIST_PROCESS_SCOPE": "shared"},
        {"PERSIST_LOG_FORMAT": "json"},
    ]
    processes, bases = [], []
    try:
        for number, (storage_url, own) in enumerate(zip(urls, own_settings, strict=True)):
            port = free_port()
            env = {
                **os.environ,
                **own,
                "PERSIST_STORAGE_URL": storage_url,
                "PERSIST_NAMESPACE": make_store.settings.namespace,
                "PERSIST_READY_TIMEOUT": "5",
                "STREAMLIT_BROWSER_GATHER_USAGE_STATS": "false",
            }
            command = [
                sys.executable,
                "-m",
                "streamlit",
                "run",
                str(SERVE),
                "--server.port",
                str(port),
                "--server.address",
                "127.0.0.1",
                "--server.headless",
                "true",
            ]
            with (tmp_path / f"serve-{number}.log").open("ab") as log:
                processes.append(
                    subprocess.Popen(
                        command, cwd=PROJECT_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
                    )
                )
            bases.append(f"http://127.0.0.1:{port}")
        for process, base in zip(processes, bases, strict=True):
            deadline = time.monotonic() + START_TIMEOUT
            while True:
                try:
                    if _get(f"{base}/_stcore/health")[0] == 200:
                        break
                except OSError:
                    pass
                assert process.poll() is None and time.monotonic() < deadline, "no server"
                time.sleep(0.2)
        yield bases[0], bases[1]
    finally:
        for process in processes:
            process.terminate()
            process.wait(timeout=20)


def logged_events(log: Path) -> list[dict[str, str]]:
    """The persistence layer's JSON lines among everything a server printed."""
    lines = log.read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.startswith('{"time"')]


def metric_values(base: str) -> dict[str, float]:
    status, text = _get(f"{base}/_persist/metrics")
    assert status == 200, text
    return {
        sample.name: sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if not sample.name.endswith("_bucket")
    }


async def edit_once(base: str, process: str) -> tuple[dict[str, float], dict[str, float]]:
    """A simulated tab opens ``process`` (the app migrates it: a save), then edits the
    report's first field: the metrics after each."""
    tab = Tab(base, process, timeout=30.0)
    try:
        await tab.open()
        opened = await asyncio.to_thread(metric_values, base)
        await tab.rerun()  # a rerun that changes nothing saves nothing
        await tab.edit("persist_owner", "Ann")
        return opened, await asyncio.to_thread(metric_values, base)
    finally:
        await tab.close()


@pytest.mark.slow
def test_the_ready_route_follows_the_store_and_liveness_does_not(
    serve: tuple[str, str], tmp_path: Path
) -> None:
    up, down = serve
    assert _get(f"{up}/_persist/ready") == (200, "ok")
    assert _get(f"{down}/_stcore/health")[0] == 200  # alive ...
    for _ in range(2):
        status, reason = _get(f"{down}/_persist/ready")  # ... but not ready
        assert status == 503, reason
    assert reason and "\n" not in reason
    assert "password" not in reason.lower()
    # The outage is one line of the package's logger, however many probes fail.
    events = logged_events(tmp_path / "serve-1.log")
    assert all(event["logger"].startswith("persistence.") for event in events), events
    outages = [e for e in events if e["logger"] == "persistence.storage.observed"]
    assert [e["level"] for e in outages] == ["ERROR"], events
    assert "unavailable" in outages[0]["message"]


@pytest.mark.slow
def test_the_metrics_route_counts_a_save_and_is_404_unless_turned_on(
    serve: tuple[str, str], make_store: StoreFactory
) -> None:
    up, down = serve
    assert _get(f"{down}/_persist/metrics")[0] == 404
    make_store().create_process("metrics")
    assert metric_values(up)["persist_storage_up"] == 1
    opened, edited = asyncio.run(edit_once(up, "metrics"))
    assert edited["persist_saves_total"] == opened["persist_saves_total"] + 1
    assert edited["persist_save_seconds_count"] == opened["persist_save_seconds_count"] + 1
    assert edited["persist_sessions"] >= 1
    assert edited["persist_storage_outages_total"] == 0
    assert "process_resident_memory_bytes" in edited
