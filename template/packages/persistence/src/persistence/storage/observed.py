"""The server's store as operations see it (``binding.server_storage`` wraps it once):

- an outage is logged once, when a call fails with ``StorageUnavailableError`` after the
  store had answered, and the recovery once, with the outage's length, at the next call it
  answers (every rerun's revision check, a readiness probe or the expiry thread makes one);
- a save the store did not take is logged (a process deleted or moved on elsewhere is the
  app's business, not an operator's: counted, not logged);
- with metrics on (``persistence.metrics``), each save is counted and timed, and outages
  counted. A call that is no save costs one comparison beside the store's own work.

The outage state is a ``StoreHealth``, one per server process: a store that cannot even be
opened (a JSON folder that cannot be created) is an outage of the same health, logged once
however many reruns and probes try again.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Collection, Mapping, Sequence
from typing import Any, TypeVar

from persistence import codec
from persistence.errors import (
    ProcessNotFoundError,
    RevisionConflictError,
    StorageUnavailableError,
)
from persistence.metrics import StoreMetrics
from persistence.models import ProcessInfo, ProcessRecord, ProcessSnapshot, Revision
from persistence.storage.contract import StorageInterface
from persistence.storage.delegating import DelegatingStorage

log = logging.getLogger(__name__)
Result = TypeVar("Result")
# What a save may meet in normal use: the sync engine and the migrations handle both.
_EXPECTED = (ProcessNotFoundError, RevisionConflictError)


class StoreHealth:
    """Whether a ``backend`` store answers: an outage logged (and counted) when a call fails
    after the store had answered, a recovery when one is answered again."""

    def __init__(self, backend: str, metrics: StoreMetrics | None = None) -> None:
        self.backend = backend
        self.metrics = metrics
        self.down_since: float | None = None
        self._lock = threading.Lock()

    @property
    def available(self) -> bool:
        """Whether the last call the store was asked reached it."""
        return self.down_since is None

    def unavailable(self, error: StorageUnavailableError) -> None:
        with self._lock:
            if self.down_since is not None:
                return
            self.down_since = time.monotonic()
        log.error("The %s store is unavailable: %s", self.backend, error)
        if self.metrics is not None:
            self.metrics.outage()

    def answered(self) -> None:
        with self._lock:
            if self.down_since is None:
                return
            seconds, self.down_since = time.monotonic() - self.down_since, None
        log.warning("The %s store answers again, after %.1f s unavailable", self.backend, seconds)
        if self.metrics is not None:
            self.metrics.recovered()


class ObservedStorage(DelegatingStorage):
    """``inner``, its outages told to ``health`` and its saves counted."""

    def __init__(self, inner: StorageInterface, health: StoreHealth) -> None:
        super().__init__(inner)
        self.health = health
        self.metrics = health.metrics

    # -- saves ---------------------------------------------------------------------------
    def update_process(
        self,
        name: str,
        changed: Mapping[str, Any],
        removed: Collection[str] = (),
        *,
        expected_revision: Revision | None = None,
        encodings: Mapping[str, codec.Encoded] | None = None,
    ) -> Revision:
        return self._save(
            lambda: self.inner.update_process(
                name, changed, removed, expected_revision=expected_revision, encodings=encodings
            )
        )

    def save_process(self, name: str, data: Mapping[str, Any]) -> None:
        self._save(lambda: self.inner.save_process(name, data))

    def _save(self, write: Callable[[], Result]) -> Result:
        started = time.perf_counter()
        try:
            result = self._watched(write)
        except Exception as error:
            if self.metrics is not None:
                self.metrics.save_failed(time.perf_counter() - started, error)
            if not isinstance(error, _EXPECTED):
                log.warning("A save failed (%s store): %s", self.health.backend, error)
            raise
        if self.metrics is not None:
            self.metrics.saved(time.perf_counter() - started)
        return result

    # -- every other call: watched for outages -------------------------------------------
    def _read_stored(self, name: str) -> ProcessSnapshot | None:
        return self._watched(lambda: self.inner.read_process(name, with_history=True))

    def process_revision(self, name: str) -> Revision | None:
        try:
            revision = self.inner.process_revision(name)  # every rerun: no closure
        except StorageUnavailableError as error:
            self.health.unavailable(error)
            raise
        if self.health.down_since is not None:
            self.health.answered()
        return revision

    def create_process(self, name: str) -> ProcessInfo:
        return self._watched(lambda: self.inner.create_process(name))

    def rename_process(self, old: str, new: str) -> None:
        self._watched(lambda: self.inner.rename_process(old, new))

    def copy_process(self, source: str, target: str) -> ProcessInfo:
        return self._watched(lambda: self.inner.copy_process(source, target))

    def delete_process(self, name: str) -> bool:
        return self._watched(lambda: self.inner.delete_process(name))

    def list_processes(self) -> list[ProcessInfo]:
        return self._watched(self.inner.list_processes)

    def list_processes_by_prefix(self, prefix: str) -> list[ProcessInfo]:
        return self._watched(lambda: self.inner.list_processes_by_prefix(prefix))

    def import_processes(self, processes: Sequence[ProcessRecord]) -> list[str]:
        return self._watched(lambda: self.inner.import_processes(processes))

    def purge_expired(self) -> list[str]:
        return self._watched(self.inner.purge_expired)

    # -- the store's health --------------------------------------------------------------
    def _watched(self, call: Callable[[], Result]) -> Result:
        try:
            result = call()
        except StorageUnavailableError as error:
            self.health.unavailable(error)
            raise
        if self.health.down_since is not None:
            self.health.answered()
        return result
