"""Expired processes removed by the server itself, at most once an hour, off the rerun path.

A process past its retention window is hidden at once by every store call; this removes it
from the medium (a JSON file, a SQLite row, Redis index entries) without anyone running
``persist purge``. Each server process runs one ``ExpiryJanitor`` in a daemon thread,
started with the server's store (``binding.server_storage``): no rerun ever waits for it.

Several replicas may purge the same store at the same moment: each backend's
``purge_expired`` decides inside its lock, transaction or script, process by process, so a
process written meanwhile by another replica is never deleted and a process is deleted once.
"""

from __future__ import annotations

import logging
import threading
from datetime import datetime, timedelta

from persistence.errors import PersistenceError
from persistence.models import Clock
from persistence.storage import StorageInterface, utc_now

PURGE_INTERVAL = timedelta(hours=1)
log = logging.getLogger(__name__)


class ExpiryJanitor:
    """Calls ``store.purge_expired()`` when the last call is ``interval`` ago (the first at
    once), measured on ``clock``: tests move an injected clock instead of waiting."""

    def __init__(
        self,
        store: StorageInterface,
        *,
        interval: timedelta = PURGE_INTERVAL,
        clock: Clock = utc_now,
    ) -> None:
        self.store = store
        self.interval = interval
        self._clock = clock
        self._last: datetime | None = None
        self._lock = threading.Lock()
        self._stopped = threading.Event()
        self._thread: threading.Thread | None = None

    def run_if_due(self) -> list[str] | None:
        """Purge if due and return the names purged; ``None`` when it was not due yet. A
        failure (storage down) is logged and counts as a run: the next try is an interval
        later."""
        with self._lock:
            now = self._clock()
            if self._last is not None and now - self._last < self.interval:
                return None
            self._last = now
        try:
            purged = self.store.purge_expired()
        except (PersistenceError, OSError) as error:
            log.warning("Expired processes were not purged: %s", error)
            return []
        log.info("Expiry run: %d expired process(es) purged", len(purged))
        return purged

    def seconds_until_due(self) -> float:
        with self._lock:
            if self._last is None:
                return 0.0
            left = self._last + self.interval - self._clock()
        return max(left.total_seconds(), 0.0)

    # -- the thread --------------------------------------------------------------------------
    def start(self) -> None:
        """Run in a daemon thread until ``stop``: it never keeps the server from exiting."""
        self._thread = threading.Thread(target=self._loop, name="persistence-expiry", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stopped.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout)

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def _loop(self) -> None:
        while not self._stopped.is_set():
            try:
                self.run_if_due()
            except Exception:  # a bug must not end the thread: log it, go on
                log.exception("Purging expired processes failed")
            # At least a second, so a clock that stands still cannot make this spin.
            self._stopped.wait(max(self.seconds_until_due(), 1.0))


_current: ExpiryJanitor | None = None
_current_lock = threading.Lock()


def start_expiry(store: StorageInterface) -> ExpiryJanitor:
    """Start this server process's janitor on ``store``. A janitor started before (its
    store was replaced: ``st.cache_resource.clear()``) is stopped: one per server."""
    global _current
    with _current_lock:
        if _current is not None:
            _current.stop(timeout=0)
        _current = ExpiryJanitor(store)
        _current.start()
        return _current


def stop_expiry() -> None:
    """Stop this server process's janitor, if one runs (tests, the benchmark)."""
    global _current
    with _current_lock:
        if _current is not None:
            _current.stop()
        _current = None
