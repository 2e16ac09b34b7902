"""An edit of the expense table survives every way of leaving the page right after it, and
is saved on top of what is stored (issue #18).

Each round edits one amount and leaves at once: a page link clicked while the cell editor
is still open (the click commits the edit), or Enter and then, 200-500 ms later, a page
link, a process switch or a link followed by the browser's back button. The edit is
saved, and coming back, the grid, the total and the store agree. The rounds alternate
between the two rows, so each edit is also "the next edit" of the round before: the store
must keep both. When the click
that commits an open editor also leaves the page within Streamlit's 150 ms debounce, the
browser never sends the edit (checked on the page's WebSocket): the old value must then
agree everywhere. Each gesture runs ``REPEAT`` times (``QUICK_CLICK_REPEATS``, as in
``test_quick_clicks``) on one server and one page. Two sessions editing different cells at
once keep both edits, and each shows the other's.
"""

from __future__ import annotations

import itertools
import os
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("playwright.sync_api", reason="playwright is not installed (uv sync)")

from playwright.sync_api import Browser, Page, expect

from persistence.storage import StorageInterface
from tests.app_driver import MAIN_STRINGS as t
from tests.conftest import StoreFactory
from tests.e2e.conftest import StreamlitServer
from tests.e2e.steps import (
    TIMEOUT_MS,
    choose_process,
    data_editor,
    expect_process_open,
    go_to,
    grid_cells,
    key,
    nav_link,
    new_page,
    process_url,
    type_into_cell,
    wait_for_app_run,
    wait_until_stored,
)

pytestmark = pytest.mark.e2e

REPEAT = int(os.environ.get("QUICK_CLICK_REPEATS", "10"))
SESSION_ROUNDS = 3
NAME = "表の編集"
OTHER = "他の経費"
DEFAULT_AMOUNTS = [120_000, 80_000]
# A person's pace after Enter, past the ~150 ms in which the grid has not sent the edit yet
# (FIELD-NOTES 14: a click inside that window loses the edit in Streamlit itself).
PAUSES_AFTER_ENTER_MS = itertools.cycle([200, 300, 400, 500])


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    opened = new_page(browser)
    yield opened
    opened.context.close()


def amounts(state: dict[str, Any] | None) -> list[int]:
    table = (state or {}).get(key("expenses"))
    return [] if table is None else [int(value) for value in table["amount"]]


def expect_stored(store: StorageInterface, wanted: list[int], page: Page, name: str = NAME) -> None:
    wait_until_stored(store, name, lambda state: amounts(state) == wanted, f"{wanted}", page)


def expect_agree(page: Page, store: StorageInterface, name: str, wanted: list[int]) -> None:
    """The store holds ``wanted``; the grid and the total show it."""
    expect_stored(store, wanted, page, name)
    venue, catering = t("expenses.venue"), t("expenses.catering")
    cells = [venue, str(wanted[0]), "true", catering, str(wanted[1]), "false"]
    expect(grid_cells(data_editor(page, "expenses"))).to_have_text(cells)
    expect(page.get_by_text(t("tables.total", total=f"{sum(wanted):,}"))).to_be_visible()
    wait_for_app_run(page)  # a grid started again replaces this one: edit the new one
    expect(grid_cells(data_editor(page, "expenses"))).to_have_text(cells)


def open_tables(page: Page, url: str, name: str) -> None:
    page.goto(process_url(url, name))
    expect_process_open(page, name)
    go_to(page, "tables")
    expect(grid_cells(data_editor(page, "expenses"))).to_have_count(6)
    wait_for_app_run(page)


class SentFrames:
    """Every message the page sent to the server: whether an edit left the browser at all."""

    def __init__(self, page: Page) -> None:
        """Before the page opens its WebSocket: a socket opened earlier is not seen."""
        self.frames: list[bytes] = []
        page.on("websocket", lambda socket: socket.on("framesent", self._sent))

    def _sent(self, payload: str | bytes) -> None:
        self.frames.append(payload.encode() if isinstance(payload, str) else payload)

    def carried(self, value: int, since: int) -> bool:
        """Whether a frame since ``since`` carried a cell edited to ``value``: the grid sends
        ``{"edited_rows":{"0":{"amount":1001}},...}`` (a bare number could be part of a
        widget's id)."""
        edited = re.compile(rb'":' + str(value).encode() + rb"[,}]")
        return any(edited.search(frame) for frame in self.frames[since:])


class Rounds:
    """The edits so far, one round after the other on alternating rows."""

    def __init__(self, page: Page, store: StorageInterface, sent: SentFrames) -> None:
        self.page = page
        self.store = store
        self.sent = sent
        self.wanted = list(DEFAULT_AMOUNTS)
        self.count = 0

    def run(self, *, enter: bool, leave: Callable[[], None], come_back: Callable[[], None]) -> None:
        """``REPEAT`` rounds: edit an amount, leave at once (the cell editor still open, or
        after Enter and a pause), come back; the grid, the total and the store agree."""
        never_sent = 0
        for _ in range(REPEAT):
            row = self.count % 2
            self.count += 1
            before, self.wanted[row] = self.wanted[row], 1000 * (row + 1) + self.count
            since = len(self.sent.frames)
            type_into_cell(data_editor(self.page, "expenses"), row, 1, str(self.wanted[row]))
            if enter:
                self.page.keyboard.press("Enter")
                self.page.wait_for_timeout(next(PAUSES_AFTER_ENTER_MS))
            leave()
            if enter or self.sent.carried(self.wanted[row], since):
                # Saved before the user comes back, who does so later than a test can; the
                # grid is checked once back.
                expect_stored(self.store, self.wanted, self.page)
            else:
                # The click both committed the editor and left the page, within the 150 ms
                # in which Streamlit's grid holds an edit back: the browser never sent it
                # (FIELD-NOTES 14), so no server can keep it. The rest must still agree.
                self.wanted[row] = before
                never_sent += 1
            come_back()
            expect_agree(self.page, self.store, NAME, self.wanted)
        print(f"\n{never_sent} of {REPEAT} edits never left the browser (enter={enter})")


def test_an_edit_then_leaving_at_once_is_kept_and_the_next_edit_keeps_it(
    streamlit_server: StreamlitServer, page: Page, store: StorageInterface
) -> None:
    store.create_process(NAME)
    store.create_process(OTHER)
    sent = SentFrames(page)
    open_tables(page, streamlit_server.url, NAME)
    rounds = Rounds(page, store, sent)

    def leave_by_link() -> None:
        nav_link(page, "checklist").click()
        # The grid sends the edit the click committed 150 ms later (Streamlit's debounce): a
        # click back within that window would unmount it unsent. Users come back later.
        wait_for_app_run(page)

    def back_by_link() -> None:
        # The click that commits an open cell editor may be lost (Streamlit keeps the page
        # on Tables); coming back must agree either way.
        go_to(page, "tables")

    rounds.run(enter=False, leave=leave_by_link, come_back=back_by_link)
    rounds.run(enter=True, leave=leave_by_link, come_back=back_by_link)

    def leave_by_process() -> None:
        choose_process(page, OTHER)
        expect_process_open(page, OTHER)

    def back_by_process() -> None:
        choose_process(page, NAME)
        expect_process_open(page, NAME)

    rounds.run(enter=True, leave=leave_by_process, come_back=back_by_process)
    assert amounts(store.load_process(OTHER)) in ([], DEFAULT_AMOUNTS)  # nothing went there

    def leave_for_report() -> None:
        go_to(page, "")
        # Streamlit adds the page to the history once the new page has run: a Back before
        # that goes one page further back (the other process, here).
        expect(page).to_have_url(process_url(streamlit_server.url, NAME))

    def browser_back() -> None:
        page.go_back()

    rounds.run(enter=True, leave=leave_for_report, come_back=browser_back)


def test_an_edit_whose_run_is_superseded_before_it_draws_the_grid_is_kept(
    make_store: StoreFactory, page: Page, store: StorageInterface, tmp_path: Path
) -> None:
    """A busy server: the run the edit came with is held at its start (the controlled
    server's gate) while the user follows a link or switches the process. That run ends
    before it draws the grid, and the next one draws another page or process: the edit is
    still saved, to the process it was made in."""
    store.create_process(NAME)
    store.create_process(OTHER)
    server = StreamlitServer(make_store, tmp_path / "streamlit.log", controls=tmp_path)
    server.start()
    gate = tmp_path / "gate"
    try:
        sent = SentFrames(page)
        open_tables(page, server.url, NAME)
        wanted = list(DEFAULT_AMOUNTS)

        def edit_while_held(row: int, amount: int, leave: Callable[[], None]) -> None:
            since = len(sent.frames)
            type_into_cell(data_editor(page, "expenses"), row, 1, str(amount))
            gate.touch()
            try:
                page.keyboard.press("Enter")
                for _ in range(TIMEOUT_MS // 50):  # the browser sends it 150 ms after Enter
                    if sent.carried(amount, since):
                        break
                    page.wait_for_timeout(50)
                page.wait_for_timeout(300)  # the edit's run has begun, and waits
                leave()
                page.wait_for_timeout(300)  # the next request has reached the server
            finally:
                gate.unlink()
            wanted[row] = amount

        edit_while_held(0, 1111, lambda: nav_link(page, "checklist").click())
        expect_stored(store, wanted, page)
        go_to(page, "tables")
        expect_agree(page, store, NAME, wanted)

        edit_while_held(1, 2222, lambda: choose_process(page, OTHER))
        expect_process_open(page, OTHER)
        expect_stored(store, wanted, page)
        assert amounts(store.load_process(OTHER)) in ([], DEFAULT_AMOUNTS)  # nothing went there
        choose_process(page, NAME)
        expect_process_open(page, NAME)
        expect_agree(page, store, NAME, wanted)
    finally:
        server.stop()


def test_two_sessions_edit_different_cells_at_once(
    streamlit_server: StreamlitServer, browser: Browser, page: Page, store: StorageInterface
) -> None:
    """Both type, then both press Enter: neither grid had the other's edit. Both edits are
    stored, and each session shows both by its next live update."""
    store.create_process(NAME)
    other = new_page(browser)
    try:
        open_tables(page, streamlit_server.url, NAME)
        open_tables(other, streamlit_server.url, NAME)
        wanted = list(DEFAULT_AMOUNTS)
        # Each round waits for a live update; the race itself is the sync engine's tests'
        # (test_sync.py): a few rounds show it end to end.
        for attempt in range(min(REPEAT, SESSION_ROUNDS)):
            mine, theirs = attempt % 2, 1 - attempt % 2  # the rows swap every round
            wanted[mine], wanted[theirs] = 3000 + attempt, 4000 + attempt
            type_into_cell(data_editor(page, "expenses"), mine, 1, str(wanted[mine]))
            type_into_cell(data_editor(other, "expenses"), theirs, 1, str(wanted[theirs]))
            page.keyboard.press("Enter")
            other.keyboard.press("Enter")
            expect_agree(page, store, NAME, wanted)
            expect_agree(other, store, NAME, wanted)
    finally:
        other.context.close()
