"""Streamlit UI on top of the binding: the process sidebar and the new-process form.

Their wording is the package's string table, ``persistence.ui.strings``.
"""

from persistence.ui.new_process import new_process_form
from persistence.ui.sidebar import persistent_app

__all__ = ["new_process_form", "persistent_app"]
