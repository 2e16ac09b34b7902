"""The real app under AppTest. A fresh AppTest on the same storage is a reload, a new
browser session or a server restart: nothing survives but what was stored."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest
from streamlit.testing.v1 import AppTest

from persistence.binding import ProcessCatalog
from persistence.errors import ProcessExistsError, StorageUnavailableError
from persistence.history import HistoryStore
from persistence.settings import get_settings
from persistence.ui.sidebar import SHOWN_PROCESSES, author_name, describe_change, short_time
from persistence.ui.strings import describe, t
from tests.app_driver import CHECKLIST, NAME, NEW, REPORT, create, key, start, visit
from tests.conftest import FakeClock, StoreFactory

# Tests marked `persistence` here check the sidebar's and the engine's mechanics, the same
# whatever the other answers: they run with each backend's whole suite, not in every
# combination's fast suite.


def fill_report(at: AppTest) -> None:
    visit(at, REPORT)
    at.text_input(key=key("owner")).input("山田")
    at.slider(key=key("progress")).set_value(60)
    at.text_area(key=key("notes")).input("最初のメモ")
    at.date_input(key=key("due_date")).set_value(dt.date(2025, 1, 31))
    at.multiselect(key=key("tags")).select("urgent")
    at.checkbox(key=key("done")).check()
    at.checkbox(key="show_details").check()
    at.run()
    assert not at.exception, at.exception


def assert_report_restored(at: AppTest) -> None:
    visit(at, REPORT)
    assert at.text_input(key=key("owner")).value == "山田"
    assert at.slider(key=key("progress")).value == 60
    assert at.text_area(key=key("notes")).value == "最初のメモ"
    assert at.date_input(key=key("due_date")).value == dt.date(2025, 1, 31)
    assert at.multiselect(key=key("tags")).value == ["urgent"]
    assert at.checkbox(key=key("done")).value is True


@pytest.fixture
def filled(app_storage: StoreFactory) -> StoreFactory:
    at = create(start(), NAME)
    assert at.selectbox(key="active_process").value == NAME
    assert at.query_params["process"] == [NAME] or at.query_params["process"] == NAME
    fill_report(at)
    return app_storage


def test_prefixed_keys_are_saved_without_page_code(filled: StoreFactory) -> None:
    saved = filled().load_process(NAME)
    assert saved == {
        key("owner"): "山田",
        key("progress"): 60,
        key("notes"): "最初のメモ",
        key("due_date"): dt.date(2025, 1, 31),
        key("tags"): ["urgent"],
        key("done"): True,
    }


@pytest.mark.parametrize(
    "reopen",
    [
        pytest.param(lambda: start(NAME), id="reload-with-link"),
        pytest.param(lambda: start(), id="new-session-picks-in-sidebar"),
    ],
)
def test_state_comes_back_in_a_new_session(
    filled: StoreFactory, reopen: Callable[[], AppTest]
) -> None:
    at = reopen()
    if at.selectbox(key="active_process").value != NAME:
        at.selectbox(key="active_process").select(NAME).run()
    assert_report_restored(at)


def test_state_survives_visiting_a_page_without_the_widgets(filled: StoreFactory) -> None:
    at = start(NAME)
    visit(at, CHECKLIST)
    visit(at, NEW)
    assert_report_restored(at)


def test_switching_to_another_process_and_back(filled: StoreFactory) -> None:
    at = create(start(NAME), "second")
    visit(at, REPORT)
    assert at.text_input(key=key("owner")).value == ""
    at.text_input(key=key("owner")).input("other owner").run()
    at.selectbox(key="active_process").select(NAME).run()
    assert_report_restored(at)
    at.selectbox(key="active_process").select("second").run()
    visit(at, REPORT)
    assert at.text_input(key=key("owner")).value == "other owner"


@pytest.mark.persistence
def test_an_unchanged_rerun_writes_nothing(filled: StoreFactory) -> None:
    store = filled()
    at = start(NAME)
    visit(at, REPORT)
    revision = store.process_revision(NAME)
    for _ in range(3):
        at.run()
    assert store.process_revision(NAME) == revision


@pytest.mark.persistence
def test_restoring_never_overwrites_what_the_user_just_typed(filled: StoreFactory) -> None:
    at = start(NAME)
    visit(at, REPORT)
    at.text_input(key=key("owner")).input("typed now").run()
    at.run()
    assert at.text_input(key=key("owner")).value == "typed now"
    assert filled().load_process(NAME)[key("owner")] == "typed now"  # type: ignore[index]


def test_the_sidebar_lists_processes_with_their_last_update(filled: StoreFactory) -> None:
    at = create(start(NAME), "second")
    assert at.selectbox(key="active_process").options[:2] == ["second", NAME]


def test_the_minute_turning_over_between_two_edits_keeps_the_process_open(
    app_storage: StoreFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The selector's options are the names (its value goes to the browser and back as
    its label); the update time is a caption under it."""
    import persistence.binding

    clock = FakeClock()
    clock.now = dt.datetime(2025, 1, 6, 9, 0, 59, tzinfo=dt.UTC)
    opened = vars(persistence.binding)["open_storage"]  # the test's store, closed with it
    monkeypatch.setattr("persistence.binding.open_storage", lambda: opened(clock=clock))
    # The process list read on every run (not every two seconds): the update time the
    # sidebar shows follows each save.
    monkeypatch.setattr(
        "persistence.binding.ProcessCatalog", lambda store: ProcessCatalog(store, ttl=0)
    )
    app_storage(clock).create_process(NAME)
    at = start(NAME)
    visit(at, REPORT)
    at.text_input(key=key("owner")).input("first").run()
    clock.advance(seconds=2)  # 09:01:01
    at.text_input(key=key("owner")).input("second").run()
    at.text_input(key=key("owner")).input("third").run()
    assert not at.exception, at.exception
    assert not at.sidebar.error, [error.value for error in at.sidebar.error]
    assert at.selectbox(key="active_process").value == NAME
    assert at.selectbox(key="active_process").options == [NAME]
    assert (app_storage(clock).load_process(NAME) or {})[key("owner")] == "third"
    assert t("sidebar.updated", when=short_time(clock.now)) in [
        caption.value for caption in at.sidebar.caption
    ]


def fill(app_storage: StoreFactory, count: int) -> None:
    """``count`` processes, ``process 000`` the least recently updated."""
    clock = FakeClock()
    clock.now = dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)
    store = app_storage(clock)
    for index in range(count):
        store.create_process(f"process {index:03d}")
        clock.advance(seconds=1)


def names_offered(at: AppTest) -> list[str]:
    return list(at.selectbox(key="active_process").options)


@pytest.mark.persistence
def test_many_processes_offer_the_most_recent_and_a_search_box(
    app_storage: StoreFactory,
) -> None:
    fill(app_storage, SHOWN_PROCESSES + 10)
    at = start("process 000")  # the least recent: not among those listed
    offered = names_offered(at)
    assert len(offered) == SHOWN_PROCESSES + 1
    assert offered[:3] == ["process 000", "process 059", "process 058"]  # open one first
    assert t("sidebar.more", total=SHOWN_PROCESSES + 10, shown=SHOWN_PROCESSES) in [
        caption.value for caption in at.sidebar.caption
    ]
    at.sidebar.text_input(key="process_search").input("PROCESS 00").run()
    assert names_offered(at) == [f"process {index:03d}" for index in range(9, -1, -1)]
    at.selectbox(key="active_process").select("process 005").run()
    assert at.selectbox(key="active_process").value == "process 005"
    assert at.query_params["process"] in (["process 005"], "process 005")
    at.sidebar.text_input(key="process_search").input("nothing like it").run()
    assert names_offered(at) == ["process 005"]
    assert t("sidebar.no_match", query="nothing like it") in [
        caption.value for caption in at.sidebar.caption
    ]


@pytest.mark.persistence
def test_a_few_processes_need_no_search_box(app_storage: StoreFactory) -> None:
    fill(app_storage, 3)
    at = start()
    assert names_offered(at) == ["process 002", "process 001", "process 000"]
    assert "process_search" not in [widget.key for widget in at.sidebar.text_input]


@pytest.mark.persistence
def test_a_listing_that_fails_keeps_the_open_process_selectable(
    filled: StoreFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    at = start(NAME)

    def down(catalog: ProcessCatalog) -> None:
        raise StorageUnavailableError("the server is down")

    monkeypatch.setattr(ProcessCatalog, "_current", down)
    at.run()
    assert not at.exception, at.exception
    assert any("the server is down" in str(warning.value) for warning in at.sidebar.warning)
    assert names_offered(at) == [NAME]


@pytest.mark.persistence
def test_a_search_is_worked_out_once_per_listing(app_storage: StoreFactory) -> None:
    fill(app_storage, 120)
    catalog = ProcessCatalog(app_storage(), ttl=60)
    shown, matching = catalog.find(" Process 1", 5)
    assert matching == 20  # process 100 to process 119
    assert [info.name for info in shown] == [f"process {index}" for index in range(119, 114, -1)]
    assert catalog.find("process 1", 5)[0] is shown  # the same list: no second scan
    assert catalog.find("", 3)[1] == 120
    info = catalog.info("process 000")
    assert info is not None and info.name == "process 000"
    assert catalog.info("nothing") is None


def test_an_unstorable_value_shows_a_warning_naming_the_key(filled: StoreFactory) -> None:
    at = start(NAME)
    at.session_state[key("frame")] = object()
    at.session_state[key("plain")] = "still saved"
    at.run()
    warnings = " ".join(str(w.value) for w in at.sidebar.warning)
    assert key("frame") in warnings
    assert filled().load_process(NAME)[key("plain")] == "still saved"  # type: ignore[index]


def test_values_over_a_limit_show_a_message_naming_the_key_and_the_rest_is_saved(
    filled: StoreFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PERSIST_MAX_VALUE_BYTES", "1000")
    get_settings.cache_clear()
    at = start(NAME)
    at.session_state[key("scan")] = b"x" * 1000  # a third more as saved (base64)
    at.session_state[key("plain")] = "still saved"
    at.run()
    warnings = " ".join(str(w.value) for w in at.sidebar.warning)
    assert key("scan") in warnings and "1,000" in warnings
    saved = filled().load_process(NAME) or {}
    assert saved[key("plain")] == "still saved" and key("scan") not in saved


@pytest.mark.parametrize("bad", ["   ", "x" * 201, "tab\there"])
def test_bad_names_are_refused_with_a_message(app_storage: StoreFactory, bad: str) -> None:
    at = create(start(), bad)
    assert at.error, "expected an error message"
    assert app_storage().list_processes() == []


def test_a_duplicate_name_is_refused(filled: StoreFactory) -> None:
    at = create(start(), NAME)
    assert describe(ProcessExistsError(NAME)) in [str(e.value) for e in at.error]


def test_rename_and_delete_with_confirmation(filled: StoreFactory) -> None:
    at = start(NAME)
    at.sidebar.text_input(key="rename_process_name").input("renamed")
    at.sidebar.button(key="rename_process").click().run()
    assert at.selectbox(key="active_process").value == "renamed"
    store = filled()
    assert store.load_process("renamed") is not None
    assert store.load_process(NAME) is None
    at.sidebar.button(key="delete_process").click().run()
    assert store.process_exists("renamed"), "deleting needs a confirmation"
    at.sidebar.button(key="confirm_delete_process").click().run()
    assert not store.process_exists("renamed")
    assert at.selectbox(key="active_process").value is None


def test_duplicate_opens_a_copy_holding_the_edit_sent_with_the_click(
    filled: StoreFactory,
) -> None:
    at = start(NAME)
    visit(at, REPORT)
    at.text_input(key=key("owner")).input("佐藤")  # committed by the click below
    at.sidebar.text_input(key="copy_process_name").input("2025年2月_週次レポート")
    at.sidebar.button(key="copy_process").click().run()
    assert not at.exception, at.exception
    assert at.selectbox(key="active_process").value == "2025年2月_週次レポート"
    assert at.text_input(key=key("owner")).value == "佐藤"
    store = filled()
    original, copy = store.load_process(NAME), store.load_process("2025年2月_週次レポート")
    assert original is not None and original[key("owner")] == "佐藤"
    assert copy == original
    at.sidebar.button(key="copy_process").click().run()  # no name typed: a default one
    assert at.selectbox(key="active_process").value == t(
        "sidebar.copy_default", name="2025年2月_週次レポート"
    )
    at.sidebar.text_input(key="copy_process_name").input(NAME)
    at.sidebar.button(key="copy_process").click().run()
    assert describe(ProcessExistsError(NAME)) in [str(e.value) for e in at.sidebar.error]


def test_the_history_lists_changes_and_undoes_and_restores_them(filled: StoreFactory) -> None:
    at = start(NAME)
    visit(at, REPORT)
    at.text_input(key=key("owner")).input("佐藤").run()
    at.sidebar.toggle(key="show_history").set_value(True).run()
    # newest first: the edit, the filling-in, the widgets' defaults of the first visit
    edited, filling, _ = HistoryStore(filled(), get_settings().history).changes(NAME)
    line = describe_change(edited, key(""))
    assert line in [caption.value for caption in at.sidebar.caption]
    assert t("history.save", keys="owner") in line
    assert t("history.guest", tag="") in line
    at.sidebar.button(key=f"undo_change_{edited.id}").click().run()
    assert at.text_input(key=key("owner")).value == "山田"
    at.sidebar.button(key=f"restore_change_{edited.id}").click().run()
    assert at.text_input(key=key("owner")).value == "佐藤"
    at.sidebar.button(key=f"restore_change_{filling.id}").click().run()
    assert at.text_input(key=key("owner")).value == "山田"
    assert not at.exception, at.exception
    saved = filled().load_process(NAME)
    assert saved is not None and saved[key("owner")] == "山田"


def test_expired_processes_are_not_offered(app_storage: StoreFactory) -> None:
    from tests.conftest import FakeClock

    old_clock = FakeClock()
    old_clock.now = dt.datetime.now(dt.UTC) - dt.timedelta(days=get_settings().retention_days + 1)
    app_storage(old_clock).save_process("stale", {key("owner"): "old"})
    at = start("stale")
    assert at.selectbox(key="active_process").options == []
    assert at.sidebar.error, "a link to an expired process explains itself"


@pytest.mark.persistence
def test_a_process_deleted_in_another_session_is_not_brought_back(filled: StoreFactory) -> None:
    mine, theirs = start(NAME), start(NAME)
    visit(mine, REPORT)
    theirs.sidebar.button(key="delete_process").click().run()
    theirs.sidebar.button(key="confirm_delete_process").click().run()
    mine.text_input(key=key("owner")).input("typed after the delete").run()
    assert not filled().process_exists(NAME)
    assert t("status.gone") in [str(e.value) for e in mine.sidebar.error]


def test_a_change_made_in_another_session_shows_on_the_next_rerun(filled: StoreFactory) -> None:
    mine, theirs = start(NAME), start(NAME)
    visit(mine, REPORT)
    visit(theirs, REPORT)
    theirs.text_input(key=key("owner")).input("changed elsewhere").run()
    mine.slider(key=key("progress")).set_value(80).run()
    assert mine.text_input(key=key("owner")).value == "changed elsewhere"
    assert filled().load_process(NAME)[key("progress")] == 80  # type: ignore[index]
    assert filled().load_process(NAME)[key("owner")] == "changed elsewhere"  # type: ignore[index]
    colleague = HistoryStore(filled(), get_settings().history).changes(NAME)[1]
    named = t(
        "status.changed_by",
        who=author_name(colleague.by),
        keys="owner",
        time=colleague.at.astimezone().strftime("%H:%M:%S"),
    )
    assert named in [caption.value for caption in mine.sidebar.caption]


@pytest.mark.parametrize(
    "url", ["mongodb://db/processes", "json:////dev/null/processes", "sqlite:////dev/null/x.db"]
)
@pytest.mark.persistence
def test_a_storage_url_that_cannot_work_is_explained_not_a_traceback(
    app_storage: StoreFactory, monkeypatch: pytest.MonkeyPatch, url: str
) -> None:
    scheme = url.split(":", 1)[0]
    if scheme in {"json", "sqlite"} and scheme != app_storage.backend:
        pytest.skip(f"this project has no {scheme} backend")
    monkeypatch.setenv("PERSIST_STORAGE_URL", url)
    get_settings.cache_clear()
    at = start()
    assert not at.exception
    assert at.error, "the reason is shown"
    assert not at.selectbox, "nothing else is drawn on a storage that cannot work"
