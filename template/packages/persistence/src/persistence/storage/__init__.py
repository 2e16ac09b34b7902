"""Storage: one contract, one small module per backend, and ``open_storage`` to pick one."""

from __future__ import annotations

import importlib
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

from persistence.errors import ConfigurationError
from persistence.models import Clock
from persistence.settings import Settings, get_settings
from persistence.storage.contract import StorageInterface

__all__ = ["StorageInterface", "open_storage", "utc_now"]

# URL scheme -> (module, backend name). A project renders only its own backend's module.
_SCHEMES = {
    "json": ("persistence.storage.json_store", "json"),
    "file": ("persistence.storage.json_store", "json"),
    "sqlite": ("persistence.storage.sqlite_store", "sqlite"),
    "redis": ("persistence.storage.redis_store", "redis"),
    "rediss": ("persistence.storage.redis_store", "redis"),
    "unix": ("persistence.storage.redis_store", "redis"),
}


def utc_now() -> datetime:
    return datetime.now(UTC)


def url_path(url: str) -> Path:
    """The path of ``scheme:///relative`` or ``scheme:////absolute`` (SQLAlchemy's convention)."""
    path = url.split("://", 1)[1] if "://" in url else url
    if path.startswith("/"):
        path = path[1:]
    if not path:
        raise ConfigurationError(f"The storage URL {url!r} names no path.")
    return Path(path)


def open_storage(
    url: str | None = None,
    *,
    settings: Settings | None = None,
    clock: Clock = utc_now,
    retention: timedelta | None = None,
) -> StorageInterface:
    """Open the store that ``url`` names (default: the configured ``PERSIST_STORAGE_URL``)."""
    settings = settings or get_settings()
    url = url or settings.storage_url
    scheme = urlsplit(url).scheme.lower() if "://" in url else "json"
    if scheme not in _SCHEMES:
        raise ConfigurationError(
            f"Unknown storage URL scheme {scheme!r} in {url!r}; use one of: "
            + ", ".join(sorted(_SCHEMES))
        )
    module_name, backend = _SCHEMES[scheme]
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError:
        raise ConfigurationError(
            f"This project was generated for the {settings.backend!r} backend and has no "
            f"{backend!r} backend. Switch with `copier update --data backend={backend}`."
        ) from None
    store: StorageInterface = module.open_store(
        url,
        retention=retention or settings.retention,
        namespace=settings.namespace,
        clock=clock,
    )
    return store
