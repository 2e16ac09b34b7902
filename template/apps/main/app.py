"""Entrypoint of the main app: ``streamlit run apps/main/app.py``.

Every session-state key that starts with the configured prefix (``persist_`` by default)
is saved to the active process by ``persistent_app``; pages need no persistence code.
"""

from pathlib import Path

import streamlit as st

from persistence import StringTable, get_settings, load_migrations, persistent_app

APP = Path(__file__).parent
PAGES = APP / "app_pages"
# This app's wording, in the configured language.
t = StringTable.load(APP / "strings.toml")

st.set_page_config(page_title=get_settings().app_title, layout="wide")

# Processes saved before a key was renamed or reshaped are migrated when opened (migrations.py).
with persistent_app(migrations=load_migrations(APP)):
    navigation = st.navigation(
        [
            st.Page(
                PAGES / "report.py",
                title=t("nav.report"),
                icon=":material/description:",
                default=True,
            ),
            st.Page(PAGES / "checklist.py", title=t("nav.checklist"), icon=":material/checklist:"),
            st.Page(PAGES / "tables.py", title=t("nav.tables"), icon=":material/table:"),
            st.Page(PAGES / "new_process.py", title=t("nav.new"), icon=":material/add:"),
        ]
    )
    navigation.run()
