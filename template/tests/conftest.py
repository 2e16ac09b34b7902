"""Fixtures shared by every test: a real store per backend, an injectable clock, the app."""

from __future__ import annotations

import dataclasses
import importlib.util
import socket
import uuid
from collections.abc import Callable, Iterator
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

# Only a Redis project has (and needs) the redis package and its fixtures.
pytest_plugins = ["tests.redis_fixtures"] if "redis" in BACKENDS else []


def free_port() -> int:
    """A TCP port nobody listens on right now, for a server of the tests' own."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


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
    drop_namespace: Callable[[str, str], None] | None = None
    if backend == "json":
        url = f"json:///{tmp_path}/processes"
    elif backend == "sqlite":
        url = f"sqlite:///{tmp_path}/state.db"
    else:
        url = request.getfixturevalue("redis_url")
        # Requested now: pytest deprecates asking for a fixture during teardown.
        drop_namespace = request.getfixturevalue("drop_redis_namespace")
    settings = dataclasses.replace(
        get_settings(), backend=backend, storage_url=url, namespace=namespace
    )
    yield StoreFactory(backend, settings)
    if drop_namespace is not None:
        drop_namespace(url, namespace)


@pytest.fixture
def store(make_store: StoreFactory, clock: FakeClock) -> Iterator[StorageInterface]:
    opened = make_store(clock)
    yield opened
    opened.close()


@pytest.fixture
def app_storage(
    make_store: StoreFactory, monkeypatch: pytest.MonkeyPatch
) -> Iterator[StoreFactory]:
    """Point the app at an isolated store, as a deployment would with environment variables."""
    import streamlit as st

    monkeypatch.setenv("PERSIST_STORAGE_URL", make_store.url)
    monkeypatch.setenv("PERSIST_NAMESPACE", make_store.settings.namespace)
    # Shared scope whatever the project's answer: tests/test_per_user.py covers per_user.
    monkeypatch.setenv("PERSIST_PROCESS_SCOPE", "shared")
    get_settings.cache_clear()
    st.cache_resource.clear()
    yield make_store
    get_settings.cache_clear()
    st.cache_resource.clear()
