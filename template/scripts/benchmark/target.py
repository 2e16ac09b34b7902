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

from persistence.settings import default_storage_url, get_settings
from persistence.storage import StorageInterface, backend_of, open_storage
from persistence.storage.base import url_path


@dataclasses.dataclass(frozen=True)
class Target:
    backend: str
    url: str
    namespace: str  # Redis: this run's own; JSON and SQLite: the folder is the namespace
    workdir: Path  # deleted when the run ends

    def store(self, url: str | None = None, namespace: str | None = None) -> StorageInterface:
        settings = dataclasses.replace(
            get_settings(), storage_url=url or self.url, namespace=namespace or self.namespace
        )
        return open_storage(settings=settings)

    def listing_store(self, name: str = "listing") -> StorageInterface:
        """A separate store holding only one listing scenario's processes."""
        url, namespace = self.listing_location(name)
        return self.store(url=url, namespace=namespace)

    def listing_location(self, name: str = "listing") -> tuple[str, str]:
        """``(url, namespace)`` of ``listing_store(name)``, for an app pointed at it."""
        if self.backend == "redis":
            return self.url, f"{self.namespace}-{name}"
        return default_storage_url(self.backend, self.workdir / name), self.namespace


@contextlib.contextmanager
def bench_target(url: str | None) -> Iterator[Target]:
    """Where to measure: a temporary store, or a fresh place beside the one ``url`` names
    (JSON and SQLite: a ``.bench-*`` folder on the same disk; Redis: the same server)."""
    settings = get_settings()
    backend = backend_of(url) if url else settings.backend
    parent = url_path(url).resolve().parent if url and backend != "redis" else None
    if parent is not None:
        parent.mkdir(parents=True, exist_ok=True)
    workdir = Path(tempfile.mkdtemp(prefix=".bench-", dir=parent))
    if backend == "redis":
        store_url = url or os.environ.get("REDIS_URL") or settings.storage_url
    else:
        store_url = default_storage_url(backend, workdir)
    try:
        yield Target(backend, store_url, f"bench-{uuid.uuid4().hex[:12]}", workdir)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
