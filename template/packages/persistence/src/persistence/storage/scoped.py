"""Per-user processes: a view of a store in which one user sees only their own processes.

Each user's process names are stored behind a tag derived from their identity, so no name
a user can type (in the sidebar or in a ``?process=`` link) reaches another user's process.
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Mapping, Sequence
from dataclasses import replace
from typing import Any

from persistence import codec
from persistence.errors import ProcessExistsError, ProcessNotFoundError, RevisionConflictError
from persistence.models import ProcessInfo, ProcessRecord, ProcessSnapshot, Revision
from persistence.names import check_name_length, validate_process_name
from persistence.storage.contract import StorageInterface
from persistence.storage.delegating import DelegatingStorage

_TAG_LENGTH = 16


def owner_tag(owner: str) -> str:
    return hashlib.sha256(owner.encode("utf-8")).hexdigest()[:_TAG_LENGTH]


class ScopedStorage(DelegatingStorage):
    """``StorageInterface`` over ``store``, limited to the processes of ``owner``.

    Every call that takes a name is overridden to store it behind the owner's tag;
    ``load_process`` and ``process_exists`` follow from ``read_process`` and
    ``process_revision``.
    """

    def __init__(self, store: StorageInterface, owner: str) -> None:
        if not owner:
            raise ValueError("a per-user store needs the signed-in user's identity")
        super().__init__(store)
        self.owner = owner
        self._prefix = owner_tag(owner) + ":"

    def _inner_name(self, name: str) -> str:
        validate_process_name(name)
        check_name_length(name, self.max_name_length)
        return self._prefix + name

    @property
    def max_name_length(self) -> int:
        """The inner store's limit less the owner's tag the inner name starts with."""
        return self.inner.max_name_length - len(self._prefix)

    def _outer_name(self, inner: str) -> str | None:
        return inner[len(self._prefix) :] if inner.startswith(self._prefix) else None

    def _translate(self, error: Exception, name: str) -> Exception:
        """Errors from the inner store name the inner name; users must see their own."""
        if isinstance(error, ProcessNotFoundError):
            return ProcessNotFoundError(name)
        if isinstance(error, ProcessExistsError):
            return ProcessExistsError(name)
        if isinstance(error, RevisionConflictError):
            return RevisionConflictError(name, error.expected)
        return error

    def save_process(self, name: str, data: Mapping[str, Any]) -> None:
        self.inner.save_process(self._inner_name(name), data)

    def _read_stored(self, name: str) -> ProcessSnapshot | None:
        snapshot = self.inner.read_process(self._inner_name(name), with_history=True)
        return None if snapshot is None else replace(snapshot, name=name)

    def update_process(
        self,
        name: str,
        changed: Mapping[str, Any],
        removed: Collection[str] = (),
        *,
        expected_revision: Revision | None = None,
        encodings: Mapping[str, codec.Encoded] | None = None,
    ) -> Revision:
        inner = self._inner_name(name)
        try:
            return self.inner.update_process(
                inner, changed, removed, expected_revision=expected_revision, encodings=encodings
            )
        except (ProcessNotFoundError, RevisionConflictError) as error:
            raise self._translate(error, name) from None

    def process_revision(self, name: str) -> Revision | None:
        return self.inner.process_revision(self._inner_name(name))

    def create_process(self, name: str) -> ProcessInfo:
        try:
            info = self.inner.create_process(self._inner_name(name))
        except ProcessExistsError as error:
            raise self._translate(error, name) from None
        return replace(info, name=name)

    def rename_process(self, old: str, new: str) -> None:
        try:
            self.inner.rename_process(self._inner_name(old), self._inner_name(new))
        except ProcessNotFoundError as error:
            raise self._translate(error, old) from None
        except ProcessExistsError as error:
            raise self._translate(error, new) from None

    def copy_process(self, source: str, target: str) -> ProcessInfo:
        try:
            info = self.inner.copy_process(self._inner_name(source), self._inner_name(target))
        except ProcessNotFoundError as error:
            raise self._translate(error, source) from None
        except ProcessExistsError as error:
            raise self._translate(error, target) from None
        return replace(info, name=target)

    def delete_process(self, name: str) -> bool:
        return self.inner.delete_process(self._inner_name(name))

    def list_processes(self) -> list[ProcessInfo]:
        return self.list_processes_by_prefix("")

    def list_processes_by_prefix(self, prefix: str) -> list[ProcessInfo]:
        """Only this user's processes are read: the backend lists the owner's tag prefix
        from its index of names, never every user's processes."""
        own = []
        for info in self.inner.list_processes_by_prefix(self._prefix + prefix):
            outer = self._outer_name(info.name)
            if outer is not None:
                own.append(replace(info, name=outer))
        return own

    def import_processes(self, processes: Sequence[ProcessRecord]) -> list[str]:
        inner = [replace(record, name=self._inner_name(record.name)) for record in processes]
        try:
            written = self.inner.import_processes(inner)
        except ProcessExistsError as error:
            raise self._translate(error, error.name[len(self._prefix) :]) from None
        return [name[len(self._prefix) :] for name in written]

    def purge_expired(self) -> list[str]:
        """Purging is an operator's job across all users: use the ``persist purge`` command."""
        return []

    def close(self) -> None:
        """The inner store is shared by every user of the server: it stays open."""
