"""The stored copy: what storage holds for the open process, as this session last read or
wrote it. The engine (``persistence.sync``) compares the state with it to tell what changed
(by content: a value is kept as a deep copy, so a value changed in place in the state still
differs), and keeps it up as it saves and as it merges what colleagues wrote.

This module imports neither Streamlit nor the engine, which uses it.
"""

from __future__ import annotations

import copy
from typing import Any

from persistence import codec
from persistence.deliveries import MISSING, same
from persistence.history import Change
from persistence.limits import SizeLimits
from persistence.models import Revision, State


class StoredCopy:
    """The open process's revision, values and change entries, as this session knows them."""

    def __init__(self, limits: SizeLimits) -> None:
        self.revision: Revision | None = None
        self.values: State = {}
        # The process's change entries (``persistence.history``), newest first: read with
        # the state, kept up by saves and merges.
        self.history: list[Change] = []
        self._limits = limits  # told each stored value's encoded size

    def reset(self, revision: Revision | None) -> None:
        """Another process (or none) is open, at ``revision``: nothing of it is known yet."""
        self.revision = revision
        self.values = {}
        self.history = []

    def holds(self, key: str, value: Any) -> bool:
        """Whether ``value`` is what storage holds for ``key``. One dict lookup: safe without
        the engine's lock."""
        saved = self.values.get(key, MISSING)
        return saved is not MISSING and same(value, saved)

    def accept(self, key: str, value: Any, size: int | None = None) -> None:
        """Record ``value`` as what storage holds for ``key`` (``size``: its encoding's bytes)."""
        self.values[key] = copy.deepcopy(value)
        if size is None:  # a value read from storage: no key check (it was stored already)
            size = codec.byte_size(codec.dumps(codec.to_jsonable(value)))
        self._limits.record(key, size)

    def drop(self, key: str) -> None:
        """``key`` is no longer in storage (another session removed it)."""
        del self.values[key]
        self._limits.drop_size(key)

    def adopt(self, revision: Revision) -> None:
        """Take the revision of our own write only when it directly follows the one we know:
        otherwise another session wrote in between, and the next ``begin_run`` merges it."""
        if self.revision is not None and revision == self.revision + 1:
            self.revision = revision
