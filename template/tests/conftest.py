"""Fixtures shared by every test: a real store per backend, an injectable clock, the app."""

from __future__ import annotations

import contextlib
import dataclasses
import importlib.util
import io
import logging
import signal
import socket
import threading
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from persistence.backends import BACKENDS as ALL_BACKENDS
from persistence.logs import configure_logging
from persistence.models import Clock
from persistence.settings import Settings, default_storage_url, get_settings
from persistence.storage import StorageInterface, open_storage
from persistence.storage.scoped import ScopedStorage
from tests.medium import Medium

PROJECT_ROOT = Path(__file__).resolve().parents[1]
# The backends whose store this project has: its own (persistence/backends.json lists all).
BACKENDS = [
    name
    for name in ALL_BACKENDS
    if importlib.util.find_spec(f"persistence.storage.{name}_store") is not None
]

# Only a backend that is a server has (and needs) its client package and its fixtures.
pytest_plugins = [server.fixtures for name in BACKENDS if (server := ALL_BACKENDS[name].server)]


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
    """Opens stores on one isolated location (folder, database file, Redis namespace or
    PostgreSQL schema).

    With an ``owner``, each store is that user's per-user view (``ScopedStorage``) of it.
    """

    backend: str
    settings: Settings
    owner: str | None = None
    # Every backend store opened, closed when the test ends: a per-user view leaves its
    # store open on close() (in an app, the store is shared by every user).
    opened: list[StorageInterface] = dataclasses.field(default_factory=list)

    def __call__(self, clock: Clock | None = None, **changes: object) -> StorageInterface:
        settings = dataclasses.replace(self.settings, **changes)  # type: ignore[arg-type]
        if clock is None:
            store = open_storage(settings=settings)
        else:
            store = open_storage(settings=settings, clock=clock)
        self.opened.append(store)
        return store if self.owner is None else ScopedStorage(store, self.owner)

    def close_all(self) -> None:
        for store in self.opened:
            store.close()

    @property
    def url(self) -> str:
        return self.settings.storage_url


@pytest.fixture(params=BACKENDS)
def make_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[StoreFactory]:
    backend: str = request.param
    namespace = f"test-{uuid.uuid4().hex[:12]}"
    drop_namespace: Callable[[str, str], None] | None = None
    if server := ALL_BACKENDS[backend].server:
        # A Redis key prefix or a PostgreSQL schema on the server the fixtures provide.
        url = request.getfixturevalue(server.url_fixture)
        # Requested now: pytest deprecates asking for a fixture during teardown.
        drop_namespace = request.getfixturevalue(server.drop_fixture)
    else:
        url = default_storage_url(backend, tmp_path)
    settings = dataclasses.replace(
        get_settings(), backend=backend, storage_url=url, namespace=namespace
    )
    factory = StoreFactory(backend, settings)
    yield factory
    factory.close_all()
    if drop_namespace is not None:
        drop_namespace(url, namespace)


@pytest.fixture
def store(make_store: StoreFactory, clock: FakeClock) -> Iterator[StorageInterface]:
    opened = make_store(clock)
    yield opened
    opened.close()


@pytest.fixture
def medium(make_store: StoreFactory) -> Medium:
    """The medium of ``make_store``'s stores, to read or damage behind their back: the class
    the backend's entry names (``tests/<backend>_medium.py``, rendered only for it)."""
    module, _, name = ALL_BACKENDS[make_store.backend].medium.rpartition(".")
    medium_class: type[Medium] = getattr(importlib.import_module(module), name)
    return medium_class(make_store)


@pytest.fixture(scope="session", autouse=True)
def components_scanned_once() -> Iterator[None]:
    """Each new AppTest looks for Streamlit components in the metadata of every installed
    package (tens of milliseconds of CPU; a third of what the app tests cost). Nothing is
    installed during a test run, so one look serves them all: the app sees the same
    components. A Streamlit without that scan (other versions) is left as it is."""
    try:
        from streamlit.components.v2 import manifest_scanner
    except ImportError:
        yield
        return
    scan = getattr(manifest_scanner, "scan_component_manifests", None)
    if scan is None:
        yield
        return
    found = scan()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(manifest_scanner, "scan_component_manifests", lambda *_, **__: list(found))
        yield


@pytest.fixture
def app_storage(
    make_store: StoreFactory, monkeypatch: pytest.MonkeyPatch
) -> Iterator[StoreFactory]:
    """Point the app at an isolated store, as a deployment would with environment variables."""
    import streamlit as st

    # The app's own stores are closed with the test's: clearing Streamlit's cache only drops
    # them, and a PostgreSQL store would keep its pooled connection until collected.
    def recorded(*args: Any, **kwargs: Any) -> StorageInterface:
        store = open_storage(*args, **kwargs)
        make_store.opened.append(store)
        return store

    monkeypatch.setattr("persistence.binding.open_storage", recorded)
    monkeypatch.setenv("PERSIST_STORAGE_URL", make_store.url)
    monkeypatch.setenv("PERSIST_NAMESPACE", make_store.settings.namespace)
    # Shared scope whatever the project's answer: tests/test_per_user.py covers per_user.
    monkeypatch.setenv("PERSIST_PROCESS_SCOPE", "shared")
    get_settings.cache_clear()
    st.cache_resource.clear()
    yield make_store
    get_settings.cache_clear()
    st.cache_resource.clear()


@contextlib.contextmanager
def hang_guard(seconds: float) -> Iterator[None]:
    """Fail instead of hanging when the block has not ended after ``seconds`` (a guard for
    decoders that could take forever, not a timed assertion: the limit is far above what
    the block needs). SIGALRM on the main thread; elsewhere (no signals) no guard."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def expired(signum: int, frame: object) -> None:
        raise TimeoutError(f"still running after {seconds} s: a decoder that never ends?")

    previous = signal.signal(signal.SIGALRM, expired)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


@pytest.fixture
def persist_log() -> Iterator[io.StringIO]:
    """What the persistence layer logs during the test, from INFO up, as it would print it
    (its logger does not propagate to the root logger, where pytest's caplog listens)."""
    stream = io.StringIO()
    configure_logging(logging.INFO, stream)
    yield stream
    configure_logging(logging.INFO)
