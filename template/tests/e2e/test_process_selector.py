"""The minute of the open process's last update turns over between two edits (issue #25):
the sidebar keeps the process open, shows no false "does not exist", and gives the new time
under the selector. The selector's value is the process name; a label with the time in it
came back from the browser, a minute later, as a name that does not exist. The server's
clock is a file the test moves (``tests/e2e/controlled_server.py``): no waiting for a minute.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

pytest.importorskip("playwright.sync_api", reason="playwright is not installed (uv sync)")

from playwright.sync_api import Browser, expect

from persistence.ui.sidebar import short_time
from persistence.ui.strings import t
from tests.conftest import FakeClock, StoreFactory
from tests.e2e.conftest import StreamlitServer
from tests.e2e.steps import (
    expect_process_open,
    key,
    new_page,
    process_url,
    wait_for_app_run,
    wait_until_saved,
    widget,
)

pytestmark = pytest.mark.e2e

NAME = "分の変わり目"


def test_the_minute_turning_over_between_two_edits_keeps_the_process_open(
    make_store: StoreFactory, browser: Browser, tmp_path: Path
) -> None:
    clock, clock_file = FakeClock(), tmp_path / "clock"
    clock.now = datetime(2025, 1, 6, 9, 0, 59, tzinfo=UTC)
    clock_file.write_text(clock.now.isoformat(), encoding="utf-8")
    store = make_store(clock)
    store.create_process(NAME)
    server = StreamlitServer(make_store, tmp_path / "streamlit.log", controls=tmp_path)
    server.start()
    page = new_page(browser)
    try:
        page.goto(process_url(server.url, NAME))
        expect_process_open(page, NAME)
        owner = widget(page, key("owner")).locator("input")
        # The first edit is saved at 09:00:59, the second at 09:01:01; the third run draws
        # the new minute; the fourth is the edit after it (with a time in the selector's
        # label, the browser sent the old label back then: checked to fail on that code).
        for text in ("first", "second", "third", "fourth"):
            owner.fill(text)
            owner.press("Enter")
            wait_until_saved(store, NAME, {key("owner"): text}, page)
            wait_for_app_run(page)
            if text == "first":
                clock.advance(seconds=2)
                clock_file.write_text(clock.now.isoformat(), encoding="utf-8")
        sidebar = page.get_by_test_id("stSidebar")
        expect(
            sidebar.get_by_text(t("sidebar.updated", when=short_time(clock.now)))
        ).to_be_visible()
        expect(sidebar.get_by_test_id("stAlert")).to_have_count(0)
        expect_process_open(page, NAME)
        expect(owner).to_have_value("fourth")
    finally:
        page.context.close()
        server.stop()
