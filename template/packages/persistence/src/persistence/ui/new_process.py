"""The "New process" form: stable keys ``new_process_name`` and ``create_process``."""

from __future__ import annotations

import streamlit as st

from persistence.binding import get_session, open_process, storage_for
from persistence.errors import PersistenceError
from persistence.names import validate_process_name
from persistence.ui.sidebar import SELECTOR_KEY, report_error, show_error
from persistence.ui.strings import t

NAME_KEY = "new_process_name"
CREATE_KEY = "create_process"
_ERROR = "_new_process_error"


def _on_create() -> None:
    name = str(st.session_state.get(NAME_KEY, "")).strip()
    session = get_session()
    store, catalog = storage_for(session.owner)
    try:
        store.create_process(validate_process_name(name))
        open_process(session, name)
    except PersistenceError as error:
        report_error(error, _ERROR)
        return
    catalog.invalidate()
    st.session_state[NAME_KEY] = ""
    st.session_state[SELECTOR_KEY] = name
    st.toast(t("toast.created", name=name))


def new_process_form() -> None:
    st.title(t("new.title"))
    st.write(t("new.intro"))
    show_error(_ERROR)
    st.text_input(t("new.name"), key=NAME_KEY, help=t("new.name_help"), max_chars=200)
    st.button(t("new.create"), key=CREATE_KEY, type="primary", on_click=_on_create)
