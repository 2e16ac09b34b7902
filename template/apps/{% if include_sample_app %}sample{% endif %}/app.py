"""A minimal app that shows the pattern: ``streamlit run apps/sample/app.py``.

No page code mentions storage: keys that start with the prefix are saved by
``persistent_app`` to the process chosen in the sidebar.
"""

from pathlib import Path

import streamlit as st

from persistence import StringTable, get_settings, persisted, persistent_app

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


with persistent_app():
    st.navigation(
        [
            st.Page(sample_page, title=t("sample.title")),
            st.Page("new_process.py", title=t("nav.new")),
        ]
    ).run()
