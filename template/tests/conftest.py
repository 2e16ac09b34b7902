"""Fixtures shared by every test: a real store per backend, an injectable clock, the app."""

from __future__ import annotations

import dataclasses
import importlib.util
import os
import shutil
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from persistence.models import Clock
from persistence.settings import Settings, get_settings
from persistence.storage import StorageInterface, open_storage

PROJECT_ROOT = Path(__file__).resolve().parents[1]
BACKENDS = [
    backend
    for backend in ("json", "sqlite", "redis")
    if importlib.util.find_spec(f"persistence.storage.{backend}_store") is not None
]


class FakeClock:
    """A clock that moves only when told: retention is tested without sleeping."""

    def __init__(self) -> None:
        self.now = datetime(2025, 1, 6, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _redis_answers(url: str) -> bool:
    import redis

    try:
        return bool(redis.Redis.from_url(url, socket_connect_timeout=1).ping())
    except redis.RedisError:
        return False


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    """``REDIS_URL`` when set, else a throwaway ``redis-server`` from PATH, else a skip."""
    if url := os.environ.get("REDIS_URL"):
        yield url
        return
    server = shutil.which("redis-server")
    if server is None:
        pytest.skip("no Redis: set REDIS_URL or put redis-server on PATH")
    port = _free_port()
    process = subprocess.Popen(  # noqa: S603
        [server, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
    )
    url = f"redis://127.0.0.1:{port}/0"
    deadline = time.monotonic() + 10
    while not _redis_answers(url):
        if time.monotonic() > deadline:
            process.kill()
            pytest.fail(f"redis-server on port {port} did not start")
        time.sleep(0.05)
    yield url
    process.terminate()
    process.wait(timeout=10)


def _drop_namespace(url: str, namespace: str) -> None:
    import redis

    client = redis.Redis.from_url(url)
    keys = list(client.scan_iter(match=f"{namespace}:*", count=1000))
    if keys:
        client.delete(*keys)
    client.close()


@dataclasses.dataclass
class StoreFactory:
    """Opens stores on one isolated location (folder, database file or Redis namespace)."""

    backend: str
    settings: Settings

    def __call__(self, clock: Clock | None = None, **changes: object) -> StorageInterface:
        settings = dataclasses.replace(self.settings, **changes)  # type: ignore[arg-type]
        if clock is None:
            return open_storage(settings=settings)
        return open_storage(settings=settings, clock=clock)

    @property
    def url(self) -> str:
        return self.settings.storage_url


@pytest.fixture(params=BACKENDS)
def make_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[StoreFactory]:
    backend: str = request.param
    namespace = f"test-{uuid.uuid4().hex[:12]}"
    if backend == "json":
        url = f"json:///{tmp_path}/processes"
    elif backend == "sqlite":
        url = f"sqlite:///{tmp_path}/state.db"
    else:
        url = request.getfixturevalue("redis_url")
    settings = dataclasses.replace(
        get_settings(), backend=backend, storage_url=url, namespace=namespace
    )
    yield StoreFactory(backend, settings)
    if backend == "redis":
        _drop_namespace(url, namespace)


@pytest.fixture
def store(make_store: StoreFactory, clock: FakeClock) -> Iterator[StorageInterface]:
    opened = make_store(clock)
    yield opened
    opened.close()


@pytest.fixture
def app_storage(make_store: StoreFactory, monkeypatch: pytest.MonkeyPatch) -> Iterator[StoreFactory]:
    """Point the app at an isolated store, as a deployment would with environment variables."""
    import streamlit as st

    monkeypatch.setenv("PERSIST_STORAGE_URL", make_store.url)
    monkeypatch.setenv("PERSIST_NAMESPACE", make_store.settings.namespace)
    get_settings.cache_clear()
    st.cache_resource.clear()
    yield make_store
    get_settings.cache_clear()
    st.cache_resource.clear()


