"""What the browser reported with the request that started this run, read from Streamlit.

The sync engine needs two facts Streamlit has no public API for: which widgets the browser
sent a value for (a widget it did not report is not on its screen), and a widget's default
(what the browser shows for a widget whose key was removed). This module alone reads them
from Streamlit's session state (checked on the versions ``pyproject.toml`` allows). If those
internals ever change, it answers "unknown" and the engine trusts what it reads, as it did
before it tracked deliveries.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from streamlit.runtime.state.session_state_proxy import get_session_state

from persistence.sync import NO_WIDGET, UNREAD

# Widgets whose value Streamlit refuses to take from session state (buttons, uploaders,
# chat input): their keys are never put into the state.
_UNSETTABLE = frozenset(
    {
        "trigger_value",
        "string_trigger_value",
        "json_trigger_value",
        "file_uploader_state_value",
        "chat_input_value",
    }
)


def _user_key(element_id: str) -> str | None:
    """The key part of a keyed element id (``$$ID-<hash>-<key>``), as Streamlit writes it."""
    parts = element_id.split("-", 2)
    return parts[2] if len(parts) == 3 and parts[2] != "None" else None


class StreamlitBrowser:
    """``BrowserView`` over the current Streamlit session."""

    def _state(self) -> Any:
        return getattr(get_session_state(), "_state", None)

    def reported(self, prefix: str) -> Mapping[str, Any] | None:
        try:
            state = self._state()
            widgets = state._new_widget_state
            key_of = state._key_id_mapper.id_key_mapping
            element_ids = list(widgets.states)
        except AttributeError:
            return None
        values: dict[str, Any] = {}
        for element_id in element_ids:
            # A tab that reconnected to a new server reports widgets this server never saw:
            # their key is read from the element id, their value only once they register.
            key = key_of.get(element_id) or _user_key(element_id)
            if key is None or not key.startswith(prefix):
                continue
            try:
                values[key] = widgets[element_id]
            except KeyError:
                values[key] = UNREAD
        return values

    def widget_default(self, key: str) -> Any:
        try:
            state = self._state()
            element_id = state._key_id_mapper.get_id_from_key(key)
            metadata = state._new_widget_state.widget_metadata.get(element_id)
        except AttributeError:
            return NO_WIDGET
        if metadata is None or metadata.value_type in _UNSETTABLE:
            return NO_WIDGET
        try:
            return metadata.deserializer(None)
        except (TypeError, ValueError, KeyError, AttributeError):  # no default: not reset
            return NO_WIDGET
