"""The expense table and the uploaded CSV in a real browser: two quick edits and an added
row, a CSV upload, then a reload, a server restart and a round trip through another
process. The grid is a canvas: the test clicks and types in it as a user does, and reads
what it draws from the grid's accessible copy of its cells.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

pytest.importorskip("playwright.sync_api", reason="playwright is not installed (uv sync)")

from playwright.sync_api import Browser, FilePayload, Page, expect

from persistence.storage import StorageInterface
from persistence.ui.widgets import StoredFile, stored_file
from tests.app_driver import MAIN_STRINGS as t
from tests.e2e.conftest import StreamlitServer
from tests.e2e.steps import (
    add_row,
    assert_no_exception,
    choose_process,
    data_editor,
    edit_cell,
    expect_process_open,
    go_to,
    grid_cells,
    key,
    new_page,
    process_url,
    wait_until_stored,
    widget,
)

pytestmark = pytest.mark.e2e

NAME = "2025年1月_経費"
OTHER = "2025年2月_経費"
CSV = StoredFile("経費.csv", "text/csv", "item,amount\n会場,120000\n印刷,9000\n".encode())
# item, amount, paid: as the grid draws them (a missing "paid" is an unticked box).
DEFAULT = [t("expenses.venue"), "120000", "true", t("expenses.catering"), "80000", "false"]
EDITED = [t("expenses.venue"), "150000", "true", "会場", "80000", "false", "印刷", "9000", "false"]


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    opened = new_page(browser)
    yield opened
    opened.context.close()


def open_tables(page: Page, url: str, name: str) -> None:
    page.goto(process_url(url, name))
    expect_process_open(page, name)
    go_to(page, "tables")
    expect(data_editor(page, "expenses")).to_be_visible()


def table_of(state: dict[str, Any]) -> list[list[str]]:
    """The stored items and amounts as text (``<NA>`` for a cell not filled in yet)."""
    table = state.get(key("expenses"))
    if table is None:
        return []
    return [[str(value) for value in table[column]] for column in ("item", "amount")]


def expect_table(page: Page, cells: list[str]) -> None:
    expect(grid_cells(data_editor(page, "expenses"))).to_have_text(cells)
    expect(page.get_by_test_id("stVegaLiteChart")).to_be_visible()  # drawn from the table


def expect_file(page: Page, kept: StoredFile | None) -> None:
    """The kept file is listed, with a Remove button, and its table drawn; or nothing."""
    upload = widget(page, "_upload_csv")
    expect(upload.locator("input[type=file]")).to_have_count(1)  # the new, empty uploader
    remove = widget(page, "_upload_csv_remove")
    if kept is None:
        expect(remove).to_have_count(0)
        expect(page.get_by_test_id("stDataFrame")).to_have_count(1)  # the editor alone
    else:
        expect(remove).to_be_visible()
        expect(upload).to_contain_text(f"{kept.name} · {kept.size:,}")
        # The CSV's own table under the editor, read back from the kept bytes:
        expect(page.get_by_test_id("stDataFrame")).to_have_count(2)
        expect(page.get_by_text(t("tables.csv_shape", rows=2, columns=2))).to_be_visible()
    assert_no_exception(page)


def test_the_table_and_the_file_come_back(
    streamlit_server: StreamlitServer, browser: Browser, page: Page, store: StorageInterface
) -> None:
    store.create_process(NAME)
    store.create_process(OTHER)
    open_tables(page, streamlit_server.url, NAME)
    grid = data_editor(page, "expenses")
    expect_table(page, DEFAULT)

    # Two edits in quick succession (the second is typed before the first run is drawn),
    # then a new row, filled in.
    edit_cell(grid, 0, 1, "150000")
    edit_cell(grid, 1, 0, "会場")
    add_row(grid)
    edit_cell(grid, 2, 0, "印刷")
    edit_cell(grid, 2, 1, "9000")
    expect_table(page, EDITED)
    wanted = [[t("expenses.venue"), "会場", "印刷"], ["150000", "80000", "9000"]]
    wait_until_stored(store, NAME, lambda state: table_of(state) == wanted, f"{wanted}", page)

    upload = widget(page, "_upload_csv").locator("input[type=file]")
    upload.set_input_files(FilePayload(name=CSV.name, mimeType=CSV.type, buffer=CSV.data))
    wait_until_stored(store, NAME, lambda state: stored_file(state.get(key("csv"))) == CSV, "CSV")
    expect_file(page, CSV)

    page.reload()  # a new session: the table, the chart and the file are back
    expect_table(page, EDITED)
    expect_file(page, CSV)

    streamlit_server.restart()  # only the store remembers: open the link in a new context
    page.context.close()
    page = new_page(browser)
    open_tables(page, streamlit_server.url, NAME)
    expect_table(page, EDITED)
    expect_file(page, CSV)

    choose_process(page, OTHER)  # another process: its own (default) table, no file
    expect_process_open(page, OTHER)
    expect_table(page, DEFAULT)
    expect_file(page, None)
    choose_process(page, NAME)
    expect_process_open(page, NAME)
    expect_table(page, EDITED)
    expect_file(page, CSV)
    page.context.close()
