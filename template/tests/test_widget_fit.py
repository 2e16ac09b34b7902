"""A saved value that today's widget cannot take (the page changed since it was saved) never
breaks the page: the widget shows its default (or what Streamlit makes of the value), the
sidebar names the key, storage keeps the saved value until the user edits that widget."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from streamlit.testing.v1 import AppTest

from persistence.ui.strings import t
from tests.app_driver import NAME, key
from tests.conftest import StoreFactory

pytestmark = pytest.mark.persistence

VALUE = key("value")
OTHER = key("other")


def widget_page() -> None:
    """One widget, chosen by ``fit_case``, under ``persist_value``; and a text box that
    fits, whose saved value must not change."""
    import datetime as dt
    from collections.abc import Callable

    import streamlit as st

    from persistence import persisted, persistent_app

    options = ["a", "b", "c"]
    day = dt.date(2025, 1, 1)
    draw: dict[str, Callable[[str], object]] = {
        "text_input": lambda k: st.text_input("w", key=k),
        "text_area": lambda k: st.text_area("w", key=k),
        "number_input": lambda k: st.number_input("w", 0, 10, key=k),
        "slider": lambda k: st.slider("w", 0, 100, key=k),
        "slider_rounds": lambda k: st.slider("w", 0, 100, key=k),
        "range_slider": lambda k: st.slider("w", 0, 100, (10, 20), key=k),
        "select_slider": lambda k: st.select_slider("w", options, key=k),
        "selectbox": lambda k: st.selectbox("w", options, key=k),
        "radio": lambda k: st.radio("w", options, key=k),
        "multiselect": lambda k: st.multiselect("w", options, key=k),
        "pills": lambda k: st.pills("w", options, key=k),
        "segmented_control": lambda k: st.segmented_control("w", options, key=k),
        "checkbox": lambda k: st.checkbox("w", key=k),
        "toggle": lambda k: st.toggle("w", key=k),
        "date_input": lambda k: st.date_input("w", None, key=k),
        "date_range": lambda k: st.date_input("w", (day, day), key=k),
        "time_input": lambda k: st.time_input("w", None, key=k),
        "color_picker": lambda k: st.color_picker("w", key=k),
        "feedback": lambda k: st.feedback("stars", key=k),
    }
    with persistent_app():
        draw[st.session_state["fit_case"]](persisted("value"))
        st.text_input("other", key=persisted("other"))


DAY = dt.date(2025, 1, 1)
# widget: (the saved value it cannot take, what it shows instead, the element type AppTest
# finds it by, the user's edit)
CASES: dict[str, tuple[Any, Any, str, Any]] = {
    "text_input": (5, "", "text_input", "typed"),
    "text_area": (["a list"], "", "text_area", "typed"),
    "number_input": (50, 0, "number_input", 3),
    "slider": (250, 0, "slider", 5),
    "slider_rounds": (42.7, 42, "slider", 5),
    "range_slider": ([5, 250], (10, 20), "slider", (1, 2)),
    "select_slider": ("gone", "a", "select_slider", "b"),
    "selectbox": ("gone", "a", "selectbox", "b"),
    "radio": ("gone", "a", "radio", "c"),
    "multiselect": (["a", "gone"], ["a"], "multiselect", ["b"]),
    "pills": ("gone", None, "button_group", "b"),
    "segmented_control": (["a", "b"], None, "button_group", "c"),
    "checkbox": ("yes", False, "checkbox", True),
    "toggle": ("on", False, "toggle", True),
    "date_input": ("2025-01-31", None, "date_input", dt.date(2025, 2, 1)),
    "date_range": (["soon", "later"], (DAY, DAY), "date_input", (DAY, dt.date(2025, 1, 9))),
    "time_input": ("noon", None, "time_input", dt.time(12, 30)),
    "color_picker": (12, "#000000", "color_picker", "#ff0000"),
    "feedback": (9, None, "feedback", 2),
}


def saved(app_storage: StoreFactory) -> dict[str, Any]:
    return app_storage().load_process(NAME) or {}


def notices(at: AppTest) -> list[str]:
    return [str(warning.value) for warning in at.sidebar.warning]


def widget(at: AppTest, element_type: str) -> Any:
    (found,) = [w for w in at.get(element_type) if getattr(w, "key", None) == VALUE]
    return found


@pytest.mark.parametrize("case", list(CASES))
def test_a_saved_value_the_widget_cannot_take(app_storage: StoreFactory, case: str) -> None:
    misfit, shown, element_type, edit = CASES[case]
    app_storage().save_process(NAME, {VALUE: misfit, OTHER: "kept"})
    at = AppTest.from_function(widget_page, default_timeout=60)
    at.session_state["fit_case"] = case
    at.query_params["process"] = NAME
    at.run()
    assert not at.exception, at.exception
    assert at.session_state[VALUE] == shown
    assert at.text_input(key=OTHER).value == "kept"
    assert t("status.misfit", name=VALUE) in notices(at)
    at.run()  # an unchanged rerun writes nothing
    assert saved(app_storage) == {VALUE: misfit, OTHER: "kept"}
    assert t("status.misfit", name=VALUE) in notices(at)
    widget(at, element_type).set_value(edit).run()
    assert not at.exception, at.exception
    after = saved(app_storage)
    assert after[VALUE] == edit
    assert after[OTHER] == "kept"
    assert t("status.misfit", name=VALUE) not in notices(at)


def test_a_value_that_fits_is_no_misfit(app_storage: StoreFactory) -> None:
    app_storage().save_process(NAME, {VALUE: [30, 40]})
    at = AppTest.from_function(widget_page, default_timeout=60)
    at.session_state["fit_case"] = "range_slider"
    at.query_params["process"] = NAME
    at.run()
    assert list(at.session_state[VALUE]) == [30, 40]
    assert not notices(at)


def table_and_file_page() -> None:
    """Today's table has an ``amount`` column; today's upload takes CSV files only."""
    import pandas as pd

    from persistence import persistent_app, persistent_data_editor, persistent_file_uploader

    with persistent_app():
        persistent_data_editor("value", pd.DataFrame({"amount": [1, 2]}), num_rows="dynamic")
        persistent_file_uploader("other", "CSV", type=["csv"])


def test_a_saved_table_or_file_the_page_no_longer_takes(app_storage: StoreFactory) -> None:
    import pandas as pd

    renamed = pd.DataFrame({"price": [7, 8]})  # saved when the column had another name
    text_file = {"name": "notes.txt", "type": "text/plain", "data": b"old"}
    app_storage().save_process(NAME, {VALUE: renamed, OTHER: text_file})
    at = AppTest.from_function(table_and_file_page, default_timeout=60)
    at.query_params["process"] = NAME
    at.run()
    assert not at.exception, at.exception
    (grid,) = at.data_editor
    assert grid.value["amount"].tolist() == [1, 2]
    assert t("status.misfit", name=VALUE) in notices(at)
    assert t("status.misfit", name=OTHER) in notices(at)
    at.run()
    stored = saved(app_storage)
    assert stored[VALUE].equals(renamed) and stored[OTHER] == text_file
    assert grid.key is not None
    edits = {"edited_rows": {0: {"amount": 5}}, "added_rows": [], "deleted_rows": []}
    at.session_state[grid.key] = edits
    at.run()
    assert saved(app_storage)[VALUE]["amount"].tolist() == [5, 2]
    assert t("status.misfit", name=VALUE) not in notices(at)
    assert t("status.misfit", name=OTHER) in notices(at)
    at.file_uploader[0].set_value(("new.csv", b"a,b", "text/csv")).run()
    assert saved(app_storage)[OTHER]["name"] == "new.csv"
    assert not notices(at)
