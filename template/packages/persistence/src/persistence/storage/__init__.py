"""Storage: one contract, one small module per backend, and ``open_storage`` to pick one.

``contract.py`` is the public contract; ``base.py`` what every backend derives from its
primitives; ``delegating.py`` the base of stores that wrap another (``scoped.py``).
"""

from __future__ import annotations

import importlib
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

from persistence.backends import BACKENDS
from persistence.errors import ConfigurationError
from persistence.models import Clock
from persistence.settings import Settings, get_settings
from persistence.storage.base import redact
from persistence.storage.contract import BackendFactory, StorageInterface

__all__ = ["StorageInterface", "backend_of", "open_storage", "utc_now"]

# URL scheme -> backend (persistence/backends.json); backend ``b`` lives in
# ``persistence.storage.b_store``, whose ``open_store`` is a ``BackendFactory``. A project
# renders only its own backend's module.
SCHEMES = {scheme: backend.name for backend in BACKENDS.values() for scheme in backend.schemes}


def utc_now() -> datetime:
    return datetime.now(UTC)


def backend_of(url: str) -> str:
    """The backend a storage URL names (a URL without a scheme is a JSON folder)."""
    try:
        scheme = urlsplit(url).scheme.lower() if "://" in url else "json"
    except ValueError as error:  # an unclosed "[" of an IPv6 address, say
        raise ConfigurationError(
            f"The storage URL {redact(url)} cannot be read: {error}."
        ) from None
    if scheme not in SCHEMES:
        raise ConfigurationError(
            f"Unknown storage URL scheme {scheme!r} in {redact(url)!r}; use one of: "
            + ", ".join(sorted(SCHEMES))
        )
    return SCHEMES[scheme]


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
    backend = backend_of(url)
    try:
        module = importlib.import_module(f"persistence.storage.{backend}_store")
    except ModuleNotFoundError:
        raise ConfigurationError(
            f"This project was generated for the {settings.backend!r} backend and has no "
            f"{backend!r} backend. Switch with `copier update --data backend={backend}`."
        ) from None
    open_store: BackendFactory = module.open_store
    return open_store(
        url,
        retention=retention or settings.retention,
        namespace=settings.namespace,
        clock=clock,
    )
