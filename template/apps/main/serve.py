"""The main app as an ASGI application: ``streamlit run apps/main/serve.py`` (what the image
runs) serves ``app.py`` plus the persistence layer's routes (``/_persist/ready``) on one
port. ``streamlit run apps/main/app.py`` still works; it has no readiness route.
"""

from pathlib import Path

import streamlit as st

from persistence.web import routes

app = st.App(Path(__file__).with_name("app.py"), routes=routes())
