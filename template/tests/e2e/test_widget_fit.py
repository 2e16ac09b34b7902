"""A process saved by one version of a page, opened after the server restarted with a
changed page (a number box whose maximum went from 1000 to 100): the page draws, the
sidebar names the key whose saved value no longer fits, the saved value stays until the
user edits the box, and then the edit is saved."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("playwright.sync_api", reason="playwright is not installed (uv sync)")

from playwright.sync_api import Browser, expect

from tests.conftest import StoreFactory
from tests.e2e.conftest import StreamlitServer
from tests.e2e.steps import (
    assert_no_exception,
    key,
    new_page,
    process_url,
    wait_until_saved,
    widget,
)

pytestmark = pytest.mark.e2e

NAME = "採点"
PAGE = """
import streamlit as st

from persistence import persistent_app, persisted

with persistent_app():
    st.number_input("Score", 0, {maximum}, key=persisted("score"))
"""


def test_a_saved_value_the_changed_page_cannot_take(
    make_store: StoreFactory, browser: Browser, tmp_path: Path
) -> None:
    if make_store.backend != "json":  # the check is the binding's; make test's budget
        pytest.skip("the widget-fit browser test runs on the JSON project (AppTest covers all)")
    store = make_store()  # the real clock, as the server has
    store.create_process(NAME)
    app = tmp_path / "app.py"
    app.write_text(PAGE.format(maximum=1000), encoding="utf-8")
    server = StreamlitServer(make_store, tmp_path / "streamlit.log", app=app)
    server.start()
    try:
        page = new_page(browser)
        page.goto(process_url(server.url, NAME))
        score = widget(page, key("score")).locator("input")
        score.fill("250")
        score.press("Enter")
        wait_until_saved(store, NAME, {key("score"): 250})
        page.context.close()

        app.write_text(PAGE.format(maximum=100), encoding="utf-8")
        server.restart()
        page = new_page(browser)
        page.goto(process_url(server.url, NAME))
        score = widget(page, key("score")).locator("input")
        expect(score).to_have_value("0")
        notice = page.get_by_test_id("stSidebar").get_by_test_id("stAlert")
        expect(notice).to_contain_text(key("score"))
        assert_no_exception(page)
        # The selector's value is the name; the update time is not part of it (#25).
        expect(widget(page, "active_process").locator("input")).to_have_value(NAME)
        snapshot = store.read_process(NAME)
        assert snapshot is not None and snapshot.state[key("score")] == 250

        score.fill("7")
        score.press("Enter")
        wait_until_saved(store, NAME, {key("score"): 7})
        expect(notice).to_have_count(0)
        page.context.close()
    finally:
        server.stop()
