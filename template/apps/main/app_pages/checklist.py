"""A second page with saved widgets: leaving and coming back keeps every value."""

import datetime as dt
from pathlib import Path

import streamlit as st

from persistence import StringTable, get_session, persisted

# This app's wording, in the configured language.
t = StringTable.load(Path(__file__).parents[1] / "strings.toml")
REGIONS = ["east", "west", "north", "south"]
ITEMS = ["data", "review", "sent"]


def checklist() -> None:
    st.radio(
        t("checklist.region"),
        REGIONS,
        key=persisted("region"),
        format_func=lambda region: t(f"region.{region}"),
        horizontal=True,
    )
    st.pills(
        t("checklist.items"),
        ITEMS,
        key=persisted("items"),
        selection_mode="multi",
        format_func=lambda item: t(f"items.{item}"),
    )
    # A default goes into session state, not `value=`: Streamlit warns when a widget has both.
    st.session_state.setdefault(persisted("review_time"), dt.time(9, 0))
    st.time_input(t("checklist.review_time"), key=persisted("review_time"))
    st.number_input(t("checklist.budget"), min_value=0, step=1000, key=persisted("budget"))


st.title(t("checklist.title"))
if get_session().process is None:
    st.info(t("page.nothing_open"))
else:
    checklist()
