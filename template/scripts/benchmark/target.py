"""Where the benchmark measures: a temporary store, or a fresh place beside a given one."""

from __future__ import annotations

import contextlib
import dataclasses
import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from persistence.backends import BACKENDS
from persistence.settings import default_storage_url, get_settings
from persistence.storage import StorageInterface, backend_of, open_storage
from persistence.storage.base import url_path

# Backends that live on a server (persistence/backends.json): the benchmark works there in a
# namespace of its own, and the environment variable the tests use names the server when no
# URL is given.
SERVERS = {name: backend.server.env for name, backend in BACKENDS.items() if backend.server}


@dataclasses.dataclass(frozen=True)
class Target:
    backend: str
    url: str
    # Redis: this run's own key prefix; PostgreSQL: its own schema; JSON and SQLite: the
    # folder is the namespace.
    namespace: str
    workdir: Path  # deleted when the run ends

    def store(self, url: str | None = None, namespace: str | None = None) -> StorageInterface:
        settings = dataclasses.replace(
            get_settings(), storage_url=url or self.url, namespace=namespace or self.namespace
        )
        return open_storage(settings=settings)

    def listing_store(self, name: str = "listing") -> StorageInterface:
        """A separate store of its own: one listing scenario's processes, or a baseline
        that must share nothing with the processes it is compared with."""
        url, namespace = self.listing_location(name)
        return self.store(url=url, namespace=namespace)

    def listing_location(self, name: str = "listing") -> tuple[str, str]:
        """``(url, namespace)`` of ``listing_store(name)``, for an app pointed at it."""
        if self.backend in SERVERS:
            return self.url, f"{self.namespace}-{name}"
        return default_storage_url(self.backend, self.workdir / name), self.namespace


@contextlib.contextmanager
def bench_target(url: str | None) -> Iterator[Target]:
    """Where to measure: a temporary store, or a fresh place beside the one ``url`` names
    (JSON and SQLite: a ``.bench-*`` folder on the same disk; Redis and PostgreSQL: the same
    server, in a namespace or schema of the run's own)."""
    settings = get_settings()
    backend = backend_of(url) if url else settings.backend
    parent = url_path(url).resolve().parent if url and backend not in SERVERS else None
    if parent is not None:
        parent.mkdir(parents=True, exist_ok=True)
    workdir = Path(tempfile.mkdtemp(prefix=".bench-", dir=parent))
    if backend in SERVERS:
        store_url = url or os.environ.get(SERVERS[backend]) or settings.storage_url
        if backend == "postgres":
            store_url = _without_schema(store_url)  # the run's schema is its namespace
    else:
        store_url = default_storage_url(backend, workdir)
    try:
        yield Target(backend, store_url, f"bench-{uuid.uuid4().hex[:12]}", workdir)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def _without_schema(url: str) -> str:
    """``url`` without a PostgreSQL ``?schema=``, which would win over the run's namespace
    and put the benchmark's processes among yours."""
    parts = urlsplit(url)
    query = "&".join(item for item in parts.query.split("&") if not item.startswith("schema="))
    return urlunsplit(parts._replace(query=query))
