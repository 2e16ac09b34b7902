"""Readiness: whether the store answers, checked cheaply and within a timeout.

Used by ``persist ping`` (Docker and compose health checks) and by the app's
``/_persist/ready`` route (Kubernetes' readiness probe). Liveness stays Streamlit's own
``/_stcore/health``: a replica whose store is down is alive, only not ready for traffic.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass

from persistence.storage import StorageInterface

# A name no process has (nor can be created with: it is read only): one key read, no listing.
PROBE_NAME = "__readiness_probe__"
DEFAULT_TIMEOUT = 3.0


@dataclass(frozen=True, slots=True)
class Readiness:
    """The probe's answer: ``error`` is what the store raised (``None`` when ready, or a
    ``TimeoutError`` when it gave no answer in time)."""

    error: BaseException | None

    @property
    def ready(self) -> bool:
        return self.error is None

    @property
    def detail(self) -> str:
        return "ok" if self.error is None else " ".join(str(self.error).splitlines())


def within(probe: Callable[[], object], timeout: float = DEFAULT_TIMEOUT) -> Readiness:
    """Run ``probe`` in a helper thread and wait at most ``timeout`` seconds for it.

    A thread rather than a client timeout: every backend's client blocks differently (a
    locked SQLite file, a Redis or PostgreSQL server that accepts and never answers), and
    a probe must answer in time whatever the client does. A hung probe is abandoned (a
    daemon thread) and reported as not ready."""
    outcome: list[Readiness] = []

    def run() -> None:
        try:
            probe()
        except Exception as error:  # noqa: BLE001 - any failure of the store means not ready
            outcome.append(Readiness(error))
        else:
            outcome.append(Readiness(None))

    worker = threading.Thread(target=run, name="persist-readiness", daemon=True)
    worker.start()
    worker.join(timeout)
    if not outcome:
        return Readiness(TimeoutError(f"Storage unavailable: no answer within {timeout:g} s."))
    return outcome[0]


def touch(store: StorageInterface) -> None:
    """The cheapest read every backend has: one process's revision (a missing one)."""
    store.process_revision(PROBE_NAME)


def check_store(store: StorageInterface, timeout: float = DEFAULT_TIMEOUT) -> Readiness:
    return within(lambda: touch(store), timeout)
