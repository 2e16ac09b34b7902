"""What the browser tests do in a page, shared by every browser test module.

Widgets are found by their key: Streamlit puts the CSS class ``st-key-<key>`` on each keyed
element's container, so the tests do not depend on the UI language. Import this module
only after ``pytest.importorskip("playwright.sync_api")``.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

from playwright.sync_api import Browser, Locator, Page, WebSocketRoute, expect
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from persistence import codec
from persistence.settings import get_settings
from persistence.storage import StorageInterface

TIMEOUT_MS = 20_000
REOPEN_AFTER_MS = 4_000  # a selector list that shows no options by then has closed again
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


def new_page(browser: Browser) -> Page:
    """A fresh browser context (no cookies, no storage) and one page in it."""
    context = browser.new_context(viewport={"width": 1280, "height": 760})
    context.set_default_timeout(TIMEOUT_MS)
    return context.new_page()


def process_url(base: str, name: str) -> str:
    return f"{base}/?process={quote(name, safe='')}"


def assert_no_exception(page: Page) -> None:
    expect(page.locator('[data-testid="stException"]')).to_have_count(0)


def nav_link(page: Page, url_path: str) -> Locator:
    """The sidebar link of a page (``""`` is the default page, Report)."""
    links = page.locator('[data-testid="stSidebarNavLink"]')
    expect(links.first).to_be_visible()  # the navigation is drawn in one piece
    pattern = re.compile(rf"^https?://[^/]+/{re.escape(url_path)}(\?.*)?$")
    for index in range(links.count()):
        if pattern.match(links.nth(index).get_attribute("href") or ""):
            return links.nth(index)
    raise AssertionError(f"no sidebar link to /{url_path}")


def go_to(page: Page, url_path: str) -> None:
    nav_link(page, url_path).click()


def expect_process_open(page: Page, name: str) -> None:
    expect(page).to_have_url(re.compile(re.escape(f"process={quote(name, safe='')}")))
    expect(widget(page, "active_process").locator("input")).to_have_value(
        re.compile(re.escape(name))
    )


def create_process(page: Page, name: str) -> None:
    go_to(page, "new_process")
    field = widget(page, "new_process_name").locator("input")
    field.fill(name)
    field.press("Enter")
    widget(page, "create_process").locator("button").click()
    expect_process_open(page, name)
    assert_no_exception(page)


def choose_process(page: Page, name: str) -> None:
    """Pick ``name`` in the sidebar selector (returns before the switch is drawn).

    A run that finishes just as the list opens redraws the sidebar, and the list can close
    again before its options show (seen once in 30 rounds of a loaded CI run): a user then
    opens it a second time, and so does this step."""
    selector = widget(page, "active_process").locator("input")
    option = page.get_by_role("option").filter(has_text=name)
    deadline = time.monotonic() + TIMEOUT_MS / 1000
    while True:
        selector.click()
        try:
            option.click(timeout=REOPEN_AFTER_MS)
            return
        except PlaywrightTimeoutError:
            if time.monotonic() > deadline:
                raise


def wait_until_saved(
    store: StorageInterface, name: str, expected: dict[str, Any], page: Page | None = None
) -> None:
    """Poll the store until ``name`` holds ``expected``: the app saves at the end of a run.
    Pass the ``page`` when a ``StreamTap`` sits on it: the tap forwards the server's messages
    only while Playwright runs, so the wait must be Playwright's."""
    wait_until_stored(
        store,
        name,
        lambda state: all(codec.same_value(state.get(k), v) for k, v in expected.items()),
        f"{expected!r}",
        page,
    )


def wait_until_stored(
    store: StorageInterface,
    name: str,
    holds: Callable[[dict[str, Any]], bool],
    what: str,
    page: Page | None = None,
) -> None:
    """Poll the store until the state of ``name`` ``holds``."""
    deadline = time.monotonic() + TIMEOUT_MS / 1000
    state: dict[str, Any] | None = None
    while time.monotonic() < deadline:
        snapshot = store.read_process(name)
        state = None if snapshot is None else dict(snapshot.state)
        if state is not None and holds(state):
            return
        if page is None:
            time.sleep(0.1)
        else:
            page.wait_for_timeout(100)
    raise AssertionError(f"{name} never held {what}; last read: {state!r}")


# -- the data editor: a canvas (Glide Data Grid) --------------------------------------------
ROW_HEIGHT_PX = 35  # Streamlit's default row height; the header row is as high
FIRST_COLUMN_X = 60  # inside the first data column, right of the row markers


def data_editor(page: Page, name: str) -> Locator:
    """The grid of ``persistent_data_editor(name, ...)``."""
    grid = page.locator(f".st-key-_table_{name} [data-testid='stDataFrame']")
    expect(grid.locator("canvas").first).to_be_visible()
    return grid


def grid_cells(grid: Locator) -> Locator:
    """The cells the grid draws, row by row, as text: the grid keeps an accessible copy
    of what it draws on its canvas."""
    return grid.locator("td[role='gridcell']")


def edit_cell(grid: Locator, row: int, column: int, text: str) -> None:
    """Type ``text`` into the cell at data row ``row`` and column ``column`` (both from 0)
    and press Enter, as a user does. Returns without waiting for the app's run."""
    type_into_cell(grid, row, column, text)
    grid.page.keyboard.press("Enter")
    expect(cell_editor(grid.page)).to_have_count(0)  # the grid took it (the app has not run)


def cell_editor(page: Page) -> Locator:
    return page.get_by_test_id("portal").locator(".gdg-clip-region")


def grid_cell(grid: Locator, row: int, column: int) -> Locator:
    """The accessible copy of one cell (data row and column from 0): it says whether the
    cell is selected (``aria-selected``). The grid counts its row markers as column 0."""
    return grid.get_by_test_id(f"glide-cell-{column + 1}-{row}")


def type_into_cell(grid: Locator, row: int, column: int, text: str) -> None:
    """Open the editor of a cell and type ``text`` into it, leaving the editor open.

    As a user does with the keyboard: click the row's first cell, move right with the arrow
    keys, and Enter opens the editor. The click goes to another row's first cell first
    (the table needs two rows), for two reasons: a grid whose cell editor was closed by a
    click elsewhere takes the next click as focus only, and a click on the selected cell
    (a new row's first cell is) opens its editor at once. A double click is not reliable
    either: the grid opens the editor on a click on the cell it has selected, and the
    second click can land before the first one's selection is drawn."""
    page = grid.page
    for clicked in (1 if row == 0 else 0, row):
        grid.click(position={"x": FIRST_COLUMN_X, "y": ROW_HEIGHT_PX * (clicked + 1.5)})
    expect(grid_cell(grid, row, 0)).to_have_attribute("aria-selected", "true")
    for _ in range(column):
        page.keyboard.press("ArrowRight")
    expect(grid_cell(grid, row, column)).to_have_attribute("aria-selected", "true")
    page.keyboard.press("Enter")
    editor = cell_editor(page)
    expect(editor).to_be_visible()
    editor.locator("input, textarea").first.fill(text)


def grid_rows(grid: Locator) -> Locator:
    return grid.locator("tbody tr[role='row']")


def add_row(grid: Locator) -> None:
    """The toolbar's "Add row": an empty row at the end of the table, once the grid has
    drawn it (a click below the last row would hit the grid's own "add a row" line)."""
    rows = grid_rows(grid).count()
    grid.hover()
    toolbar = grid.get_by_test_id("stElementToolbar")
    expect(toolbar).to_have_css("opacity", "1")
    toolbar.get_by_test_id("stElementToolbarButton").get_by_label("Add row").click()
    expect(grid_rows(grid)).to_have_count(rows + 1)
    # The app's run for the new row redraws the grid, which closes a cell editor opened
    # meanwhile (what was typed in it is lost): a person starts typing later than this.
    wait_for_app_run(grid.page)


def wait_for_app_run(page: Page) -> None:
    """Wait until the run a change started has finished."""
    page.wait_for_timeout(200)  # the run starts once the browser's message arrived
    expect(page.get_by_test_id("stApp")).to_have_attribute("data-test-script-state", "notRunning")


class StreamTap:
    """Sits on the page's WebSocket to the Streamlit server: counts connections, and can hold
    back what the server sends, as a slow network or a busy browser would.

    While ``hold()`` is on, the server's messages from the first one that draws a
    ``persist_`` widget onwards wait (in order) until ``release()``: the browser has not
    drawn the widgets when the user clicks.
    """

    def __init__(self, page: Page) -> None:
        self.page = page
        self.connections = 0
        self.held: list[str | bytes] = []
        self._holding = False
        self._socket: WebSocketRoute | None = None
        page.route_web_socket(re.compile(r"/_stcore/stream$"), self._connect)

    def _connect(self, socket: WebSocketRoute) -> None:
        self.connections += 1
        self._socket = socket
        server = socket.connect_to_server()
        server.on_message(lambda message: self._from_server(socket, message))

    def _from_server(self, socket: WebSocketRoute, message: str | bytes) -> None:
        draws_widget = isinstance(message, bytes) and get_settings().key_prefix.encode() in message
        if self._holding and (self.held or draws_widget):
            self.held.append(message)
        else:
            socket.send(message)

    def hold(self) -> None:
        self._holding = True

    def wait_until_held(self, count: int = 1) -> None:
        deadline = time.monotonic() + TIMEOUT_MS / 1000
        while len(self.held) < count:
            assert time.monotonic() < deadline, "the server never sent the page's widgets"
            self.page.wait_for_timeout(20)

    def release(self) -> None:
        self._holding = False
        held, self.held = self.held, []
        if self._socket is not None:
            for message in held:
                self._socket.send(message)

    def wait_for_connection(self, count: int) -> None:
        """Wait until the page opened its ``count``-th connection and is connected again."""
        deadline = time.monotonic() + TIMEOUT_MS / 1000
        while self.connections < count:
            assert time.monotonic() < deadline, "the page never reconnected"
            self.page.wait_for_timeout(50)
        app = self.page.locator('[data-testid="stApp"]')
        expect(app).to_have_attribute("data-test-connection-state", "CONNECTED")
