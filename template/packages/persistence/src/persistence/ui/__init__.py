"""Streamlit UI on top of the binding: the process sidebar, the new-process form, and the
persistent data editor and file upload.

Their wording is the package's string table, ``persistence.ui.strings``.
"""

import gc

from persistence.ui.new_process import new_process_form
from persistence.ui.sidebar import persistent_app
from persistence.ui.widgets import StoredFile, persistent_data_editor, persistent_file_uploader

__all__ = [
    "StoredFile",
    "new_process_form",
    "persistent_app",
    "persistent_data_editor",
    "persistent_file_uploader",
]

# Streamlit runs a full ``gc.collect()`` after every script run (``runner.postScriptGC``),
# fragment runs included. Over the objects of Streamlit's, pandas' and pyarrow's modules one
# collection took 40-90 ms on a 2-core machine: at 30 open tabs the live-update watcher's runs
# alone kept a core busy. What the imports made lives as long as the server, so it is moved
# out of the collector's sight (once, on first import): a collection then costs under 1 ms.
# Collect first, so that no garbage is frozen with it: freezing without it made
# tests/e2e/test_replicas.py fail three times in a row (the sidebar's selector never drew).
gc.collect()
gc.freeze()
