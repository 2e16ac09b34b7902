"""A report page: every ``persist_`` widget below is saved without any persistence code."""

from pathlib import Path

import streamlit as st

from persistence import PersistentSession, StringTable, get_session, persisted

# This app's wording, in the configured language.
t = StringTable.load(Path(__file__).parents[1] / "strings.toml")
TAGS = ["weekly", "monthly", "urgent", "internal"]


def report(session: PersistentSession) -> None:
    st.subheader(session.process)
    left, right = st.columns(2)
    with left:
        st.text_input(t("report.owner"), key=persisted("owner"))
        st.slider(t("report.progress"), 0, 100, key=persisted("progress"))
        st.date_input(t("report.due_date"), key=persisted("due_date"))
    with right:
        st.multiselect(
            t("report.tags"),
            TAGS,
            key=persisted("tags"),
            format_func=lambda tag: t(f"tags.{tag}"),
            placeholder=t("report.tags_placeholder"),
        )
        st.checkbox(t("report.done"), key=persisted("done"))
    st.text_area(t("report.notes"), key=persisted("notes"), height=160)

    if st.checkbox(t("report.show_details"), key="show_details"):
        st.caption(t("report.details"))
        st.json({key: str(value) for key, value in session.persisted_state().items()})


# No st.stop() here: it would also hide the sidebar's save status for this run.
st.title(t("report.title"))
session = get_session()
if session.process is None:
    st.info(t("page.nothing_open"))
else:
    report(session)
