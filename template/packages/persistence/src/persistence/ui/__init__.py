"""Streamlit UI on top of the binding: the process sidebar, the new-process form, strings."""

from persistence.ui.new_process import new_process_form
from persistence.ui.sidebar import persistent_app
from persistence.ui.strings import t

__all__ = ["new_process_form", "persistent_app", "t"]
