"""What the sidebar tells the user about the open process: ``SaveStatus``, kept by the sync
engine (``persistence.sync``) and its parts, read by the UI.

This module imports neither Streamlit nor the engine.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from persistence.errors import PersistenceError, StorageUnavailableError
from persistence.history import Change


@dataclass
class SaveStatus:
    """What the sidebar tells the user about the active process."""

    saved_at: datetime | None = None
    changed_elsewhere_at: datetime | None = None
    # The colleagues' changes the last merge brought, newest first, and the keys this
    # session then saved its own edit over (the colleague's change it never showed).
    changed_by: list[Change] = field(default_factory=list)
    overwritten: dict[str, Change] = field(default_factory=dict)
    unavailable: StorageUnavailableError | None = None
    error: PersistenceError | None = None
    gone: bool = False
    # Keys not saved, and why: a value that cannot be stored, or one over max_value_bytes.
    unstorable: dict[str, PersistenceError] = field(default_factory=dict)
    # Keys whose saved value today's widget cannot take: shown at a default, kept in storage.
    misfit: list[str] = field(default_factory=list)
