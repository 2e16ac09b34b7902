"""Migrations of saved state (``persistence.migrations``), on every backend: order, once per
process, a failing migration, two servers opening one old process at once, an older server
meeting a newer process, ``persist migrate`` and export/import."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

import pytest

from persistence import cli
from persistence.errors import (
    MigrationFailedError,
    NewerMigrationsError,
    RevisionConflictError,
)
from persistence.migrations import (
    RECORD_KEY,
    AppMigrations,
    MigratingStorage,
    Migration,
    load_migrations,
    migrate_process,
)
from persistence.models import State
from persistence.storage import StorageInterface
from persistence.sync import StateSync
from tests.conftest import FakeClock, StoreFactory
from tests.test_cli import persist

pytestmark = pytest.mark.persistence

OLD: State = {"persist_note": "hello", "persist_progress": 0.42, "persist_keep": [1, 2]}


def rename_note(state: State) -> State:
    if "persist_note" in state:
        state["persist_comment"] = state.pop("persist_note")
    return state


def percent(state: State) -> State:
    if isinstance(state.get("persist_progress"), float):
        state["persist_progress"] = round(state["persist_progress"] * 100)
    return state


def split_comment(state: State) -> State:
    """Split one key into two: the first word becomes a title."""
    if "persist_comment" in state:
        first, _, rest = state.pop("persist_comment").partition(" ")
        state["persist_title"], state["persist_body"] = first, rest
    return state


APP = AppMigrations(
    "main",
    (
        Migration("0001-rename-note", rename_note),
        Migration("0002-percent", percent),
        Migration("0003-split-comment", split_comment),
    ),
)


def boom(state: State) -> State:
    raise ValueError("no such column")


def old_process(store: StorageInterface, name: str = "Q1", state: State | None = None) -> None:
    store.save_process(name, OLD if state is None else state)


def test_migrations_run_in_order_and_record_what_they_did(store: StorageInterface) -> None:
    old_process(store)
    snapshot = MigratingStorage(store, APP).read_process("Q1")
    assert snapshot is not None
    expected = {
        "persist_title": "hello",
        "persist_body": "",
        "persist_progress": 42,
        "persist_keep": [1, 2],
    }
    assert snapshot.state == expected  # rename, then reshape, then split: in that order
    stored = store.read_process("Q1")
    assert stored is not None
    assert stored.state == {**expected, RECORD_KEY: {"main": APP.names}}
    assert snapshot.revision == stored.revision


def test_a_migrated_process_is_not_migrated_again(store: StorageInterface) -> None:
    old_process(store)
    migrating = MigratingStorage(store, APP)
    migrating.read_process("Q1")
    revision = store.process_revision("Q1")
    again, plan = migrate_process(store, "Q1", APP)
    assert plan is None
    assert again is not None and again.revision == revision
    assert migrating.read_process("Q1") == again
    assert store.process_revision("Q1") == revision  # no write


def test_a_new_migration_runs_on_processes_that_had_the_earlier_ones(
    store: StorageInterface,
) -> None:
    old_process(store)
    first = AppMigrations("main", APP.migrations[:1])
    MigratingStorage(store, first).read_process("Q1")
    snapshot = MigratingStorage(store, APP).read_process("Q1")
    assert snapshot is not None and snapshot.state["persist_title"] == "hello"
    stored = store.read_process("Q1")
    assert stored is not None and stored.state[RECORD_KEY] == {"main": APP.names}


def test_a_new_process_has_had_every_migration(store: StorageInterface) -> None:
    migrating = MigratingStorage(store, APP)
    migrating.create_process("new")
    migrating.update_process("new", {"persist_progress": 0.5})  # today's shape, by chance
    snapshot = migrating.read_process("new")
    assert snapshot is not None and snapshot.state == {"persist_progress": 0.5}


def test_a_failing_migration_leaves_the_process_as_it_was(store: StorageInterface) -> None:
    old_process(store)
    before = store.read_process("Q1")
    failing = AppMigrations("main", (*APP.migrations[:1], Migration("0002-boom", boom)))
    with pytest.raises(MigrationFailedError) as raised:
        MigratingStorage(store, failing).read_process("Q1")
    assert raised.value.name == "Q1" and raised.value.migration == "0002-boom"
    assert "0002-boom" in str(raised.value) and "Q1" in str(raised.value)
    assert store.read_process("Q1") == before


def test_a_migration_that_makes_an_unstorable_value_is_named(store: StorageInterface) -> None:
    old_process(store)
    before = store.read_process("Q1")

    def unstorable(state: State) -> State:
        state["persist_lock"] = threading.Lock()
        return state

    app = AppMigrations("main", (Migration("0001-lock", unstorable),))
    with pytest.raises(MigrationFailedError) as raised:
        migrate_process(store, "Q1", app)
    assert raised.value.migration == "0001-lock"
    assert store.read_process("Q1") == before


def test_an_older_server_leaves_a_newer_process_alone(store: StorageInterface) -> None:
    old_process(store)
    MigratingStorage(store, APP).read_process("Q1")
    before = store.read_process("Q1")
    older = AppMigrations("main", APP.migrations[:2])
    with pytest.raises(NewerMigrationsError) as raised:
        MigratingStorage(store, older).read_process("Q1")
    assert raised.value.unknown == ["0003-split-comment"] and "Q1" in str(raised.value)
    assert store.read_process("Q1") == before


def test_an_older_session_stops_saving_once_newer_code_migrated_its_process(
    store: StorageInterface,
) -> None:
    """A rolling deploy: a session of the old server has the process open when a new server
    migrates it; its next run says why and writes nothing."""
    old_process(store)
    older = AppMigrations("main", APP.migrations[:2])
    state: dict[str, Any] = {}
    sync = StateSync(MigratingStorage(store, older), state, prefix="persist_", max_bytes=1 << 30)
    sync.open("Q1")
    MigratingStorage(store, APP).read_process("Q1")  # the new server
    before = store.read_process("Q1")
    run = sync.begin_run()
    state["persist_keep"] = [3]
    sync.end_run(run)
    assert isinstance(sync.status.error, NewerMigrationsError)
    assert store.read_process("Q1") == before


def test_other_apps_records_are_kept(store: StorageInterface) -> None:
    old_process(store)
    other = AppMigrations("sample", (Migration("0001-noop", lambda state: state),))
    MigratingStorage(store, other).read_process("Q1")
    MigratingStorage(store, APP).read_process("Q1")
    stored = store.read_process("Q1")
    assert stored is not None
    assert stored.state[RECORD_KEY] == {"sample": ["0001-noop"], "main": APP.names}


def test_a_conditional_write_refuses_another_revision(store: StorageInterface) -> None:
    old_process(store)
    revision = store.process_revision("Q1")
    assert revision is not None
    store.update_process("Q1", {"persist_keep": [3]})
    with pytest.raises(RevisionConflictError):
        store.update_process("Q1", {"persist_keep": [4]}, expected_revision=revision)
    assert store.load_process("Q1") == {**OLD, "persist_keep": [3]}
    assert store.update_process("Q1", {"persist_keep": [5]}, expected_revision=revision + 1)


@pytest.mark.slow
def test_two_servers_opening_one_old_process_migrate_it_once(
    make_store: StoreFactory, clock: FakeClock
) -> None:
    """Two store instances (two servers), two threads: both run the migration at the same
    moment, one write wins, the other reads the migrated process."""
    first, second = make_store(clock), make_store(clock)
    old_process(first, state={"persist_count": 1})
    both_migrating = threading.Barrier(2, timeout=10)

    def count_up(state: State) -> State:  # applied twice, it would count 3
        both_migrating.wait()
        state["persist_count"] += 1
        return state

    app = AppMigrations("main", (Migration("0001-count-up", count_up),))
    seen: list[Any] = []

    def open_on(store: StorageInterface) -> None:
        snapshot = MigratingStorage(store, app).read_process("Q1")
        seen.append(None if snapshot is None else snapshot.state)

    threads = [threading.Thread(target=open_on, args=(store,)) for store in (first, second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert seen == [{"persist_count": 2}, {"persist_count": 2}]
    assert first.load_process("Q1") == {"persist_count": 2, RECORD_KEY: {"main": app.names}}


def write_apps(folder: Path) -> Path:
    """An apps/ folder whose one app has the migrations of this module, as files."""
    app = folder / "apps" / "main"
    app.mkdir(parents=True)
    (app / "migrations.py").write_text(
        "from tests.test_migrations import APP\nMIGRATIONS = list(APP.migrations)\n"
    )
    (folder / "apps" / "plain").mkdir()  # no migrations: not listed
    return folder / "apps"


def test_load_migrations_reads_the_template_file_first(tmp_path: Path) -> None:
    app = tmp_path / "main"
    app.mkdir()
    (app / "template_migrations.py").write_text(
        "from persistence import Migration\n"
        "MIGRATIONS = [Migration('template-0001', lambda state: state)]\n"
    )
    (app / "migrations.py").write_text(
        "from persistence import Migration\nMIGRATIONS = [Migration('0001', lambda state: state)]\n"
    )
    assert load_migrations(app).names == ["template-0001", "0001"]
    assert load_migrations(app).app == "main"


def test_persist_migrate_dry_run_then_real_run(make_store: StoreFactory, tmp_path: Path) -> None:
    store = make_store()  # the command's clock: real time
    old_process(store, "Q1")
    old_process(store, "Q2", state={"persist_progress": 0.1})
    apps = str(write_apps(tmp_path))
    before = {name: store.read_process(name) for name in ("Q1", "Q2")}

    status, output = persist(make_store, "migrate", "--dry-run", "--apps", apps)
    assert status == cli.EXIT_OK
    assert "would migrate Q1 (main): 0001-rename-note, 0002-percent" in output
    assert "-persist_note" in output and "~persist_title" in output
    assert "2 process(es) would migrate" in output
    assert {name: store.read_process(name) for name in ("Q1", "Q2")} == before

    status, output = persist(make_store, "migrate", "--apps", apps)
    assert status == cli.EXIT_OK and "2 process(es) migrated" in output
    assert store.load_process("Q2") == {"persist_progress": 10, RECORD_KEY: {"main": APP.names}}
    status, output = persist(make_store, "migrate", "--apps", apps)
    assert status == cli.EXIT_OK and "0 process(es) migrated" in output


def test_persist_migrate_names_a_failure_and_goes_on(
    make_store: StoreFactory, tmp_path: Path
) -> None:
    store = make_store()  # the command's clock: real time
    old_process(store, "good")
    old_process(store, "bad", state={"persist_progress": "not a number", "persist_fail": True})
    app = tmp_path / "apps" / "main"
    app.mkdir(parents=True)
    (app / "migrations.py").write_text(
        "from persistence import Migration\n"
        "def check(state):\n"
        "    if state.get('persist_fail'):\n"
        "        raise ValueError('cannot read the progress')\n"
        "    state['persist_checked'] = True\n"
        "    return state\n"
        "MIGRATIONS = [Migration('0001-check', check)]\n"
    )
    bad = store.read_process("bad")
    status, output = persist(make_store, "migrate", "--apps", str(app.parent))
    assert status == cli.EXIT_MIGRATION
    assert "left bad (main) as it was" in output and "0001-check" in output
    assert "cannot read the progress" in output
    assert store.read_process("bad") == bad
    good = store.load_process("good")
    assert good is not None and good["persist_checked"] is True


def test_export_and_import_keep_the_migration_record(
    make_store: StoreFactory, tmp_path: Path
) -> None:
    store = make_store()  # the command's clock: real time
    old_process(store)
    MigratingStorage(store, APP).read_process("Q1")
    migrated = store.load_process("Q1")
    status, exported = persist(make_store, "export")
    assert status == cli.EXIT_OK
    store.delete_process("Q1")
    path = tmp_path / "export.json"
    path.write_text(exported)
    assert persist(make_store, "import", str(path))[0] == cli.EXIT_OK
    assert store.load_process("Q1") == migrated
    assert json.loads(exported)["processes"][0]["state"][RECORD_KEY] == {"main": APP.names}
    again, plan = migrate_process(store, "Q1", APP)
    assert plan is None and again is not None  # imported: not migrated a second time


def app_with_a_failing_migration() -> None:
    """A page whose app has one migration, which raises."""
    import streamlit as st

    from persistence import Migration, persistent_app
    from persistence.migrations import AppMigrations

    def boom(state: dict[str, object]) -> dict[str, object]:
        raise ValueError("no such column")

    with persistent_app(migrations=AppMigrations("t", (Migration("0001-boom", boom),))):
        st.write("page")


@pytest.mark.parametrize("language", ["en", "ja"])
def test_the_sidebar_names_a_failing_migration_and_its_process(
    app_storage: StoreFactory, monkeypatch: pytest.MonkeyPatch, language: str
) -> None:
    from streamlit.testing.v1 import AppTest

    from persistence.settings import get_settings

    monkeypatch.setenv("PERSIST_UI_LANGUAGE", language)
    get_settings.cache_clear()
    old_process(app_storage(), "週次")
    before = app_storage().read_process("週次")
    at = AppTest.from_function(app_with_a_failing_migration, default_timeout=60)
    at.query_params["process"] = "週次"
    at.run()
    assert not at.exception, at.exception
    (error,) = at.sidebar.error
    assert "0001-boom" in error.value and "週次" in error.value and "ValueError" in error.value
    assert ("failed" in error.value) == (language == "en")
    assert app_storage().read_process("週次") == before
