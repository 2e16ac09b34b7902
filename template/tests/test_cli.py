"""The `persist` command, as operators and scripts use it."""

from __future__ import annotations

import datetime as dt
import io
import json
from pathlib import Path

import pytest

from persistence.cli import EXPORT_VERSION, main
from tests.conftest import FakeClock, StoreFactory

STATE = {
    "persist_owner": "山田",
    "persist_due_date": dt.date(2025, 1, 31),
    "persist_range": (1, 5),
    "persist_when": dt.datetime(2025, 1, 6, 9, 30, tzinfo=dt.UTC),
}


def persist(make_store: StoreFactory, *args: str) -> tuple[int, str]:
    out = io.StringIO()
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("PERSIST_NAMESPACE", make_store.settings.namespace)
        from persistence.settings import get_settings

        get_settings.cache_clear()
        status = main(["--url", make_store.url, *args], out=out)
        get_settings.cache_clear()
    return status, out.getvalue()


def test_list_show_and_delete(make_store: StoreFactory) -> None:
    store = make_store()  # the real clock, as the command has
    store.save_process("2025年1月_週次レポート", STATE)
    status, listed = persist(make_store, "list")
    assert status == 0 and "2025年1月_週次レポート" in listed
    status, shown = persist(make_store, "show", "2025年1月_週次レポート")
    assert status == 0 and json.loads(shown)["persist_owner"] == "山田"
    assert persist(make_store, "delete", "2025年1月_週次レポート")[0] == 0
    assert persist(make_store, "show", "2025年1月_週次レポート")[0] == 1
    assert persist(make_store, "delete", "2025年1月_週次レポート")[0] == 1


def test_purge_drops_only_expired_processes(make_store: StoreFactory) -> None:
    past = FakeClock()
    past.now = dt.datetime.now(dt.UTC) - dt.timedelta(days=30)
    make_store(past).create_process("old")
    make_store().create_process("new")
    status, output = persist(make_store, "purge")
    assert status == 0
    assert "purged old" in output
    assert [info.name for info in make_store().list_processes()] == ["new"]


def test_export_then_import_is_lossless_and_idempotent(
    make_store: StoreFactory, tmp_path: Path
) -> None:
    store = make_store()
    store.save_process("a", STATE)
    store.save_process("b", {"persist_tags": ["x", "y"]})
    status, exported = persist(make_store, "export")
    assert status == 0
    document = json.loads(exported)
    assert document["version"] == EXPORT_VERSION
    dump = tmp_path / "dump.json"
    dump.write_text(exported, encoding="utf-8")
    for name in ("a", "b"):
        store.delete_process(name)
    for _ in range(2):  # importing twice changes nothing more
        assert persist(make_store, "import", str(dump))[0] == 0
        assert store.load_process("a") == STATE
        assert store.load_process("b") == {"persist_tags": ["x", "y"]}
        assert len(store.list_processes()) == 2


def test_import_refuses_a_newer_format_with_a_clear_message(
    make_store: StoreFactory, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    dump = tmp_path / "future.json"
    future = {"format": "streamlit-persist-export", "version": EXPORT_VERSION + 1, "processes": []}
    dump.write_text(json.dumps(future), encoding="utf-8")
    assert persist(make_store, "import", str(dump))[0] == 2
    assert "reads up to" in capsys.readouterr().err
    dump.write_text("not json", encoding="utf-8")
    assert persist(make_store, "import", str(dump))[0] == 2
    assert "not valid JSON" in capsys.readouterr().err


def test_tables_and_files_export_and_import_losslessly(
    make_store: StoreFactory, tmp_path: Path
) -> None:
    """An export is backend-neutral text: the same document imports into any backend."""
    import pandas as pd
    from pandas.testing import assert_frame_equal

    table = pd.DataFrame(
        {
            "item": pd.array(["会場", None], dtype="string"),
            "amount": pd.array([120_000, None], dtype="Int64"),
            "at": pd.to_datetime(["2025-01-06T09:00", None]).tz_localize("Asia/Tokyo"),
            "ratio": [0.5, float("nan")],
        }
    )
    upload = {"name": "経費.csv", "type": "text/csv", "data": b"item,amount\n"}
    store = make_store()
    store.save_process("tables", {"persist_table": table, "persist_file": upload})

    status, shown = persist(make_store, "show", "tables")
    assert status == 0
    columns = json.loads(shown)["persist_table"]["v"]["columns"]
    assert [column["name"] for column in columns] == ["item", "amount", "at", "ratio"]
    assert columns[0]["values"] == ["会場", None] and columns[3]["values"] == [0.5, "NaN"]

    status, exported = persist(make_store, "export")
    dump = tmp_path / "dump.json"
    dump.write_text(exported, encoding="utf-8")
    store.delete_process("tables")
    assert persist(make_store, "import", str(dump))[0] == 0
    state = store.load_process("tables")
    assert state is not None
    assert_frame_equal(state["persist_table"], table, check_exact=True)
    assert state["persist_file"] == upload
