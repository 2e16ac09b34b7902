"""Automatic persistence of Streamlit session state, organised in named processes.

This module is the front door: app code imports what it uses from here.

Layers, each depending only on the ones before it:

* ``persistence.storage``: the ``StorageInterface`` contract and one module per backend;
* ``persistence.sync``: the sync engine, which keeps the prefixed keys of a state mapping in
  step with one process (no Streamlit); its parts: the deliveries to the browser
  (``persistence.deliveries``), the size limits (``persistence.limits``), the stored copy
  (``persistence.stored``), what comes in from storage (``persistence.incoming``), the save
  (``persistence.saving``), values withheld from widgets (``persistence.misfits``), the screen
  check after overlapping runs (``persistence.screen``) and the save status
  (``persistence.status``);
* ``persistence.binding``: the Streamlit wiring, one ``PersistentSession`` per browser session;
* ``persistence.ui``: the process sidebar and forms the apps are built from, and the two
  widgets Streamlit cannot restore by itself, made persistent: ``persistent_data_editor``
  (a table) and ``persistent_file_uploader`` (a file).

``StringTable`` (``persistence.i18n``) looks up UI text in the configured language: the
package's own table and each app's ``strings.toml`` use it.

The Streamlit layers are imported on first use, so the ``persist`` command and the storage
layer start without importing Streamlit.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from persistence import codec
from persistence.errors import PersistenceError
from persistence.i18n import StringTable
from persistence.migrations import Migration, load_migrations
from persistence.models import ProcessInfo, ProcessSnapshot, State
from persistence.settings import get_settings
from persistence.storage import StorageInterface, open_storage

# pandas values are stored by ``persistence.frames``, imported with the first of them.
codec.provide("pandas", "persistence.frames", tags=("DataFrame", "Series", "NA", "NaT"))

if TYPE_CHECKING:
    from persistence.binding import PersistentSession, get_session, persisted
    from persistence.ui import (
        StoredFile,
        new_process_form,
        persistent_app,
        persistent_data_editor,
        persistent_file_uploader,
    )

__all__ = [
    "Migration",
    "PersistenceError",
    "PersistentSession",
    "ProcessInfo",
    "ProcessSnapshot",
    "State",
    "StorageInterface",
    "StoredFile",
    "StringTable",
    "get_session",
    "get_settings",
    "load_migrations",
    "new_process_form",
    "open_storage",
    "persisted",
    "persistent_app",
    "persistent_data_editor",
    "persistent_file_uploader",
]

_STREAMLIT_LAYERS = {
    "PersistentSession": "persistence.binding",
    "get_session": "persistence.binding",
    "persisted": "persistence.binding",
    "new_process_form": "persistence.ui",
    "persistent_app": "persistence.ui",
    "persistent_data_editor": "persistence.ui",
    "persistent_file_uploader": "persistence.ui",
    "StoredFile": "persistence.ui",
}


def __getattr__(name: str) -> Any:
    module = _STREAMLIT_LAYERS.get(name)
    if module is None:
        raise AttributeError(f"module 'persistence' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
