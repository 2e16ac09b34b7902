"""A minimal app that shows the pattern: ``streamlit run apps/sample/app.py``.

No page code mentions storage: keys that start with the prefix are saved by
``persistent_app`` to the process chosen in the sidebar. A table and a file go through
``persistent_data_editor`` and ``persistent_file_uploader``.
"""

from pathlib import Path

import pandas as pd
import streamlit as st

from persistence import (
    StringTable,
    get_settings,
    load_migrations,
    persisted,
    persistent_app,
    persistent_data_editor,
    persistent_file_uploader,
)

# This app's wording, in the configured language.
t = StringTable.load(Path(__file__).parent / "strings.toml")
st.set_page_config(page_title=get_settings().app_title)


def sample_page() -> None:
    st.title(t("sample.title"))
    st.write(t("sample.intro", prefix=f"`{get_settings().key_prefix}`"))
    counter = persisted("counter")
    st.session_state.setdefault(counter, 0)
    if st.button(t("sample.increment"), key="increment"):
        st.session_state[counter] += 1
    st.metric(t("sample.counter"), st.session_state[counter])
    st.text_input(t("sample.comment"), key=persisted("comment"))
    # A table and a file: Streamlit cannot restore these widgets, their persistent versions can.
    st.caption(t("sample.table_and_file"))
    persistent_data_editor("tasks", pd.DataFrame({"task": [t("sample.task")], "done": [False]}))
    persistent_file_uploader("attachment", t("sample.attachment"))


# Processes saved by an earlier version of this page are migrated when opened (migrations.py).
with persistent_app(migrations=load_migrations(Path(__file__).parent)):
    st.navigation(
        [
            st.Page(sample_page, title=t("sample.title")),
            st.Page("new_process.py", title=t("nav.new")),
        ]
    ).run()
