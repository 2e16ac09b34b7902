"""Drive the real app under AppTest the way a user would: the tests' shared vocabulary."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest

from persistence import StringTable
from persistence.settings import get_settings
from tests.conftest import PROJECT_ROOT

MAIN_APP = str(PROJECT_ROOT / "apps" / "main" / "app.py")
MAIN_STRINGS = StringTable.load(PROJECT_ROOT / "apps" / "main" / "strings.toml")
REPORT = "app_pages/report.py"
CHECKLIST = "app_pages/checklist.py"
TABLES = "app_pages/tables.py"
NEW = "app_pages/new_process.py"
NAME = "2025年1月_週次レポート"


def key(name: str) -> str:
    return get_settings().key_prefix + name


def start(process: str | None = None, user: str | None = None) -> AppTest:
    """A new browser session, optionally opened on a ``?process=`` link, optionally
    signed in as ``user`` (an e-mail address)."""
    at = AppTest.from_file(MAIN_APP, default_timeout=60)
    if user is not None:
        at.user = {"is_logged_in": True, "email": user}
    if process is not None:
        at.query_params["process"] = process
    at.run()
    assert not at.exception, at.exception
    return at


def visit(at: AppTest, page: str) -> AppTest:
    at.switch_page(page).run()
    assert not at.exception, at.exception
    return at


def create(at: AppTest, name: str) -> AppTest:
    visit(at, NEW)
    at.text_input(key="new_process_name").input(name)
    at.button(key="create_process").click().run()
    assert not at.exception, at.exception
    return at
