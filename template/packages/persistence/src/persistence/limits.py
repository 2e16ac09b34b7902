"""The size limits of the sync engine: which changed values one save can write.

A key is refused, and the others of the same run are saved, when its value cannot be encoded
(``UnstorableValueError``), when its encoding is over ``max_value_bytes``
(``ValueTooLargeError``; both in ``status.unstorable`` until the value changes), or when
saving it would take the process over ``max_bytes`` (``ProcessTooLargeError`` in
``status.error``: the keys that grow the process most are held back until it fits; they are
tried again, without encoding again, on every run until there is room or they change).

This module imports neither Streamlit nor the engine (``persistence.sync``), which uses it.
"""

from __future__ import annotations

from typing import Any

from persistence import codec
from persistence.errors import (
    PersistenceError,
    ProcessTooLargeError,
    UnstorableValueError,
    ValueTooLargeError,
)
from persistence.models import State

Refusals = dict[str, PersistenceError]  # key -> why its value is not saved (status.unstorable)


class SizeLimits:
    """The encoded size of each saved key of one process, and the values refused or held back."""

    def __init__(self, *, max_bytes: int, max_value_bytes: int | None) -> None:
        self.max_bytes = max_bytes  # the whole process, in bytes of encoded JSON
        self.max_value_bytes = max_value_bytes  # one value; None: only the process limit
        self.sizes: dict[str, int] = {}  # key -> bytes of its saved encoding
        self.rejected: dict[str, Any] = {}  # values refused for good, until they change
        self.waiting: dict[str, codec.Encoded] = {}  # held back for the process limit

    def reset(self) -> None:
        """Forget everything: another process was opened."""
        self.sizes, self.rejected, self.waiting = {}, {}, {}

    @property
    def holds_back(self) -> bool:
        """Whether some changed value waits for room in the process."""
        return bool(self.waiting)

    def is_held(self, key: str) -> bool:
        """Whether ``key``'s value is refused or waits for room, so is no missed edit."""
        return key in self.rejected or key in self.waiting

    def record(self, key: str, size: int) -> None:
        """``key`` is saved with an encoding of ``size`` bytes."""
        self.sizes[key] = size
        self.waiting.pop(key, None)

    def forget(self, key: str) -> None:
        """``key`` was deleted on purpose."""
        self.waiting.pop(key, None)
        self.sizes.pop(key, None)

    def drop_size(self, key: str) -> None:
        """``key`` is no longer in storage (another session removed it)."""
        self.sizes.pop(key, None)

    def withdraw_refusal(self, key: str, refusals: Refusals) -> None:
        """``key`` changed back to what is saved: it is refused no more."""
        del self.rejected[key]
        refusals.pop(key, None)

    def encode(self, changed: State, refusals: Refusals) -> dict[str, codec.Encoded]:
        """The changed values that can be saved, encoded; the others are recorded as refused
        in ``refusals``. A value that waited for room and is no longer among them (changed
        back, or to a value refused for itself) waits no more."""
        encoded: dict[str, codec.Encoded] = {}
        limit = self.max_value_bytes
        for key, value in changed.items():
            held = self.waiting.get(key)
            if held is not None and held.value is value:
                encoded[key] = held
                continue
            try:
                item = codec.encode_once(key, value)
            except UnstorableValueError as error:
                self._refuse(key, value, error, refusals)
                continue
            if limit is not None and item.size > limit:
                self._refuse(key, value, ValueTooLargeError(key, item.size, limit), refusals)
                continue
            self.rejected.pop(key, None)
            refusals.pop(key, None)
            encoded[key] = item
        for key in [key for key in self.waiting if key not in encoded]:
            del self.waiting[key]
        return encoded

    def _refuse(self, key: str, value: Any, error: PersistenceError, refusals: Refusals) -> None:
        self.rejected[key] = value
        refusals[key] = error

    def fit(self, encoded: dict[str, codec.Encoded]) -> ProcessTooLargeError | None:
        """Hold back, from ``encoded``, the keys that would take the process over
        ``max_bytes``: those that grow it most, until the rest fits. Changes that do not
        grow the process are always saved (also in a process already over a lowered limit)."""
        sizes = {**self.sizes, **{key: item.size for key, item in encoded.items()}}
        total = sum(sizes.values())
        if total <= self.max_bytes:
            return None
        growth = sorted(
            ((item.size - self.sizes.get(key, 0), key) for key, item in encoded.items()),
            reverse=True,
        )
        held: list[str] = []
        remaining = total
        for grown, key in growth:
            if remaining <= self.max_bytes or grown <= 0:
                break
            held.append(key)
            remaining -= grown
        if not held:
            return None
        for key in held:
            self.waiting[key] = encoded.pop(key).text_only()
        biggest = sorted(sizes.items(), key=lambda item: item[1], reverse=True)[:3]
        return ProcessTooLargeError(total, self.max_bytes, biggest, held)
