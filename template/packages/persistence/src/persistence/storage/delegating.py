"""A store that wraps another and forwards every call to it.

A wrapper overrides only the calls it changes: ``ScopedStorage`` renames processes per
user, the benchmark's counting store counts writes. ``load_process`` and
``process_exists`` come from ``StorageBase``, so they go through the wrapper's own
``read_process`` and ``process_revision`` and see whatever those change.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from typing import Any

from persistence import codec
from persistence.models import ProcessInfo, ProcessRecord, ProcessSnapshot, Revision
from persistence.storage.base import StorageBase
from persistence.storage.contract import StorageInterface


class DelegatingStorage(StorageBase):
    """``StorageInterface`` forwarding to ``inner``."""

    def __init__(self, inner: StorageInterface) -> None:
        self.inner = inner

    def save_process(self, name: str, data: Mapping[str, Any]) -> None:
        self.inner.save_process(name, data)

    def _read_stored(self, name: str) -> ProcessSnapshot | None:
        return self.inner.read_process(name, with_history=True)

    def update_process(
        self,
        name: str,
        changed: Mapping[str, Any],
        removed: Collection[str] = (),
        *,
        expected_revision: Revision | None = None,
        encodings: Mapping[str, codec.Encoded] | None = None,
    ) -> Revision:
        return self.inner.update_process(
            name, changed, removed, expected_revision=expected_revision, encodings=encodings
        )

    def process_revision(self, name: str) -> Revision | None:
        return self.inner.process_revision(name)

    def create_process(self, name: str) -> ProcessInfo:
        return self.inner.create_process(name)

    def rename_process(self, old: str, new: str) -> None:
        self.inner.rename_process(old, new)

    def copy_process(self, source: str, target: str) -> ProcessInfo:
        return self.inner.copy_process(source, target)

    def delete_process(self, name: str) -> bool:
        return self.inner.delete_process(name)

    def list_processes(self) -> list[ProcessInfo]:
        return self.inner.list_processes()

    def list_processes_by_prefix(self, prefix: str) -> list[ProcessInfo]:
        return self.inner.list_processes_by_prefix(prefix)

    def import_processes(self, processes: Sequence[ProcessRecord]) -> list[str]:
        return self.inner.import_processes(processes)

    def purge_expired(self) -> list[str]:
        return self.inner.purge_expired()

    def close(self) -> None:
        self.inner.close()

    @property
    def max_name_length(self) -> int:
        return self.inner.max_name_length
