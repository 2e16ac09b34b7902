"""The main app in a real browser: create a process with a Japanese name, fill the Report
page, and find every value again after a reload, a server crash and restart (through the
``?process=`` link, in a fresh browser context) and a round trip through another process.

Widgets are found by their key: Streamlit puts the CSS class ``st-key-<key>`` on each keyed
element's container, so the test does not depend on the UI language.
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("playwright.sync_api", reason="playwright is not installed (uv sync)")

from playwright.sync_api import Browser, Page, expect

from persistence.storage import StorageInterface
from tests.app_driver import MAIN_STRINGS as t
from tests.e2e.conftest import StreamlitServer
from tests.e2e.steps import (
    HIDE_TOASTS,
    assert_no_exception,
    choose_process,
    create_process,
    expect_process_open,
    go_to,
    key,
    new_page,
    process_url,
    wait_until_saved,
    widget,
)

pytestmark = pytest.mark.e2e

FIRST = "2025年1月_週次レポート"
SECOND = "2025年2月_週次レポート"
OWNER = "山田 太郎"
PROGRESS = 70
NOTES = "売上は前週比 +5%。\n来週: 在庫の確認"
DUE = dt.date(2025, 1, 31)
TAG = "urgent"


def expected_state() -> dict[str, Any]:
    return {
        key("owner"): OWNER,
        key("progress"): PROGRESS,
        key("notes"): NOTES,
        key("due_date"): DUE,
        key("tags"): [TAG],
        key("done"): True,
    }


def fill_report(page: Page) -> None:
    expect(page.locator(f".st-key-{key('owner')}")).to_be_visible()
    owner = widget(page, key("owner")).locator("input")
    owner.fill(OWNER)
    owner.press("Enter")

    slider = widget(page, key("progress")).locator('input[type="range"]')
    slider.focus()
    slider.press("Home")
    for _ in range(PROGRESS // 10):
        slider.press("PageUp")  # one tenth of the range
    expect(slider).to_have_value(str(PROGRESS))

    widget(page, key("due_date")).locator('[data-type="year"]').click()
    page.keyboard.type(DUE.strftime("%Y%m%d"))  # the segments advance by themselves
    page.keyboard.press("Tab")

    tags = widget(page, key("tags")).locator("input")
    tags.click()
    tags.fill(t(f"tags.{TAG}"))
    tags.press("Enter")
    tags.press("Escape")

    notes = widget(page, key("notes")).locator("textarea")
    notes.fill(NOTES)
    notes.press("Tab")  # a text area commits on blur

    widget(page, key("done")).locator("label").click()


def expect_report(page: Page) -> None:
    """Every value of ``fill_report`` is on screen."""
    expect(widget(page, key("owner")).locator("input")).to_have_value(OWNER)
    expect(widget(page, key("progress")).locator('input[type="range"]')).to_have_value(
        str(PROGRESS)
    )
    expect(widget(page, key("notes")).locator("textarea")).to_have_value(NOTES)
    expect(widget(page, key("done")).locator('input[type="checkbox"]')).to_be_checked()
    date = widget(page, key("due_date"))
    for segment, value in (("year", DUE.year), ("month", DUE.month), ("day", DUE.day)):
        expect(date.locator(f'[data-type="{segment}"]')).to_have_attribute(
            "aria-valuenow", str(value)
        )
    expect(widget(page, key("tags"))).to_contain_text(t(f"tags.{TAG}"))
    assert_no_exception(page)


def expect_empty_report(page: Page) -> None:
    expect(widget(page, key("owner")).locator("input")).to_have_value("")
    expect(widget(page, key("progress")).locator('input[type="range"]')).to_have_value("0")
    expect(widget(page, key("notes")).locator("textarea")).to_have_value("")
    expect(widget(page, key("done")).locator('input[type="checkbox"]')).not_to_be_checked()
    expect(widget(page, key("tags"))).not_to_contain_text(t(f"tags.{TAG}"))
    assert_no_exception(page)


def screenshot_path(tmp_path: Path) -> Path:
    path = Path(os.environ.get("E2E_SCREENSHOT") or tmp_path / "report.png")
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


# -- the scenario --------------------------------------------------------------------------


def test_values_survive_reload_restart_and_process_switch(
    streamlit_server: StreamlitServer, browser: Browser, store: StorageInterface, tmp_path: Path
) -> None:
    page = new_page(browser)
    page.goto(streamlit_server.url)
    expect(widget(page, "active_process")).to_be_visible()

    create_process(page, FIRST)
    go_to(page, "")
    fill_report(page)
    expect_report(page)
    wait_until_saved(store, FIRST, expected_state())
    # The picture is for the docs: without the toast that covers the top of the page.
    page.screenshot(path=screenshot_path(tmp_path), style=HIDE_TOASTS)

    # A reload is a new Streamlit session: the URL's ?process= reopens the process.
    page.reload()
    expect_report(page)

    # A crash and restart: only the store remembers. Open the shared link in a new context.
    streamlit_server.restart()
    page.context.close()
    page = new_page(browser)
    page.goto(process_url(streamlit_server.url, FIRST))
    expect_process_open(page, FIRST)
    expect_report(page)

    # A second process starts empty, and switching back and forth mixes nothing up.
    create_process(page, SECOND)
    go_to(page, "")
    expect_empty_report(page)
    for name, expect_screen in ((FIRST, expect_report), (SECOND, expect_empty_report)) * 2:
        choose_process(page, name)
        expect_process_open(page, name)
        expect_screen(page)

    wait_until_saved(store, FIRST, expected_state())
    second = store.read_process(SECOND)
    assert second is not None
    assert second.state.get(key("owner"), "") == ""
    assert second.state.get(key("done"), False) is False
    page.context.close()
