"""Two replicas behind the project's own nginx config, as ``compose.yaml`` deploys them.

Two browsers, pinned to different replicas by the proxy's route cookie, work on one process:
a colleague's change shows without a touch (live updates) and leaves half-typed text alone;
the colleague is told who changed what and undoes it from the history, live on my page;
then the replica serving the first browser is killed, and the page carries on through the
proxy on the other replica with every value the user had entered.
"""

from __future__ import annotations

import time
from typing import Any

import pytest

pytest.importorskip("playwright.sync_api", reason="playwright is not installed (uv sync)")

from playwright.sync_api import Browser, Page, expect

from persistence.history import HistoryStore
from persistence.settings import get_settings
from persistence.storage import StorageInterface
from persistence.ui.sidebar import author_name
from persistence.ui.strings import t
from tests.e2e.conftest import StreamlitServer
from tests.e2e.steps import (
    StreamTap,
    expect_process_open,
    key,
    new_page,
    process_url,
    wait_until_saved,
    widget,
)
from tests.nginx_proxy import Proxy

pytestmark = pytest.mark.e2e

NAME = "共有_週次レポート"
LIVE_WITHIN_MS = 5_000


def route_to(proxy: Proxy, replica: StreamlitServer) -> str:
    """A route cookie value that the proxy maps to ``replica``."""
    for attempt in range(200):
        route = f"route-{attempt}"
        if proxy.upstream_for(route).endswith(f":{replica.port}"):
            return route
    raise AssertionError(f"no route reaches the replica on port {replica.port}")


def open_through(
    proxy: Proxy, browser: Browser, replica: StreamlitServer
) -> tuple[Page, StreamTap]:
    page = new_page(browser)
    page.context.add_cookies(
        [{"name": "streamlit_route", "value": route_to(proxy, replica), "url": proxy.url}]
    )
    tap = StreamTap(page)
    page.goto(process_url(proxy.url, NAME))
    expect_process_open(page, NAME)
    return page, tap


def type_into(page: Page, name: str, text: str) -> None:
    field = widget(page, key(name)).locator("input, textarea").first
    field.fill(text)
    field.press("Tab")  # commit: text inputs and areas save on blur


def set_progress(page: Page, value: int) -> None:
    slider = widget(page, key("progress")).locator('input[type="range"]')
    slider.focus()
    slider.press("Home")
    for _ in range(value // 10):
        slider.press("PageUp")
    expect(slider).to_have_value(str(value))


def expect_values(page: Page, values: dict[str, Any], timeout: float | None = None) -> None:
    expect(widget(page, key("owner")).locator("input")).to_have_value(
        values[key("owner")], timeout=timeout
    )
    expect(widget(page, key("notes")).locator("textarea")).to_have_value(
        values[key("notes")], timeout=timeout
    )
    expect(widget(page, key("progress")).locator('input[type="range"]')).to_have_value(
        str(values[key("progress")]), timeout=timeout
    )


def test_live_updates_and_failover_through_the_proxy(
    replicas: list[StreamlitServer], proxy: Proxy, browser: Browser, store: StorageInterface
) -> None:
    first, second = replicas
    store.create_process(NAME)
    mine, my_tap = open_through(proxy, browser, first)
    colleague, _ = open_through(proxy, browser, second)

    values: dict[str, Any] = {
        key("owner"): "山田 太郎",
        key("notes"): "在庫を確認",
        key("progress"): 60,
    }
    type_into(mine, "owner", values[key("owner")])
    type_into(mine, "notes", values[key("notes")])
    set_progress(mine, values[key("progress")])
    wait_until_saved(store, NAME, values, mine)  # acknowledged: it is in the store

    # Live: the colleague, on the other replica, sees it without touching anything.
    saved_at = time.monotonic()
    expect_values(colleague, values, timeout=LIVE_WITHIN_MS)
    live_delay = time.monotonic() - saved_at

    # Half-typed text survives a change that arrives from elsewhere.
    draft = widget(colleague, key("notes")).locator("textarea")
    draft.fill("まだ途中の文")  # focused, not committed
    values = {**values, key("owner"): "佐藤 花子"}
    type_into(mine, "owner", values[key("owner")])
    expect(widget(colleague, key("owner")).locator("input")).to_have_value(
        values[key("owner")], timeout=LIVE_WITHIN_MS
    )
    expect(draft).to_have_value("まだ途中の文")
    type_into(colleague, "notes", values[key("notes")])  # the colleague thinks better of it

    # The colleague is told who changed what, and undoes it from the history: it is undone
    # on my page too, live.
    mine_last = HistoryStore(store, get_settings().history).changes(NAME)[0]
    told = t(
        "status.changed_by",
        who=author_name(mine_last.by),
        keys="owner",
        time=mine_last.at.astimezone().strftime("%H:%M:%S"),
    )
    expect(colleague.get_by_text(told)).to_be_visible(timeout=LIVE_WITHIN_MS)
    widget(colleague, "show_history").get_by_text(t("sidebar.history")).click()
    widget(colleague, f"undo_change_{mine_last.id}").get_by_role("button").click()
    values = {**values, key("owner"): "山田 太郎"}
    expect_values(mine, values, timeout=LIVE_WITHIN_MS)
    wait_until_saved(store, NAME, values, mine)

    # Failover: the replica serving my browser dies; the page carries on through the proxy.
    killed_at = time.monotonic()
    first.stop(kill=True)
    my_tap.wait_for_connection(2)
    expect_values(mine, values)
    back_after = time.monotonic() - killed_at
    assert proxy.upstream_for(route_to(proxy, second)).endswith(f":{second.port}")

    # The reconnected page keeps working on the surviving replica: an edit is saved ...
    values = {**values, key("progress"): 80}
    set_progress(mine, 80)
    wait_until_saved(store, NAME, values, mine)
    expect_values(mine, values)
    # ... and the colleague, who was on that replica all along, sees it too.
    expect_values(colleague, values, timeout=LIVE_WITHIN_MS)

    # A new session after the failover opens the same process with every value.
    fresh = new_page(browser)
    fresh.goto(process_url(proxy.url, NAME))
    expect_values(fresh, values)
    print(f"\nlive update delay {live_delay:.2f} s; kill -> values back {back_after:.2f} s")
    for page in (mine, colleague, fresh):
        page.context.close()
