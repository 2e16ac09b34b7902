"""What the browser reported with the request that started this run, read from Streamlit.

The sync engine needs two facts Streamlit has no public API for: which widgets the browser
sent a value for (a widget it did not report is not on its screen), and a widget's default
(what the browser shows for a widget whose key was removed); the data editor needs a third:
the table a grid's edits make, for a grid that did not draw in the run that got them. This
module alone reads them from Streamlit (checked on the versions ``pyproject.toml`` allows).
If those internals ever change, it answers "unknown" and the engine trusts what it reads in
session state, without checking what reached the browser.

It also guards the widgets against saved values they can no longer take (a slider whose
range was narrowed, a date saved as text ...): Streamlit would replace the whole page with an
exception box. When a widget registers, its serializer and deserializer are known before its
value is used; a saved value that does not survive that round trip unchanged (the one every
value makes to the browser and back) is withheld and the widget gets what Streamlit makes of
it, or its default (see ``fitted``).

And it keeps the widget values of a request that another one superseded before its run
started (``keep_superseded_widget_states``): Streamlit would drop them for the widgets the
second does not report, such as a table edit sent just before a page link.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import pandas as pd
from streamlit.proto.ClientState_pb2 import ClientState
from streamlit.proto.WidgetStates_pb2 import WidgetStates
from streamlit.runtime.state.common import (
    WidgetMetadata,
    is_array_value_field_name,
    unpack_widget_state_value,
)
from streamlit.runtime.state.session_state import WStates
from streamlit.runtime.state.session_state_proxy import get_session_state

from persistence.deliveries import NO_WIDGET, UNREAD, IsSaved, Withhold

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


_NO_FIT: Any = object()


def _same(left: Any, right: Any) -> bool:
    """Equal values of the same type; a list and a tuple with the same items are the same (a
    range slider's tuple comes back from JSON as a list)."""
    if isinstance(left, list | tuple) and isinstance(right, list | tuple):
        return len(left) == len(right) and all(map(_same, left, right))
    if type(left) is not type(right):
        return False
    try:
        return bool(left == right)
    except (TypeError, ValueError):
        return False


def _round_trip(metadata: WidgetMetadata[Any], value: Any) -> tuple[Any, Any]:
    """``value`` as the widget's wire format holds it, and the value the widget reads back
    from that: Streamlit's own serialization (``WStates.get_serialized``), so a value that a
    widget raises for (wrong type, out of range, no such option) raises here."""
    states = WStates()
    states.set_widget_metadata(metadata)
    states.set_from_value(metadata.id, value)
    proto = states.get_serialized(metadata.id)
    if proto is None:
        raise ValueError("no wire form")
    wire = unpack_widget_state_value(proto)
    if is_array_value_field_name(metadata.value_type):
        wire = list(wire)  # a protobuf container, which equals no list
    return metadata.deserializer(wire), wire


def _known_options(metadata: WidgetMetadata[Any], wire: Any) -> Any:
    """``wire`` without option labels the widget no longer offers (selectbox, multiselect,
    radio ... send labels), or ``_NO_FIT`` for a single label it lacks."""
    options = getattr(metadata, "formatted_options", None)
    if options is None or metadata.value_type not in ("string_value", "string_array_value"):
        return wire
    if isinstance(wire, list):
        return [label for label in wire if label in options]
    return wire if wire is None or wire in options else _NO_FIT


def _kindred(value: Any, adjusted: Any) -> bool:
    """Whether ``adjusted`` is still ``value``'s kind of thing (a shorter list, a rounded
    number), not a conversion that loses its meaning (the text "no" made ``True``)."""
    if isinstance(value, list | tuple):
        return isinstance(adjusted, list | tuple)
    numbers = (int, float)
    if isinstance(value, numbers) and isinstance(adjusted, numbers):
        return not isinstance(value, bool) and not isinstance(adjusted, bool)
    return type(value) is type(adjusted)


def _fits(metadata: WidgetMetadata[Any], value: Any) -> bool:
    try:
        back, wire = _round_trip(metadata, value)
    except Exception:  # noqa: BLE001 - whatever the widget's serializer raises: no fit
        return False
    return _known_options(metadata, wire) == wire and _same(back, value)


def fitted(metadata: WidgetMetadata[Any], value: Any) -> Any:
    """What the widget described by ``metadata`` should get for ``value``: ``value`` itself
    when it survives the round trip; else what Streamlit makes of it when that is a value the
    widget takes (a removed option dropped from a list, a float rounded for an int slider);
    else the widget's default. ``_NO_FIT`` when the widget has no default to fall back on."""
    if _fits(metadata, value):
        return value
    try:
        back, wire = _round_trip(metadata, value)
        known = _known_options(metadata, wire)
        if known is not _NO_FIT:
            back = metadata.deserializer(known)
            if _kindred(value, back) and _fits(metadata, back):
                return back
    except Exception:  # noqa: BLE001, S110 - the default below, then
        pass
    try:
        return metadata.deserializer(None)
    except Exception:  # noqa: BLE001
        return _NO_FIT


class _Guard:
    """Stands in for ``register_widget`` of one run's ``SafeSessionState`` (Streamlit makes
    one per script runner, around the session's ``SessionState``, whose slots take no
    attribute): as each widget registers, a value put into session state for it that
    ``saved`` says is a saved value is checked, and one the widget cannot take is replaced
    by ``fitted``'s and reported to ``withhold``."""

    def __init__(
        self,
        safe: Any,
        saved: IsSaved,
        withhold: Withhold,
    ) -> None:
        self.safe = safe
        self.register = type(safe).register_widget
        self.saved = saved
        self.withhold = withhold

    def __call__(self, metadata: WidgetMetadata[Any], user_key: str | None) -> Any:
        if user_key is not None and metadata.value_type not in _UNSETTABLE:
            with self.safe._lock:  # as Streamlit reads and writes the state: under its lock
                state = self.safe._state
                value = _given(state, metadata.id, user_key)
                if value is not _NO_FIT and self.saved(user_key, value):
                    given = fitted(metadata, value)
                    if given is not value and given is not _NO_FIT:
                        state.reset_state_value(user_key, given)
                        self.withhold(user_key, given)
        return self.register(self.safe, metadata, user_key)


def _guard_widgets(safe: Any, saved: IsSaved, withhold: Withhold) -> None:
    guard = vars(safe).get("register_widget")
    if isinstance(guard, _Guard):
        guard.saved, guard.withhold = saved, withhold  # a new sync engine for the session
        return
    # SafeSessionState forwards attribute writes to the session state: set it on itself.
    object.__setattr__(safe, "register_widget", _Guard(safe, saved, withhold))


def _given(state: Any, element_id: str, user_key: str) -> Any:
    """The value session state (not the browser) gives the widget in this run, or ``_NO_FIT``."""
    if user_key in state._new_session_state:
        return state._new_session_state[user_key]
    if element_id not in state._new_widget_state and user_key in state._old_state:
        return state._old_state[user_key]
    return _NO_FIT


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

    def guard(self, saved: IsSaved, withhold: Withhold) -> None:
        try:
            _guard_widgets(get_session_state(), saved, withhold)
        except (AttributeError, TypeError):
            return  # other internals: values are given to the widgets as they are


def edited_frame(base: pd.DataFrame, edits: Mapping[str, Any]) -> pd.DataFrame | None:
    """What ``st.data_editor(base)`` returns while its grid holds ``edits`` (its widget state:
    ``edited_rows``, ``added_rows``, ``deleted_rows``), worked out as Streamlit does it (its
    parsing of the values the browser sent), for a grid that does not draw in this run.
    ``None`` when Streamlit's internals are not the ones this was written for."""
    try:
        import pyarrow as pa  # type: ignore[import-untyped]
        from streamlit.elements.lib.column_config_utils import determine_dataframe_schema
        from streamlit.elements.widgets import data_editor

        frame = base.copy(deep=True)
        data_editor._fix_column_headers(frame)
        schema = determine_dataframe_schema(frame, pa.Table.from_pandas(frame).schema)
        state = data_editor.DataEditorSerde().deserialize(json.dumps(edits, default=str))
        edited = data_editor._apply_dataframe_edits(frame, state, schema)
    except Exception:  # noqa: BLE001 - other internals, or values they refuse: unknown
        return None
    return edited if isinstance(edited, pd.DataFrame) else None


def keep_superseded_widget_states() -> None:
    """Make Streamlit keep the widget values of a rerun request that a newer request
    superseded before its run started, for the widgets the newer one does not report.

    The browser reports only the widgets on its screen. An edit sent just before a page link
    (a grid's, a text field's) comes in one request and the link in the next. When the
    second arrives before the first's run has started (a busy server), Streamlit runs the
    second alone (it stops the runner that had not started, or merges the two keeping the
    second's widgets), and the edit is gone before any app code or callback sees it. Carried
    into the second, the edit's callback runs at the start of that run, as it would had the
    first run started and been interrupted at once (that run's widget values stay until a
    run completes). Process-wide and idempotent; on other internals nothing changes."""
    try:
        from streamlit.runtime.app_session import AppSession
    except ImportError:
        return
    request = AppSession.request_rerun
    if getattr(request, "keeps_superseded", False):
        return

    def request_rerun(session: AppSession, client_state: ClientState | None) -> None:
        if client_state is not None:
            carry_unstarted_widget_states(session, client_state)
        request(session, client_state)

    request_rerun.keeps_superseded = True  # type: ignore[attr-defined]
    AppSession.request_rerun = request_rerun  # type: ignore[method-assign,assignment]


def carry_unstarted_widget_states(session: Any, client_state: ClientState) -> None:
    """Add to ``client_state`` the widget values of ``session``'s rerun request that has not
    started, for the widgets ``client_state`` does not report."""
    pending = _unstarted_widget_states(session)
    if pending is None:
        return
    reported = {state.id for state in client_state.widget_states.widgets}
    client_state.widget_states.widgets.extend(
        state for state in pending.widgets if state.id not in reported
    )


def _unstarted_widget_states(session: Any) -> WidgetStates | None:
    """The widget values of the request ``session``'s script runner holds and has not applied
    yet: one waiting for its run, or one whose run has not reached the script body (where
    Streamlit applies them and calls the callbacks) when a newer request stops it."""
    try:
        from streamlit.runtime.scriptrunner_utils.script_requests import ScriptRequestType
        from streamlit.runtime.scriptrunner_utils.script_run_context_attr import (
            SCRIPT_RUN_CONTEXT_ATTR_NAME,
        )

        runner = session._scriptrunner
        requests = runner._requests
        context = getattr(runner._script_thread, SCRIPT_RUN_CONTEXT_ATTR_NAME, None)
        started = context is not None and context.has_script_started
        with requests._lock:
            waiting = requests._state is ScriptRequestType.RERUN
            starting = requests._state is ScriptRequestType.CONTINUE and not started
            if not (waiting or starting):
                return None
            states = requests._rerun_data.widget_states
    except (AttributeError, ImportError):  # no runner, or other internals: keep Streamlit's way
        return None
    return states if isinstance(states, WidgetStates) else None
