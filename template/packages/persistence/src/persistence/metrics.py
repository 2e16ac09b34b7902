"""Prometheus metrics of the persistence layer, served by the app's ``/_persist/metrics``
route (``persistence.web``) when the ``metrics`` setting is on (``PERSIST_METRICS=true``).

``persist_saves_total``, ``persist_save_failures_total`` (by ``reason``: the error's class),
``persist_save_seconds`` (a histogram), ``persist_storage_outages_total`` and
``persist_storage_up``, each labelled with the ``backend``; ``persist_sessions``, the
browser sessions this server holds; and the ``process_*`` metrics of the server process.

What counts is the server's store (``persistence.storage.observed``): one counter increment
and one histogram observation per save, nothing on a rerun that saves nothing. With the
setting off, ``prometheus_client`` is never imported and nothing is counted.

The metrics sit in a registry of their own, not ``prometheus_client``'s global one: the
route shows these, and an app that registers metrics of its own keeps them apart.
"""

from __future__ import annotations

import math
from functools import cache
from typing import TYPE_CHECKING

from persistence.settings import get_settings

if TYPE_CHECKING:
    from prometheus_client import CollectorRegistry

# Seconds: a local JSON or Redis save takes about a millisecond, a remote PostgreSQL a few.
SAVE_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


def open_sessions() -> float:
    """The browser sessions of this Streamlit server (NaN outside a server). Streamlit has
    no public count: its session manager is read, as its own stats provider does."""
    from streamlit.runtime import Runtime

    if not Runtime.exists():
        return math.nan
    manager = getattr(Runtime.instance(), "_session_mgr", None)
    count = getattr(manager, "num_active_sessions", None)
    return float(count()) if callable(count) else math.nan


class StoreMetrics:
    """The counters of one backend's store, in ``registry``."""

    def __init__(self, backend: str, registry: CollectorRegistry) -> None:
        from prometheus_client import Counter, Gauge, Histogram

        self.registry = registry
        labels = {"backend": backend}
        self._saves = Counter(
            "persist_saves", "Saves written to the store.", ["backend"], registry=registry
        ).labels(**labels)
        self._failures = Counter(
            "persist_save_failures",
            "Saves the store did not take, by the error's class.",
            ["backend", "reason"],
            registry=registry,
        )
        self._save_seconds = Histogram(
            "persist_save_seconds",
            "Seconds from a save's call to the store's answer (failed saves included).",
            ["backend"],
            buckets=SAVE_BUCKETS,
            registry=registry,
        ).labels(**labels)
        self._outages = Counter(
            "persist_storage_outages",
            "Times the store stopped answering after it had answered.",
            ["backend"],
            registry=registry,
        ).labels(**labels)
        self._up = Gauge(
            "persist_storage_up",
            "1 while the store answers, 0 from a failed call to the next answered one.",
            ["backend"],
            registry=registry,
        ).labels(**labels)
        self._up.set(1)
        self.backend = backend
        Gauge(
            "persist_sessions", "Browser sessions this server holds.", registry=registry
        ).set_function(open_sessions)

    def saved(self, seconds: float) -> None:
        self._saves.inc()
        self._save_seconds.observe(seconds)

    def save_failed(self, seconds: float, error: BaseException) -> None:
        self._failures.labels(backend=self.backend, reason=type(error).__name__).inc()
        self._save_seconds.observe(seconds)

    def outage(self) -> None:
        self._outages.inc()
        self._up.set(0)

    def recovered(self) -> None:
        self._up.set(1)


@cache
def _store_metrics(backend: str) -> StoreMetrics:
    from prometheus_client import CollectorRegistry, ProcessCollector

    registry = CollectorRegistry()
    ProcessCollector(registry=registry)
    return StoreMetrics(backend, registry)


def server_metrics() -> StoreMetrics | None:
    """This server process's metrics, or ``None`` when the ``metrics`` setting is off."""
    settings = get_settings()
    return _store_metrics(settings.backend) if settings.metrics else None


def exposition(metrics: StoreMetrics) -> tuple[bytes, str]:
    """The metrics in Prometheus' text format, and its content type."""
    from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

    return generate_latest(metrics.registry), CONTENT_TYPE_LATEST
