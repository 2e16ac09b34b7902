"""The "New process" form: stable keys ``new_process_name`` and ``create_process``."""

from __future__ import annotations

import streamlit as st

from persistence.binding import get_session
from persistence.errors import PersistenceError
from persistence.ui.sidebar import SELECTOR_KEY, report_error, show_error
from persistence.ui.strings import t

NAME_KEY = "new_process_name"
CREATE_KEY = "create_process"
_ERROR = "_new_process_error"


def _on_create() -> None:
    session = get_session()
    try:
        session.create(str(st.session_state.get(NAME_KEY, "")))
    except PersistenceError as error:
        report_error(error, _ERROR)
        return
    st.session_state[NAME_KEY] = ""
    st.session_state[SELECTOR_KEY] = session.process
    st.toast(t("toast.created", name=session.process))


def new_process_form() -> None:
    st.title(t("new.title"))
    st.write(t("new.intro"))
    show_error(_ERROR)
    st.text_input(
        t("new.name"),
        key=NAME_KEY,
        help=t("new.name_help"),
        max_chars=get_session().max_name_length,
    )
    st.button(t("new.create"), key=CREATE_KEY, type="primary", on_click=_on_create)
