"""The `persist` command, as operators and scripts use it."""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import json
from pathlib import Path
from typing import Any

import pytest

from persistence.cli import EXIT_CODES, EXPORT_FORMAT, EXPORT_VERSION, main
from persistence.models import ProcessSnapshot
from persistence.settings import get_settings
from tests.conftest import PROJECT_ROOT, FakeClock, StoreFactory
from tests.medium import Medium

pytestmark = pytest.mark.persistence

STATE = {
    "persist_owner": "山田",
    "persist_due_date": dt.date(2025, 1, 31),
    "persist_range": (1, 5),
    "persist_when": dt.datetime(2025, 1, 6, 9, 30, tzinfo=dt.UTC),
}


def persist(make_store: StoreFactory, *args: str, url: str | None = None) -> tuple[int, str]:
    """Run the command on ``make_store``'s storage (or ``url``) as a shell would."""
    status, out, _ = run_persist(make_store, *args, url=url)
    return status, out


def run_persist(
    make_store: StoreFactory, *args: str, url: str | None = None
) -> tuple[int, str, str]:
    """``(exit status, stdout, stderr)``; a usage error's ``SystemExit`` is its status."""
    out, err = io.StringIO(), io.StringIO()
    with pytest.MonkeyPatch.context() as patch, contextlib.redirect_stderr(err):
        patch.setenv("PERSIST_NAMESPACE", make_store.settings.namespace)
        get_settings.cache_clear()
        try:
            status = main([f"--url={url or make_store.url}", *args], out=out)
        except SystemExit as exit_:
            status = exit_.code if isinstance(exit_.code, int) else 2
        finally:
            get_settings.cache_clear()
    return status, out.getvalue(), err.getvalue()


def contents(make_store: StoreFactory) -> dict[str, ProcessSnapshot | None]:
    """Every process with its state, revision and last update: what an import may change."""
    store = make_store()
    try:
        return {info.name: store.read_process(info.name) for info in store.list_processes()}
    finally:
        store.close()  # property tests call this for every example: no pool may pile up


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


def test_copy_starts_a_process_from_another(make_store: StoreFactory) -> None:
    make_store().save_process("2025年1月_週次レポート", STATE)
    status, out = persist(make_store, "copy", "2025年1月_週次レポート", "2025年2月_週次レポート")
    assert status == 0 and "2025年2月_週次レポート" in out
    assert make_store().load_process("2025年2月_週次レポート") == STATE
    assert persist(make_store, "copy", "2025年1月_週次レポート", "2025年2月_週次レポート")[0] == 2
    assert persist(make_store, "copy", "missing", "other")[0] == 1


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
    make_store: StoreFactory, tmp_path: Path
) -> None:
    dump = tmp_path / "future.json"
    future = {"format": "streamlit-persist-export", "version": EXPORT_VERSION + 1, "processes": []}
    dump.write_text(json.dumps(future), encoding="utf-8")
    status, _, err = run_persist(make_store, "import", str(dump))
    assert status == 2 and "reads up to" in err
    dump.write_text("not json", encoding="utf-8")
    status, _, err = run_persist(make_store, "import", str(dump))
    assert status == 2 and "not valid JSON" in err


def document(*processes: Any, version: Any = EXPORT_VERSION) -> dict[str, Any]:
    return {"format": EXPORT_FORMAT, "version": version, "processes": list(processes)}


AN_HOUR_AGO = (dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)).isoformat()
GOOD = {"name": "good", "updated_at": AN_HOUR_AGO, "state": {"persist_a": 1}}


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        (document({"state": {}}), 'processes[0] has no "name"'),
        (document(GOOD, {"name": "x", "state": []}), "processes[1] ('x'): \"state\" must be"),
        (
            document(GOOD, {"name": "x", "state": {"persist_d": {"$type": "date", "v": "soon"}}}),
            "a value cannot be read",
        ),
        (document(GOOD, {"name": "x", "state": {"persist_n": float("nan")}}), "not a finite"),
        (document(GOOD, {"name": "tab\there", "state": {}}), "control characters"),
        (document(GOOD, GOOD), "the name appears twice"),
        (document(GOOD, {"name": "x", "state": {}, "updated_at": "yesterday"}), "ISO 8601"),
        (
            document(GOOD, {"name": "x", "state": {}, "updated_at": "2025-01-06T09:00:00"}),
            "UTC offset",
        ),
        (document(GOOD, "x"), "processes[1] must be an object, not text"),
        ({**document(), "processes": {"good": GOOD}}, '"processes" must be a list'),
        ({**document(), "processes": None}, '"processes" must be a list, not null'),
        (document(GOOD, version=-1), "format version -1"),
        (document(GOOD, version=True), "format version True"),
        (document(GOOD, version="1"), "format version '1'"),
        (document(GOOD, version=EXPORT_VERSION + 1), "reads up to"),
        ({"processes": [GOOD]}, "not a streamlit-persist-export file"),
        ([GOOD], "not a streamlit-persist-export file"),
    ],
)
def test_a_bad_export_is_one_line_exit_2_and_imports_nothing(
    make_store: StoreFactory, tmp_path: Path, bad: Any, message: str
) -> None:
    make_store().save_process("good", {"persist_a": "before"})
    before = contents(make_store)
    dump = tmp_path / "bad.json"
    dump.write_text(json.dumps(bad), encoding="utf-8")
    status, out, err = run_persist(make_store, "import", str(dump))
    assert (status, out) == (2, "")
    assert err.startswith("persist: ") and err.count("\n") == 1, err
    assert message in err
    assert contents(make_store) == before


@pytest.mark.parametrize(
    ("text", "message"),
    [(b"not json", "not valid JSON"), (b"\xff\xfe\x00", "not"), (b"[" * 100_000, "not valid")],
)
def test_a_file_that_is_not_json_is_exit_2(
    make_store: StoreFactory, tmp_path: Path, text: bytes, message: str
) -> None:
    dump = tmp_path / "dump.json"
    dump.write_bytes(text)
    status, _, err = run_persist(make_store, "import", str(dump))
    assert status == 2 and message in err and err.count("\n") == 1
    status, _, err = run_persist(make_store, "import", str(tmp_path / "missing.json"))
    assert status == 2 and "Cannot read" in err


def test_import_keeps_the_exported_last_update(make_store: StoreFactory, tmp_path: Path) -> None:
    when = dt.datetime.now(dt.UTC).replace(microsecond=0) - dt.timedelta(days=2)
    dump = tmp_path / "dump.json"
    dump.write_text(
        json.dumps(document({**GOOD, "updated_at": when.isoformat()})), encoding="utf-8"
    )
    assert persist(make_store, "import", str(dump)) == (0, "imported 1 process(es)\n")
    snapshot = make_store().read_process("good")
    assert snapshot is not None and snapshot.updated_at == when
    status, listed = persist(make_store, "list")
    assert status == 0 and listed.startswith(when.astimezone().isoformat(timespec="seconds"))


def test_import_skips_a_process_past_the_retention_window(
    make_store: StoreFactory, tmp_path: Path
) -> None:
    old = dt.datetime.now(dt.UTC) - dt.timedelta(days=make_store.settings.retention_days + 1)
    dump = tmp_path / "dump.json"
    stale = {**GOOD, "name": "stale", "updated_at": old.isoformat()}
    dump.write_text(json.dumps(document(GOOD, stale)), encoding="utf-8")
    status, out = persist(make_store, "import", str(dump))
    assert status == 0
    assert out == "skipped stale: last updated past the retention window\nimported 1 process(es)\n"
    assert [info.name for info in make_store().list_processes()] == ["good"]


def test_an_import_whose_write_fails_halfway_leaves_nothing_half_written(
    make_store: StoreFactory, medium: Medium, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_store().save_process("first", {"persist_a": "before"})
    before = contents(make_store)
    dump = tmp_path / "dump.json"
    first = {**GOOD, "name": "first", "state": {"persist_a": "after"}}
    second = {**GOOD, "name": "second"}
    dump.write_text(json.dumps(document(first, second, {**GOOD, "name": "third"})), "utf-8")
    medium.fail_the_second_write(monkeypatch)
    status, _, err = run_persist(make_store, "import", str(dump))
    assert status == 3, err
    assert err.count("\n") == 1
    monkeypatch.undo()
    assert contents(make_store) == before
    assert not medium.leftovers()


def test_show_prints_plain_json_and_exact_prints_the_export_encoding(
    make_store: StoreFactory,
) -> None:
    make_store().save_process("p", STATE)
    status, shown = persist(make_store, "show", "p")
    assert status == 0
    assert json.loads(shown) == {
        "persist_owner": "山田",
        "persist_due_date": "2025-01-31",
        "persist_range": [1, 5],
        "persist_when": "2025-01-06T09:30:00+00:00",
    }
    status, exact = persist(make_store, "show", "--exact", "p")
    assert status == 0
    assert json.loads(exact)["persist_due_date"] == {"$type": "date", "v": "2025-01-31"}


def test_a_usage_error_is_one_line_and_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    for argv in (["frobnicate"], [], ["show"], ["--url"]):
        with pytest.raises(SystemExit) as exit_:
            main(argv)
        assert exit_.value.code == 2
        err = capsys.readouterr().err
        assert err.startswith("persist: ") and err.count("\n") == 1, err


def test_help_is_plain_text_with_the_exit_codes(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["--help"])
    assert exit_.value.code == 0
    text = capsys.readouterr().out
    assert "``" not in text and ":class:" not in text
    for code, meaning in EXIT_CODES.items():
        assert f"  {code}  {meaning}" in text
    with pytest.raises(SystemExit):
        main(["show", "--help"])
    assert "$type" in capsys.readouterr().out


def test_the_readme_documents_the_exit_codes_as_implemented() -> None:
    readme = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")
    for code in EXIT_CODES:
        assert f"| `{code}` |" in readme, code


@pytest.mark.parametrize(
    ("url", "status", "message"),
    [
        ("redis://:pw@localhost:notaport/0", 2, "notaport"),
        ("redis://localhost:6379/abc", 2, "names the database 'abc'"),
        ("redis://localhost:6379/0?db=abc", 2, "cannot be used"),
        ("redis://localhost:6379/0?no_such_option=1", 2, "cannot be used"),
        ("redis://[::1/0", 2, "cannot be read"),
        ("mongodb://localhost/db", 2, "Unknown storage URL scheme"),
        ("json:///data/\x00/processes", 2, "NUL"),
    ],
)
def test_a_storage_url_that_cannot_work_is_one_line_never_a_traceback(
    make_store: StoreFactory, url: str, status: int, message: str
) -> None:
    scheme = url.split(":", 1)[0]
    if scheme in {"json", "sqlite", "redis"} and scheme != make_store.backend and "[" not in url:
        message = f"has no {scheme!r} backend"
    got, out, err = run_persist(make_store, "list", url=url)
    assert (got, out) == (status, ""), err
    assert err.startswith("persist: ") and err.count("\n") == 1
    assert message in err
    assert "pw" not in err  # a password never reaches a message


def test_a_wrong_redis_password_says_so(make_store: StoreFactory) -> None:
    if make_store.backend != "redis":
        pytest.skip("a Redis project's concern")
    url = make_store.url.replace("redis://", "redis://nobody:wrong-secret@", 1)
    status, _, err = run_persist(make_store, "list", url=url)
    assert status == 3
    assert "refused the user name or password" in err
    assert "wrong-secret" not in err


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

    status, shown, _ = run_persist(make_store, "show", "tables")
    assert status == 0
    columns = json.loads(shown)["persist_table"]["v"]["columns"]
    assert [column["name"] for column in columns] == ["item", "amount", "at", "ratio"]
    assert columns[0]["values"] == ["会場", None] and columns[3]["values"] == [0.5, "NaN"]

    status, exported, _ = run_persist(make_store, "export")
    dump = tmp_path / "dump.json"
    dump.write_text(exported, encoding="utf-8")
    store.delete_process("tables")
    assert run_persist(make_store, "import", str(dump))[0] == 0
    state = store.load_process("tables")
    assert state is not None
    assert_frame_equal(state["persist_table"], table, check_exact=True)
    assert state["persist_file"] == upload


def test_export_goes_on_past_a_corrupt_process_and_says_so(
    make_store: StoreFactory, medium: Medium
) -> None:
    from tests.test_corruption import BROKEN

    store = make_store()
    store.save_process("good", {"persist_a": 1})
    store.save_process("bad", {"persist_a": 2})
    medium.corrupt("bad", "persist_a", BROKEN)
    status, out, err = run_persist(make_store, "export")
    assert status == 5 and EXIT_CODES[5].startswith("export incomplete")
    assert [entry["name"] for entry in json.loads(out)["processes"]] == ["good"]
    assert err.count("\n") == 1 and err.startswith("persist: not exported: ") and "'bad'" in err
    store.save_process("bad2", {"persist_a": 3})  # the JSON store moved "bad" aside
    medium.corrupt("bad2", "persist_a", BROKEN)
    status, out, err = run_persist(make_store, "export", "--strict")
    assert status == 2 and out == "" and "'bad2'" in err


def export_of(state: dict[str, Any]) -> dict[str, Any]:
    return {
        "format": EXPORT_FORMAT,
        "version": EXPORT_VERSION,
        "processes": [{"name": "q", "state": state}],
    }


def test_import_applies_the_apps_limits(
    make_store: StoreFactory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PERSIST_MAX_VALUE_BYTES", "1000")
    monkeypatch.setenv("PERSIST_MAX_PROCESS_BYTES", "1500")
    dump = tmp_path / "dump.json"
    for state, named in [
        ({"persist_small": "x", "persist_big": "x" * 1000}, "'persist_big' takes 1,002 bytes"),
        ({"persist_a": "x" * 800, "persist_b": "x" * 800}, "max_process_bytes"),
    ]:
        dump.write_text(json.dumps(export_of(state)), encoding="utf-8")
        status, out, err = run_persist(make_store, "import", str(dump))
        assert status == 2 and out == "" and named in err, err
        assert make_store().load_process("q") is None  # all or nothing
    dump.write_text(json.dumps(export_of({"persist_a": "x" * 800})), encoding="utf-8")
    assert run_persist(make_store, "import", str(dump))[0] == 0


@pytest.mark.parametrize(
    "raw",
    [
        b'{"persist_\\ud800": 1}',  # an escape
        b'{"persist_k": "\xed\xa0\x80"}',  # the raw bytes, which json.loads lets through
        b'{"persist_k": ["a", {"\\udfff": 1}]}',
        b'{"persist_\\u0000": 1}',
    ],
)
def test_import_refuses_text_no_backend_stores_by_key(
    make_store: StoreFactory, tmp_path: Path, raw: bytes
) -> None:
    dump = tmp_path / "dump.json"
    document = json.dumps(export_of({})).encode().replace(b'"state": {}', b'"state": ' + raw)
    dump.write_bytes(document)
    status, out, err = run_persist(make_store, "import", str(dump))
    assert status == 2 and out == "" and err.count("\n") == 1 and "persist_" in err, err
    assert make_store().load_process("q") is None


@pytest.mark.parametrize("port", [":99999", ":abc", ":-1"])
@pytest.mark.parametrize("scheme", ["postgresql", "postgres", "redis"])
def test_a_server_url_with_a_bad_port_is_exit_2(
    make_store: StoreFactory, scheme: str, port: str
) -> None:
    status, out, err = run_persist(make_store, "list", url=f"{scheme}://u:pw@localhost{port}/x")
    assert status == 2 and out == "" and err.count("\n") == 1 and "pw" not in err, err
