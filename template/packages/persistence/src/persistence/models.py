"""Types shared by every layer. Types only: no behaviour lives here."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

State = dict[str, Any]
"""A process's saved session state: free-form, keyed by session-state key."""

Revision = int
"""Increases on every write to a process; compared to notice writes made elsewhere."""

Clock = Callable[[], datetime]
"""Returns the current time as an aware UTC datetime; injected so tests control time."""


@dataclass(frozen=True, slots=True)
class ProcessInfo:
    name: str
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class ProcessSnapshot:
    name: str
    state: State
    revision: Revision
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class ProcessRecord:
    """A whole process as an export carries it, for ``import_processes``; ``updated_at``
    ``None`` means "now"."""

    name: str
    state: State
    updated_at: datetime | None = None
