"""No saved value is lost to a quick click or to a server that restarts under an open tab.

Streamlit sends a value put into session state to the browser only with the run that put it
there. The tests below make the browser miss that run: ``StreamTap`` holds back the server's
messages that draw the page's widgets while the user clicks a sidebar link, as a slow network
or a busy browser would. Then the user touches another widget, and the screen and the store
must still hold the saved values. Each scenario runs ``REPEAT`` times (10, or
``QUICK_CLICK_REPEATS``: the template's own tests run 10 on one backend and fewer on the
others, as the race is the binding's, not the store's).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest

pytest.importorskip("playwright.sync_api", reason="playwright is not installed (uv sync)")

from playwright.sync_api import Browser, Page, expect

from persistence.storage import StorageInterface
from tests.e2e.conftest import StreamlitServer
from tests.e2e.steps import (
    StreamTap,
    choose_process,
    expect_process_open,
    go_to,
    key,
    nav_link,
    new_page,
    process_url,
    wait_until_saved,
    widget,
)

pytestmark = pytest.mark.e2e

REPEAT = int(os.environ.get("QUICK_CLICK_REPEATS", "10"))


def saved(owner: str, notes: str, progress: int) -> dict[str, Any]:
    return {
        key("owner"): owner,
        key("notes"): notes,
        key("progress"): progress,
        key("done"): False,
    }


WORK = saved("山田 太郎", "売上は前週比 +5%", 70)
OTHER = saved("Ken", "another process", 30)


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    opened = new_page(browser)
    yield opened
    opened.context.close()


def expect_on_screen(page: Page, values: dict[str, Any]) -> None:
    expect(widget(page, key("owner")).locator("input")).to_have_value(values[key("owner")])
    expect(widget(page, key("notes")).locator("textarea")).to_have_value(values[key("notes")])
    expect(widget(page, key("progress")).locator('input[type="range"]')).to_have_value(
        str(values[key("progress")])
    )
    done = widget(page, key("done")).locator('input[type="checkbox"]')
    if values[key("done")]:
        expect(done).to_be_checked()
    else:
        expect(done).not_to_be_checked()


def touch_another_widget(page: Page) -> None:
    widget(page, key("done")).locator("label").click()


def expect_kept(page: Page, store: StorageInterface, name: str, values: dict[str, Any]) -> None:
    """The saved values are on screen and in the store, plus the user's tick."""
    ticked = {**values, key("done"): True}
    expect_on_screen(page, ticked)
    wait_until_saved(store, name, ticked, page)


def click_report_before_the_page_is_drawn(page: Page, tap: StreamTap) -> None:
    tap.wait_until_held()
    nav_link(page, "").click()
    tap.release()


def test_a_quick_click_after_opening_a_link(
    streamlit_server: StreamlitServer, browser: Browser, store: StorageInterface
) -> None:
    for attempt in range(REPEAT):
        name = f"リンク_{attempt}"
        store.save_process(name, WORK)
        page = new_page(browser)  # a new browser session each time
        tap = StreamTap(page)
        tap.hold()
        page.goto(process_url(streamlit_server.url, name))
        click_report_before_the_page_is_drawn(page, tap)
        touch_another_widget(page)
        expect_kept(page, store, name, WORK)
        page.context.close()


def test_a_quick_click_after_a_sidebar_switch(
    streamlit_server: StreamlitServer, page: Page, store: StorageInterface
) -> None:
    pairs = [(f"切替元_{attempt}", f"切替先_{attempt}") for attempt in range(REPEAT)]
    for first, second in pairs:  # all before the first visit: the sidebar's list is cached
        store.save_process(first, OTHER)
        store.save_process(second, WORK)
    tap = StreamTap(page)
    for first, second in pairs:
        page.goto(process_url(streamlit_server.url, first))
        expect_on_screen(page, OTHER)
        tap.hold()
        choose_process(page, second)
        click_report_before_the_page_is_drawn(page, tap)
        expect_process_open(page, second)
        touch_another_widget(page)
        expect_kept(page, store, second, WORK)
        untouched = store.load_process(first) or {}
        assert {k: untouched.get(k) for k in OTHER} == OTHER


def test_a_quick_click_after_a_page_switch(
    streamlit_server: StreamlitServer, page: Page, store: StorageInterface
) -> None:
    tap = StreamTap(page)
    for attempt in range(REPEAT):
        name = f"ページ_{attempt}"
        store.save_process(name, WORK)
        page.goto(process_url(streamlit_server.url, name))
        expect_on_screen(page, WORK)
        go_to(page, "checklist")
        expect(widget(page, key("budget"))).to_be_visible()
        tap.hold()
        go_to(page, "")
        click_report_before_the_page_is_drawn(page, tap)
        touch_another_widget(page)
        expect_kept(page, store, name, WORK)


def test_an_edit_right_after_a_restart_is_saved_and_stays(
    streamlit_server: StreamlitServer, page: Page, store: StorageInterface
) -> None:
    name = "再起動"
    store.save_process(name, WORK)
    tap = StreamTap(page)
    page.goto(process_url(streamlit_server.url, name))
    expect_on_screen(page, WORK)
    values = WORK
    for attempt in range(REPEAT):
        streamlit_server.restart()  # same port: the open tab reconnects to the new server
        tap.wait_for_connection(attempt + 2)
        owner = widget(page, key("owner")).locator("input")
        values = {**values, key("owner"): f"担当 {attempt}"}
        owner.fill(values[key("owner")])
        owner.press("Enter")
        wait_until_saved(store, name, values, page)
        expect_on_screen(page, values)
