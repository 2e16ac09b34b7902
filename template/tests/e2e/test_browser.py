"""The main app in a real browser: create a process with a Japanese name, fill the Report
page, and find every value again after a reload, a server crash and restart (through the
``?process=`` link, in a fresh browser context) and a round trip through another process.

Widgets are found by their key: Streamlit puts the CSS class ``st-key-<key>`` on each keyed
element's container, so the test does not depend on the UI language.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

pytest.importorskip("playwright.sync_api", reason="playwright is not installed (uv sync)")

from playwright.sync_api import (
    Browser,
    Locator,
    Page,
    Playwright,
    expect,
    sync_playwright,
)

from persistence.settings import get_settings
from persistence.storage import StorageInterface
from tests.app_driver import MAIN_STRINGS as t
from tests.conftest import StoreFactory
from tests.e2e.conftest import StreamlitServer

pytestmark = pytest.mark.e2e

FIRST = "2025年1月_週次レポート"
SECOND = "2025年2月_週次レポート"
OWNER = "山田 太郎"
PROGRESS = 70
NOTES = "売上は前週比 +5%。\n来週: 在庫の確認"
DUE = dt.date(2025, 1, 31)
TAG = "urgent"
TIMEOUT_MS = 20_000
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
HIDE_TOASTS = '[data-testid="stToastContainer"] { visibility: hidden; }'

expect.set_options(timeout=TIMEOUT_MS)


def key(name: str) -> str:
    return get_settings().key_prefix + name


def widget(page: Page, name: str) -> Locator:
    """The container of the widget with session-state key ``name``."""
    return page.locator(f".st-key-{name}")


def expected_state() -> dict[str, Any]:
    return {
        key("owner"): OWNER,
        key("progress"): PROGRESS,
        key("notes"): NOTES,
        key("due_date"): DUE,
        key("tags"): [TAG],
        key("done"): True,
    }


# -- browser -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="module")
def browser(playwright: Playwright, chromium_executable: str) -> Iterator[Browser]:
    launched = playwright.chromium.launch(executable_path=chromium_executable, args=CHROMIUM_ARGS)
    yield launched
    launched.close()


def new_page(browser: Browser) -> Page:
    """A fresh browser context (no cookies, no storage) and one page in it."""
    context = browser.new_context(viewport={"width": 1280, "height": 760})
    context.set_default_timeout(TIMEOUT_MS)
    return context.new_page()


@pytest.fixture
def store(make_store: StoreFactory) -> Iterator[StorageInterface]:
    """The server's store, opened by the test too: what the app saved, read back directly."""
    opened = make_store()
    yield opened
    opened.close()


# -- steps ---------------------------------------------------------------------------------


def assert_no_exception(page: Page) -> None:
    expect(page.locator('[data-testid="stException"]')).to_have_count(0)


def go_to(page: Page, url_path: str) -> None:
    """Click the sidebar link of a page (``""`` is the default page, Report)."""
    links = page.locator('[data-testid="stSidebarNavLink"]')
    expect(links.first).to_be_visible()  # the navigation is drawn in one piece
    pattern = re.compile(rf"^https?://[^/]+/{re.escape(url_path)}(\?.*)?$")
    for index in range(links.count()):
        if pattern.match(links.nth(index).get_attribute("href") or ""):
            links.nth(index).click()
            return
    raise AssertionError(f"no sidebar link to /{url_path}")


def create_process(page: Page, name: str) -> None:
    go_to(page, "new_process")
    field = widget(page, "new_process_name").locator("input")
    field.fill(name)
    field.press("Enter")
    widget(page, "create_process").locator("button").click()
    expect(page).to_have_url(re.compile(re.escape(f"process={quote(name, safe='')}")))
    expect(widget(page, "active_process").locator("input")).to_have_value(
        re.compile(re.escape(name))
    )
    assert_no_exception(page)


def choose_process(page: Page, name: str) -> None:
    widget(page, "active_process").locator("input").click()
    page.get_by_role("option").filter(has_text=name).click()
    expect(page).to_have_url(re.compile(re.escape(f"process={quote(name, safe='')}")))


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


def wait_until_saved(store: StorageInterface, name: str, expected: dict[str, Any]) -> None:
    """Poll the store until ``name`` holds ``expected``: the app saves at the end of a run."""
    deadline = time.monotonic() + TIMEOUT_MS / 1000
    state: dict[str, Any] | None = None
    while time.monotonic() < deadline:
        snapshot = store.read_process(name)
        state = None if snapshot is None else dict(snapshot.state)
        if state is not None and all(state.get(k) == v for k, v in expected.items()):
            return
        time.sleep(0.1)
    raise AssertionError(f"{name} never held {expected!r}; last read: {state!r}")


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
    page.goto(f"{streamlit_server.url}/?process={quote(FIRST, safe='')}")
    expect(widget(page, "active_process").locator("input")).to_have_value(
        re.compile(re.escape(FIRST))
    )
    expect_report(page)

    # A second process starts empty, and switching back and forth mixes nothing up.
    create_process(page, SECOND)
    go_to(page, "")
    expect_empty_report(page)
    choose_process(page, FIRST)
    expect_report(page)
    choose_process(page, SECOND)
    expect_empty_report(page)
    choose_process(page, FIRST)
    expect_report(page)

    wait_until_saved(store, FIRST, expected_state())
    second = store.read_process(SECOND)
    assert second is not None
    assert second.state.get(key("owner"), "") == ""
    assert second.state.get(key("done"), False) is False
    page.context.close()
