"""The persistent data editor and file upload in the real app, under AppTest.

AppTest cannot click in a grid: a test sets the editor's edit state (``edited_rows``,
``added_rows``, ``deleted_rows``) on the widget's key before ``run()``, as the browser
sends it. The browser keeps that state, relative to the table the editor was given, and
sends all of it with every change; so does AppTest between runs.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import pytest
from pandas.testing import assert_frame_equal
from streamlit.testing.v1 import AppTest

from persistence.ui.strings import t as package_t
from persistence.ui.widgets import StoredFile, stored_file
from tests.app_driver import CHECKLIST, MAIN_STRINGS, NAME, TABLES, create, key, start, visit
from tests.conftest import StoreFactory

# Tests marked `persistence` here check the engine's handling of tables and files, the same
# whatever the other answers: they run with each backend's whole suite, not in every
# combination's fast suite (what the page shows in each language and scope: the others).

EXPENSES = key("expenses")
CSV = key("csv")


def editor(at: AppTest) -> Any:
    (found,) = at.data_editor
    assert (found.key or "").startswith("_table_"), found.key
    return found


def send_edits(
    at: AppTest,
    edited: dict[int, dict[str, Any]] | None = None,
    added: list[dict[str, Any]] | None = None,
    deleted: list[int] | None = None,
) -> AppTest:
    """What the browser sends after the user's edits: all of them since the grid was drawn."""
    at.session_state[editor(at).key] = {
        "edited_rows": edited or {},
        "added_rows": added or [],
        "deleted_rows": deleted or [],
    }
    at.run()
    assert not at.exception, at.exception
    return at


def saved_table(storage: StoreFactory, process: str = NAME, name: str = EXPENSES) -> pd.DataFrame:
    state = storage().load_process(process)
    assert state is not None
    table = state[name]
    assert isinstance(table, pd.DataFrame)
    return table


def on_screen(at: AppTest) -> pd.DataFrame:
    """The table the grid draws: the editor's data (the edits are the browser's)."""
    return editor(at).value


def previews(at: AppTest) -> list[Any]:
    """The read-only tables on the page (the uploaded CSV's)."""
    return [table for table in at.dataframe if table.editing_mode == "read_only"]


@pytest.fixture
def tables(app_storage: StoreFactory) -> AppTest:
    at = visit(create(start(), NAME), TABLES)
    assert not at.exception, at.exception
    return at


def test_edits_added_and_deleted_rows_are_saved_and_come_back(
    tables: AppTest, app_storage: StoreFactory
) -> None:
    default = saved_table(app_storage)  # a new process gets the page's default table
    assert list(default.columns) == ["item", "amount", "paid"]
    send_edits(
        tables,
        edited={0: {"amount": 150_000}},
        added=[{"item": "印刷", "amount": 9_000}],
        deleted=[1],
    )
    table = saved_table(app_storage)
    assert table["item"].tolist() == [default["item"][0], "印刷"]
    assert table["amount"].tolist() == [150_000, 9_000]
    assert isinstance(table.index, pd.RangeIndex), "rows are numbered again from 0"
    assert table.dtypes.equals(default.dtypes), "nullable dtypes survive an added row"

    again = visit(start(NAME), TABLES)  # a reload: a new session on the same process
    assert_frame_equal(on_screen(again), table)


@pytest.mark.persistence
def test_two_quick_edits_both_stay(tables: AppTest, app_storage: StoreFactory) -> None:
    """The editor keeps the table it was given while the edits accumulate: the second
    edit arrives with the first, relative to the same table, and neither reverts."""
    base = on_screen(tables)
    widget = editor(tables).key
    send_edits(tables, edited={0: {"amount": 1}})
    send_edits(tables, edited={0: {"amount": 1}, 1: {"amount": 2}})
    assert editor(tables).key == widget
    assert_frame_equal(on_screen(tables), base)
    assert saved_table(app_storage)["amount"].tolist() == [1, 2]
    tables.run()  # an unrelated rerun changes nothing
    assert saved_table(app_storage)["amount"].tolist() == [1, 2]


@pytest.mark.persistence
def test_an_unchanged_rerun_writes_nothing(tables: AppTest, app_storage: StoreFactory) -> None:
    send_edits(tables, edited={0: {"amount": 1}})
    revision = app_storage().process_revision(NAME)
    for _ in range(3):
        tables.run()
    assert app_storage().process_revision(NAME) == revision


def test_the_table_survives_a_page_switch(tables: AppTest, app_storage: StoreFactory) -> None:
    send_edits(tables, edited={1: {"item": "会場"}}, added=[{"item": "追加"}])
    table = saved_table(app_storage)
    visit(tables, CHECKLIST)
    visit(tables, TABLES)  # the widget and its edits went with the page: the table did not
    assert_frame_equal(on_screen(tables), table)
    send_edits(tables, edited={0: {"amount": 7}})
    assert saved_table(app_storage)["item"].tolist()[1:] == ["会場", "追加"]
    assert saved_table(app_storage)["amount"].tolist()[0] == 7


@pytest.mark.persistence
def test_each_process_has_its_own_table(tables: AppTest, app_storage: StoreFactory) -> None:
    send_edits(tables, edited={0: {"amount": 1}})
    first = saved_table(app_storage)
    visit(create(tables, "second"), TABLES)
    assert on_screen(tables)["amount"].tolist() != first["amount"].tolist()
    send_edits(tables, edited={0: {"amount": 2}})
    tables.selectbox(key="active_process").select(NAME).run()
    assert_frame_equal(on_screen(tables), first)
    assert saved_table(app_storage, "second")["amount"].tolist()[0] == 2


@pytest.mark.persistence
def test_another_sessions_save_shows_on_the_next_rerun(
    tables: AppTest, app_storage: StoreFactory
) -> None:
    mine, theirs = tables, visit(start(NAME), TABLES)
    send_edits(theirs, edited={0: {"item": "theirs"}})
    mine.run()
    assert on_screen(mine)["item"].tolist()[0] == "theirs"
    send_edits(mine, edited={1: {"item": "mine"}})  # my next edit starts from their table
    assert saved_table(app_storage)["item"].tolist()[:2] == ["theirs", "mine"]


@pytest.mark.persistence
def test_edits_of_different_cells_by_two_sessions_both_stay(
    tables: AppTest, app_storage: StoreFactory
) -> None:
    """My edit reaches the server after theirs was saved, in the run that would show theirs:
    it is applied on top of the stored table, not computed against the grid's stale base."""
    mine, theirs = tables, visit(start(NAME), TABLES)
    send_edits(theirs, edited={0: {"item": "theirs"}})
    send_edits(mine, edited={1: {"item": "mine"}})
    table = saved_table(app_storage)
    assert table["item"].tolist()[:2] == ["theirs", "mine"]
    assert_frame_equal(on_screen(mine), table)  # the grid started again on the stored table
    theirs.run()
    assert_frame_equal(on_screen(theirs), table)


@pytest.mark.persistence
def test_the_same_cell_edited_by_two_sessions_keeps_the_later_edit(
    tables: AppTest, app_storage: StoreFactory
) -> None:
    mine, theirs = tables, visit(start(NAME), TABLES)
    send_edits(theirs, edited={0: {"amount": 1}})
    send_edits(mine, edited={0: {"amount": 2}})
    assert saved_table(app_storage)["amount"].tolist()[0] == 2


@pytest.mark.persistence
def test_a_grid_that_dropped_its_edits_never_writes_the_old_values_back(
    tables: AppTest, app_storage: StoreFactory
) -> None:
    """The browser drew the grid afresh (a page switch that did not happen remounted it):
    its next edit state lacks the edit already stored. Only the new cell is written, and
    the grid starts again on the stored table."""
    send_edits(tables, edited={0: {"amount": 1}})
    send_edits(tables, edited={1: {"amount": 2}})  # a fresh grid: row 0 is not in it
    table = saved_table(app_storage)
    assert table["amount"].tolist() == [1, 2]
    assert_frame_equal(on_screen(tables), table)


@pytest.mark.persistence
def test_a_stale_edit_state_keeps_the_stored_cells() -> None:
    """The mechanism: an edited frame computed against an old base, reported while the
    stored table is newer, changes only the cells the edit state names."""
    from persistence.ui.widgets import _apply_edits

    base = pd.DataFrame({"a": pd.array([1, 2, 3], dtype="Int64"), "b": ["x", "y", "z"]})
    stored = base.assign(a=pd.array([10, 2, 3], dtype="Int64"))  # a colleague's save
    delta = {"edited_rows": {"2": {"b": "mine"}}, "added_rows": [{"a": 4}], "deleted_rows": [1]}
    grid = pd.DataFrame(
        {"a": pd.array([1, 3, 4], dtype="Int64"), "b": ["x", "mine", None]}, index=[0, 2, 3]
    )
    table = _apply_edits(stored, grid, 3, delta, {}, lost=False)
    assert table["a"].tolist() == [10, 3, 4]
    assert table["b"].tolist()[:2] == ["x", "mine"]
    assert isinstance(table.index, pd.RangeIndex)
    again = _apply_edits(table, grid, 3, delta, delta, lost=False)  # nothing new: no change
    assert_frame_equal(again, table)


@pytest.mark.persistence
def test_edits_whose_grid_did_not_draw_make_the_table_the_editor_would_return() -> None:
    """An edit state that came with a run that never draws its grid (a page link clicked
    meanwhile): the table is worked out with Streamlit's own parsing of the sent values."""
    from persistence.browser import edited_frame
    from persistence.ui.widgets import _like

    base = pd.DataFrame({"a": pd.array([1, 2, 3], dtype="Int64"), "b": ["x", "y", "z"]})
    original = base.copy(deep=True)
    delta = {"edited_rows": {"2": {"b": "mine"}}, "added_rows": [{"a": 4}], "deleted_rows": [1]}
    grid = edited_frame(base, delta)
    assert grid is not None
    assert grid["a"].tolist() == [1, 3, 4]
    assert grid["b"].tolist()[:2] == ["x", "mine"]
    assert _like(grid, base)["a"].dtype == base["a"].dtype
    assert_frame_equal(base, original)
    assert edited_frame(base, {"edited_rows": "not rows"}) is None


@pytest.mark.persistence
def test_edits_sent_with_a_page_link_whose_callback_never_ran_are_kept(
    tables: AppTest, app_storage: StoreFactory
) -> None:
    """The grid's state came with a request for another page, and Streamlit applied it
    without calling the editor's ``on_change`` (a newer request stopped the run that had the
    edit inside its callbacks; AppTest sets state without callbacks): the page's run takes
    the edit, for the process it was made in."""
    default = saved_table(app_storage)["amount"].tolist()
    tables.session_state[editor(tables).key] = {
        "edited_rows": {0: {"amount": 1}},
        "added_rows": [],
        "deleted_rows": [],
    }
    visit(tables, CHECKLIST)
    assert saved_table(app_storage)["amount"].tolist() == [1, default[1]]
    assert on_screen(visit(tables, TABLES))["amount"].tolist() == [1, default[1]]


def test_a_request_superseded_before_its_run_started_passes_its_edits_on() -> None:
    """A grid's edit came in one request and a page link in the next, before the first's run
    started: the link's request carries the edit (it reports only the new page's widgets)."""
    from types import SimpleNamespace

    from streamlit.proto.ClientState_pb2 import ClientState
    from streamlit.proto.WidgetStates_pb2 import WidgetStates
    from streamlit.runtime.scriptrunner_utils.script_requests import RerunData, ScriptRequests
    from streamlit.runtime.scriptrunner_utils.script_run_context_attr import (
        SCRIPT_RUN_CONTEXT_ATTR_NAME,
    )

    from persistence.browser import carry_unstarted_widget_states

    def states(**values: str) -> WidgetStates:
        made = WidgetStates()
        for widget_id, value in values.items():
            made.widgets.add(id=widget_id, string_value=value)
        return made

    def link_after(requests: Any, run_started: bool | None) -> dict[str, str]:
        thread = None
        if run_started is not None:
            context = SimpleNamespace(has_script_started=run_started)
            thread = SimpleNamespace(**{SCRIPT_RUN_CONTEXT_ATTR_NAME: context})
        runner = SimpleNamespace(_requests=requests, _script_thread=thread)
        link = ClientState()
        link.widget_states.CopyFrom(states(sidebar="new"))
        carry_unstarted_widget_states(SimpleNamespace(_scriptrunner=runner), link)
        return {state.id: state.string_value for state in link.widget_states.widgets}

    requests = ScriptRequests()
    requests.request_rerun(RerunData(widget_states=states(grid="edit", sidebar="old")))
    assert link_after(requests, run_started=None) == {"sidebar": "new", "grid": "edit"}
    requests.on_scriptrunner_ready()  # its run began, but not its callbacks yet
    assert link_after(requests, run_started=False) == {"sidebar": "new", "grid": "edit"}
    assert link_after(requests, run_started=True) == {"sidebar": "new"}  # applied
    assert link_after(ScriptRequests(), run_started=None) == {"sidebar": "new"}  # none waits
    assert link_after(SimpleNamespace(), run_started=None) == {"sidebar": "new"}  # internals


def test_streamlit_is_made_to_keep_superseded_widget_states() -> None:
    """The hook is installed on the Streamlit this project pins (it skips other internals)."""
    from streamlit.runtime.app_session import AppSession

    from persistence.browser import keep_superseded_widget_states

    keep_superseded_widget_states()
    keep_superseded_widget_states()  # once only
    assert getattr(AppSession.request_rerun, "keeps_superseded", False)


@pytest.mark.persistence
def test_a_table_the_app_assigns_replaces_the_grid(
    tables: AppTest, app_storage: StoreFactory
) -> None:
    send_edits(tables, edited={0: {"amount": 1}})
    replacement = pd.DataFrame(
        {
            "item": pd.array(["CSV"], dtype="string"),
            "amount": pd.array([3], dtype="Int64"),
            "paid": pd.array([False], dtype="boolean"),
        }
    )
    tables.session_state[EXPENSES] = replacement
    tables.run()
    assert_frame_equal(on_screen(tables), replacement)
    assert_frame_equal(saved_table(app_storage), replacement)


def test_a_file_is_kept_listed_removed_and_replaced(
    tables: AppTest, app_storage: StoreFactory
) -> None:
    tables.file_uploader(key="_upload_csv_0").set_value(
        ("予算.csv", b"item,amount\nvenue,1\n", "text/csv")
    ).run()
    assert not tables.exception, tables.exception
    state = app_storage().load_process(NAME) or {}
    assert stored_file(state[CSV]) == StoredFile("予算.csv", "text/csv", b"item,amount\nvenue,1\n")

    again = visit(start(NAME), TABLES)  # after a reload: listed, and the code gets its bytes
    assert any("予算" in str(line.value) for line in again.markdown)
    assert previews(again), "the page shows what the CSV holds"
    uploader = again.file_uploader[0]
    assert uploader.label == package_t("upload.replace", label=MAIN_STRINGS("tables.upload"))

    uploader.set_value(("new.csv", b"a\n1\n", "text/csv")).run()
    assert stored_file((app_storage().load_process(NAME) or {})[CSV]) == StoredFile(
        "new.csv", "text/csv", b"a\n1\n"
    )
    again.button(key="_upload_csv_remove").click().run()
    assert (app_storage().load_process(NAME) or {})[CSV] is None
    assert "_upload_csv_remove" not in [button.key for button in again.button]
    assert not previews(again)


@pytest.mark.persistence
def test_a_file_too_large_for_the_process_is_refused(
    tables: AppTest, app_storage: StoreFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    from persistence.settings import get_settings

    monkeypatch.setenv("PERSIST_MAX_PROCESS_BYTES", "4096")
    get_settings.cache_clear()
    tables.file_uploader(key="_upload_csv_0").set_value(("big.csv", b"x" * 5000, "text/csv"))
    tables.run()
    assert any("big.csv" in str(error.value) for error in tables.error)
    assert (app_storage().load_process(NAME) or {}).get(CSV) is None


@pytest.mark.persistence
def test_a_file_over_the_value_limit_is_refused_naming_the_key(
    tables: AppTest, app_storage: StoreFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    from persistence.settings import get_settings

    monkeypatch.setenv("PERSIST_MAX_VALUE_BYTES", "4096")  # the process limit stays 64 MiB
    get_settings.cache_clear()
    tables.file_uploader(key="_upload_csv_0").set_value(("big.csv", b"x" * 5000, "text/csv"))
    tables.run()
    assert not tables.exception, tables.exception
    messages = [str(error.value) for error in tables.error]
    assert any("big.csv" in text and CSV in text and "4,096" in text for text in messages)
    assert (app_storage().load_process(NAME) or {}).get(CSV) is None
    tables.file_uploader(key="_upload_csv_1").set_value(("small.csv", b"x" * 2000, "text/csv"))
    tables.run()  # a file that fits is kept
    assert stored_file((app_storage().load_process(NAME) or {})[CSV]) == StoredFile(
        "small.csv", "text/csv", b"x" * 2000
    )


def editor_with_a_changing_label() -> None:
    """An app whose editor's arguments change between runs (its column label)."""
    import pandas as pd
    import streamlit as st

    from persistence import persistent_app, persistent_data_editor

    with persistent_app():
        label = "B" if st.session_state.get("flip") else "A"
        persistent_data_editor(
            "numbers",
            pd.DataFrame({"a": [1, 2]}),
            num_rows="dynamic",
            column_config={"a": st.column_config.NumberColumn(label)},
        )


@pytest.mark.persistence
@pytest.mark.parametrize("signature", ["compared", "ignored"])
def test_other_editor_arguments_keep_the_edits(
    app_storage: StoreFactory, monkeypatch: pytest.MonkeyPatch, signature: str
) -> None:
    """New arguments make Streamlit start the widget afresh, without the browser's edits:
    the grid starts again on the saved table instead of writing the bare base over it.
    Also when the arguments are not compared (the widget's identity changed for another
    reason): then the run that finds the edits gone is rerun."""
    if signature == "ignored":
        import persistence.ui.widgets as widgets

        monkeypatch.setattr(widgets, "_signature", lambda kwargs: "")
    app_storage().create_process(NAME)
    at = AppTest.from_function(editor_with_a_changing_label, default_timeout=60)
    at.query_params["process"] = NAME
    at.run()
    numbers = key("numbers")
    send_edits(at, edited={0: {"a": 5}}, added=[{"a": 7}])
    assert saved_table(app_storage, name=numbers)["a"].tolist() == [5, 2, 7]
    at.session_state["flip"] = True
    at.run()
    assert not at.exception, at.exception
    assert on_screen(at)["a"].tolist() == [5, 2, 7]
    assert saved_table(app_storage, name=numbers)["a"].tolist() == [5, 2, 7]
    send_edits(at, edited={1: {"a": 0}})
    assert saved_table(app_storage, name=numbers)["a"].tolist() == [5, 0, 7]


@pytest.mark.persistence
def test_a_table_that_cannot_be_stored_warns_and_loses_nothing_else(
    tables: AppTest, app_storage: StoreFactory
) -> None:
    months = pd.DataFrame({"month": pd.period_range("2025-01", periods=2, freq="M")})
    tables.session_state[key("months")] = months
    send_edits(tables, edited={0: {"amount": 1}})
    warnings = " ".join(str(warning.value) for warning in tables.sidebar.warning)
    assert key("months") in warnings and "period" in warnings
    saved = app_storage().load_process(NAME) or {}
    assert key("months") not in saved
    assert saved[EXPENSES]["amount"].tolist()[0] == 1


@pytest.mark.persistence
def test_rows_added_by_the_editor_keep_the_tables_shape() -> None:
    """pandas 2 turns a nullable column into ``object`` when the editor adds a row; the
    table gets its dtypes back where no value is lost, and its RangeIndex."""
    from persistence.ui.widgets import _like

    base = pd.DataFrame(
        {
            "item": pd.array(["a"], dtype="string"),
            "kind": pd.Categorical(["x"], categories=["x"]),
        }
    )
    returned = pd.DataFrame(
        {"item": pd.array(["a", None], dtype=object), "kind": pd.array(["x", "new"], dtype=object)},
        index=pd.Index([0, 5]),
    )
    shaped = _like(returned, base)
    assert isinstance(shaped.index, pd.RangeIndex)
    assert shaped["item"].dtype == base["item"].dtype
    assert shaped["item"].isna().tolist() == [False, True]
    assert shaped["kind"].tolist() == ["x", "new"], "a value the categories lack is kept"
