"""Streamlit UI on top of the binding: the process sidebar, the new-process form, and the
persistent data editor and file upload.

Their wording is the package's string table, ``persistence.ui.strings``.
"""

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
