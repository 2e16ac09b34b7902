"""Automatic persistence of Streamlit session state, organised in named processes.

Layers, each depending only on the ones before it:

* ``persistence.storage``: the ``StorageInterface`` contract and one module per backend;
* ``persistence.binding``: keeps prefixed ``st.session_state`` keys in step with storage;
* ``persistence.ui``: the process sidebar and forms the apps are built from.
"""

from persistence.errors import PersistenceError
from persistence.models import ProcessInfo, ProcessSnapshot
from persistence.storage import StorageInterface, open_storage

__all__ = ["PersistenceError", "ProcessInfo", "ProcessSnapshot", "StorageInterface", "open_storage"]
