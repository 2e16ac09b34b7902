"""The sidebar with many processes, drawn by Streamlit itself (``AppTest``): a whole rerun of
an app that has only the sidebar, against the same sidebar offering every process (naive)
and against Streamlit drawing the same widgets without this package (raw floor)."""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import sys
from collections.abc import Iterator

import streamlit as st
from streamlit.testing.v1 import AppTest

from persistence.expiry import stop_expiry
from persistence.settings import get_settings
from persistence.ui import sidebar
from scripts.benchmark.measure import Row, interleaved, timed, verdict
from scripts.benchmark.scenarios import Sizes
from scripts.benchmark.target import Target

TARGET_SIDEBAR_VS_FLOOR = 1.5

APP = """
import persistence.ui.sidebar as sidebar
sidebar.SHOWN_PROCESSES = __SHOWN__
with sidebar.persistent_app():
    pass
"""

# What the sidebar draws (header, search box, selector with its labels, caption, status
# slot), by Streamlit alone: no storage, no session, no catalog.
BARE_WIDGETS = """
import streamlit as st
names = ["process %05d" % index for index in range(__SHOWN__)]
with st.sidebar:
    st.header("Process")
    st.text_input("Search processes", key="process_search", placeholder="Part of a name")
    st.selectbox("Active process", names, index=None, key="active_process",
                 placeholder="Choose a process", format_func=lambda name: name + " · updated")
    st.caption("The __SHOWN__ most recently updated of __TOTAL__ processes are listed.")
    st.container()
"""


@contextlib.contextmanager
def app_on(url: str, namespace: str) -> Iterator[None]:
    """Point ``persistent_app`` at ``url`` as a deployment would (environment variables),
    with a fresh server store; put everything back afterwards."""
    wanted = {
        "PERSIST_STORAGE_URL": url,
        "PERSIST_NAMESPACE": namespace,
        "PERSIST_PROCESS_SCOPE": "shared",
        "PERSIST_LIVE_UPDATE_SECONDS": "0",
    }
    saved = {name: os.environ.get(name) for name in wanted}
    quiet = logging.getLogger("streamlit.runtime.scriptrunner_utils.script_run_context")
    level = quiet.level
    quiet.setLevel(logging.ERROR)  # "missing ScriptRunContext": AppTest outside a server
    os.environ.update(wanted)
    get_settings.cache_clear()
    st.cache_resource.clear()
    try:
        yield
    finally:
        stop_expiry()
        st.cache_resource.clear()
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        get_settings.cache_clear()
        quiet.setLevel(level)


def sidebar_scenario(target: Target, sizes: Sizes) -> Row:
    """A rerun of the sidebar over the listing scenario's processes (already created)."""
    shown = sidebar.SHOWN_PROCESSES
    url, namespace = target.listing_location()
    with app_on(url, namespace):
        apps = [
            AppTest.from_string(APP.replace("__SHOWN__", str(shown)), default_timeout=120),
            AppTest.from_string(APP.replace("__SHOWN__", str(sys.maxsize)), default_timeout=120),
            AppTest.from_string(
                BARE_WIDGETS.replace("__SHOWN__", str(shown)).replace(
                    "__TOTAL__", str(sizes.processes)
                )
            ),
        ]

        def rerun(app: AppTest) -> int:
            elapsed = timed(app.run)
            if app.exception:
                raise SystemExit(f"the sidebar app failed: {app.exception}")
            return elapsed

        try:
            timing, naive, bare = interleaved(
                sizes.sidebar_rounds, [functools.partial(rerun, app) for app in apps]
            )
            offered = [len(app.selectbox(key="active_process").options) for app in apps[:2]]
        finally:
            sidebar.SHOWN_PROCESSES = shown
    ratio = timing.median / bare.median
    return Row(
        f"sidebar rerun, {sizes.processes:,} processes",
        timing,
        naive,
        bare,
        f"≤ {TARGET_SIDEBAR_VS_FLOOR}x raw floor",
        verdict(ratio <= TARGET_SIDEBAR_VS_FLOOR),
        [
            f"AppTest.run of an app that draws only the sidebar; options sent to the browser "
            f"per rerun: {offered[0]:,} (naive, every process: {offered[1]:,}); raw floor: "
            f"Streamlit drawing the same widgets with {shown} options and no storage; the p95 "
            "includes the re-listing the server does every 2 s"
        ],
    )
