"""Big values (an upload, a large table) are stored apart from the rest of their process, on
every backend: a small-key save never rewrites them, the per-rerun freshness check and the
process list never read them, and damage, a crash, expiry, delete, rename, export, import
and a per-user view all treat them as they treat small values.

JSON keeps each such value in a file of its own; SQLite and PostgreSQL keep every value in
an ``entries`` row of its own, and Redis in a hash field of its own, already. The tests
look at the medium itself: bytes written (``/proc/self/io``), a row's version (``xmin``),
the commands the Redis server ran (``MONITOR``).
"""

from __future__ import annotations

import contextlib
import importlib
import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from pandas.testing import assert_frame_equal

from persistence.cli import export_document, import_document
from persistence.errors import CorruptProcessError
from persistence.storage import StorageInterface
from persistence.storage.base import name_digest, url_path
from persistence.storage.scoped import ScopedStorage
from tests.conftest import FakeClock, StoreFactory

pytestmark = pytest.mark.persistence

MIB = 1 << 20
# Random bytes: a value no medium can shrink to nothing by compressing it.
BIG = random.Random(12).randbytes(5 * MIB)
# Over this many bytes of JSON a value is big for every backend (the JSON store's threshold).
BIG_TEXT = 64 * 1024


def backend_module(make_store: StoreFactory) -> Any:
    return importlib.import_module(f"persistence.storage.{make_store.backend}_store")


def redis_client(make_store: StoreFactory) -> Any:
    redis: Any = importlib.import_module("redis")
    return redis.Redis.from_url(make_store.url)


def postgres_sql(make_store: StoreFactory, statement: str, *params: object) -> list[Any]:
    run_sql = importlib.import_module("tests.postgres_fixtures").run_sql
    rows: list[Any] = run_sql(make_store.url, make_store.settings.namespace, statement, params)
    return rows


# -- the medium, read and damaged directly -------------------------------------------------
def value_file(make_store: StoreFactory, name: str, key: str) -> Path:
    """JSON: the file that holds the value of ``key`` of ``name``."""
    folder = url_path(make_store.url)
    stem = name_digest(name)
    raw = json.loads((folder / f"{stem}.json").read_bytes())
    digest: str = raw["state"][key]["v"]["sha256"]
    return folder / "values" / stem / f"{digest}.json"


def stored_text(make_store: StoreFactory, name: str, key: str) -> bytes:
    """The bytes the medium holds for one value."""
    backend = make_store.backend
    if backend == "json":
        return value_file(make_store, name, key).read_bytes()
    if backend == "sqlite":
        with contextlib.closing(sqlite3.connect(url_path(make_store.url))) as db:
            row = db.execute(
                "SELECT value FROM entries WHERE key = ? AND process_id = "
                "(SELECT id FROM processes WHERE name = ?)",
                (key, name),
            ).fetchone()
        return str(row[0]).encode()
    if backend == "postgres":
        rows = postgres_sql(
            make_store,
            "SELECT value FROM entries WHERE key = %s AND process_id = "
            "(SELECT id FROM processes WHERE name = %s)",
            key,
            name,
        )
        return str(rows[0][0]).encode()
    client = redis_client(make_store)
    digest = name_digest(name)
    data: bytes = client.hget(f"{make_store.settings.namespace}:state:{digest}", key)
    client.close()
    return data


def overwrite(make_store: StoreFactory, name: str, key: str, data: bytes) -> None:
    """Replace the stored bytes of one value, as a disk error or a hand edit would."""
    backend = make_store.backend
    if backend == "json":
        value_file(make_store, name, key).write_bytes(data)
    elif backend == "sqlite":
        with contextlib.closing(sqlite3.connect(url_path(make_store.url))) as db, db:
            db.execute(
                "UPDATE entries SET value = ? WHERE key = ? AND process_id = "
                "(SELECT id FROM processes WHERE name = ?)",
                (data.decode(), key, name),
            )
    elif backend == "postgres":
        postgres_sql(
            make_store,
            "UPDATE entries SET value = %s WHERE key = %s AND process_id = "
            "(SELECT id FROM processes WHERE name = %s)",
            data.decode(),
            key,
            name,
        )
    else:
        client = redis_client(make_store)
        digest = name_digest(name)
        client.hset(f"{make_store.settings.namespace}:state:{digest}", key, data)
        client.close()


def big_values_stored(make_store: StoreFactory) -> int:
    """How many big values the medium holds, whatever process they belong to. JSON: every
    folder of value files must belong to a process file (nothing orphaned)."""
    backend = make_store.backend
    if backend == "json":
        folder = url_path(make_store.url)
        values = folder / "values"
        if not values.exists():
            return 0
        for stem_folder in values.iterdir():
            assert (folder / f"{stem_folder.name}.json").exists(), f"orphan {stem_folder}"
            assert any(stem_folder.iterdir()), f"empty {stem_folder}"
        return sum(1 for path in values.rglob("*") if path.is_file())
    if backend == "sqlite":
        with contextlib.closing(sqlite3.connect(url_path(make_store.url))) as db:
            row = db.execute("SELECT count(*) FROM entries WHERE length(value) > ?", (BIG_TEXT,))
            return int(row.fetchone()[0])
    if backend == "postgres":
        return int(
            postgres_sql(
                make_store, "SELECT count(*) FROM entries WHERE length(value) > %s", BIG_TEXT
            )[0][0]
        )
    client = redis_client(make_store)
    count = 0
    for state_key in client.scan_iter(match=f"{make_store.settings.namespace}:state:*"):
        count += sum(
            1 for field in client.hkeys(state_key) if client.hstrlen(state_key, field) > BIG_TEXT
        )
    client.close()
    return count


def io_counter(field: str) -> int | None:
    """This process's ``wchar`` / ``rchar`` (bytes passed to write / read calls, Linux)."""
    try:
        lines = Path("/proc/self/io").read_text().splitlines()
    except OSError:
        return None
    counters = dict(line.split(": ") for line in lines)
    return int(counters[field])


def bytes_through(field: str, action: Callable[[], object]) -> int:
    before = io_counter(field)
    if before is None:
        pytest.skip("counting the bytes a process reads or writes needs Linux's /proc/self/io")
    action()
    after = io_counter(field)
    assert after is not None
    return after - before


@contextlib.contextmanager
def redis_commands(make_store: StoreFactory) -> Iterator[list[str]]:
    """The commands the Redis server runs on this test's keys meanwhile (``MONITOR``,
    including each command a Lua script runs)."""
    namespace = make_store.settings.namespace
    marker = f"{namespace}:done:{uuid.uuid4().hex}"
    watcher, sender = redis_client(make_store), redis_client(make_store)
    seen: list[str] = []
    try:
        with watcher.monitor() as monitor:
            yield seen
            sender.echo(marker)
            while marker not in (command := monitor.next_command()["command"]):
                if namespace in command:
                    seen.append(command)
    finally:
        sender.close()
        watcher.close()


def a_table(rows: int) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "item": pd.array([f"item {i}" for i in range(rows)], dtype="string"),
            "amount": pd.array(range(rows), dtype="Int64"),
            "ratio": [i / 7 for i in range(rows)],
        }
    )


# -- the tests ------------------------------------------------------------------------------
def test_big_values_round_trip_beside_small_keys(store: StorageInterface) -> None:
    upload = {"name": "scan.pdf", "type": "application/pdf", "data": BIG}
    table = a_table(5_000)
    store.save_process("big", {"persist_upload": upload, "persist_table": table, "persist_n": 1})
    store.update_process("big", {"persist_n": 2, "persist_note": "small"})
    state = store.load_process("big")
    assert state is not None
    assert state["persist_upload"] == upload
    assert_frame_equal(state["persist_table"], table, check_exact=True)
    assert (state["persist_n"], state["persist_note"]) == (2, "small")
    store.update_process("big", {"persist_table": a_table(3)}, removed=["persist_note"])
    state = store.load_process("big")
    assert state is not None
    assert_frame_equal(state["persist_table"], a_table(3), check_exact=True)
    assert state["persist_upload"] == upload and "persist_note" not in state


def test_a_small_key_save_does_not_rewrite_a_big_value(
    make_store: StoreFactory, store: StorageInterface
) -> None:
    store.save_process("p", {"persist_upload": BIG, "persist_owner": "before"})

    def save_a_small_key() -> None:
        store.update_process("p", {"persist_owner": "after"})

    backend = make_store.backend
    if backend == "json":
        path = value_file(make_store, "p", "persist_upload")
        before = path.stat()
        written = bytes_through("wchar", save_a_small_key)
        after = path.stat()
        assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)
        assert written < 4096, f"{written} bytes written"
    elif backend == "sqlite":
        with contextlib.closing(sqlite3.connect(url_path(make_store.url))) as db:
            db.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # the big save is out of the log
        written = bytes_through("wchar", save_a_small_key)
        assert written < 64 * 1024, f"{written} bytes written"  # a few pages of the log
    elif backend == "postgres":
        version = (
            "SELECT e.xmin::text, e.ctid::text FROM entries AS e JOIN processes AS p "
            "ON p.id = e.process_id WHERE p.name = 'p' AND e.key = 'persist_upload'"
        )
        before_row = postgres_sql(make_store, version)
        save_a_small_key()
        assert postgres_sql(make_store, version) == before_row  # the same row version
    else:
        with redis_commands(make_store) as commands:
            save_a_small_key()
        assert commands, "the server ran nothing"
        assert not any("persist_upload" in command for command in commands)
        assert sum(len(command) for command in commands) < 4096, commands
    state = store.load_process("p")
    assert state == {"persist_upload": BIG, "persist_owner": "after"}


def test_the_freshness_check_and_listing_read_no_big_value(
    make_store: StoreFactory, store: StorageInterface
) -> None:
    store.save_process("p", {"persist_upload": BIG, "persist_owner": "me"})

    def check_and_list() -> None:
        assert store.process_revision("p") == 1
        assert [info.name for info in store.list_processes()] == ["p"]
        assert [info.name for info in store.list_processes_by_prefix("p")] == ["p"]

    backend = make_store.backend
    if backend in ("json", "sqlite"):
        read = bytes_through("rchar", check_and_list)
        assert read < 64 * 1024, f"{read} bytes read"
    elif backend == "postgres":
        check_and_list()
        statements = backend_module(make_store)
        for statement in (statements._REVISION, statements._LIST, statements._LIST_PREFIX):
            assert "entries" not in statement  # one table, one row per process
    else:
        with redis_commands(make_store) as commands:
            check_and_list()
        assert commands and not any(":state:" in command for command in commands), commands


@pytest.mark.parametrize("damage", ["garbled", "truncated", "removed"])
def test_a_damaged_big_value_makes_only_its_process_unavailable(
    make_store: StoreFactory, store: StorageInterface, damage: str
) -> None:
    if damage == "removed" and make_store.backend != "json":
        pytest.skip("a row or hash field that is not there is a key that is not there")
    store.save_process("good", {"persist_upload": BIG[: 2 * MIB], "persist_n": 1})
    store.save_process("bad", {"persist_upload": BIG, "persist_n": 2})
    text = stored_text(make_store, "bad", "persist_upload")
    if damage == "removed":
        value_file(make_store, "bad", "persist_upload").unlink()
    else:
        garbage = b"x" * len(text) if damage == "garbled" else text[: len(text) // 2]
        overwrite(make_store, "bad", "persist_upload", garbage)

    with pytest.raises(CorruptProcessError, match="'bad' is corrupt") as caught:
        store.read_process("bad")
    assert store.load_process("good") == {"persist_upload": BIG[: 2 * MIB], "persist_n": 1}
    store.update_process("good", {"persist_n": 3})
    assert {info.name for info in store.list_processes()} == {"good", "bad"}
    assert store.process_revision("bad") == 1  # listed and checked: the app says what is wrong
    with pytest.raises(CorruptProcessError):
        store.read_process("bad")  # nothing was repaired or deleted
    if damage != "removed":
        assert stored_text(make_store, "bad", "persist_upload") == garbage
        copy = caught.value.preserved_copy
        assert copy is None or copy.read_bytes() == garbage


SIZE = 5 << 20
WRITER = """
import sys
from persistence.storage import open_storage
store = open_storage()
store.process_revision("big crash")  # connected: from now on it writes
print("ready", flush=True)
count, size = int(sys.argv[1]), int(sys.argv[2])
values = [b"A" * size, b"B" * size]
while True:
    changed = {"persist_counter": count, "persist_upload": values[count % 2]}
    store.update_process("big crash", changed)
    print(count, flush=True)
    count += 1
"""


@pytest.mark.slow
def test_sigkill_during_big_writes_leaves_one_whole_value(make_store: StoreFactory) -> None:
    """Each value is the counter's: A when even, B when odd. A kill lands before, inside or
    between 5 MiB writes (each takes tens of milliseconds, PostgreSQL's a few hundred)."""
    if make_store.backend == "redis":
        pytest.skip(
            "Redis applies a write atomically on the server; a killed client cannot tear it"
        )
    store = make_store()
    store.save_process("big crash", {"persist_counter": -1, "persist_upload": b"B" * SIZE})
    env = {
        **os.environ,
        "PERSIST_STORAGE_URL": make_store.url,
        "PERSIST_NAMESPACE": make_store.settings.namespace,
    }
    for _ in range(3):
        state = store.load_process("big crash")
        assert state is not None
        writer = subprocess.Popen(
            [sys.executable, "-c", WRITER, str(state["persist_counter"] + 1), str(SIZE)],
            env=env,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert writer.stdout is not None
        assert writer.stdout.readline() == "ready\n", "the writer died on its own"
        time.sleep(random.uniform(0.0, 0.3))
        writer.send_signal(signal.SIGKILL)
        rest, _ = writer.communicate()
        acknowledged = [int(line) for line in rest.splitlines() if line.strip()]
        state = store.load_process("big crash")
        assert state is not None
        counter = state["persist_counter"]
        assert counter >= max(acknowledged, default=-1)
        assert state["persist_upload"] == (b"A", b"B")[counter % 2] * SIZE
    store.update_process("big crash", {"persist_upload": b"C" * SIZE})
    assert big_values_stored(make_store) == 1  # what the kills left over is gone


def test_rename_delete_and_expiry_leave_no_big_value_behind(
    make_store: StoreFactory, clock: FakeClock
) -> None:
    store = make_store(clock)
    state = {"persist_upload": BIG, "persist_table": a_table(5_000), "persist_n": 1}
    store.save_process("first", state)
    store.save_process("second", {"persist_upload": BIG[: 3 * MIB]})
    assert big_values_stored(make_store) == 3

    store.rename_process("first", "renamed")
    assert store.load_process("first") is None
    renamed = store.load_process("renamed")
    assert renamed is not None and renamed["persist_upload"] == BIG
    assert_frame_equal(renamed["persist_table"], state["persist_table"], check_exact=True)
    assert big_values_stored(make_store) == 3

    store.save_process("renamed", {"persist_n": 2})  # the big keys dropped
    assert big_values_stored(make_store) == 1
    assert store.delete_process("second")
    assert big_values_stored(make_store) == 0

    store.update_process("renamed", {"persist_upload": BIG})
    clock.advance(days=make_store.settings.retention_days + 1)
    assert store.load_process("renamed") is None
    assert store.purge_expired() == ["renamed"]
    assert big_values_stored(make_store) == 0


@pytest.mark.slow
def test_export_and_import_carry_big_values(
    store: StorageInterface, make_store: StoreFactory
) -> None:
    table = a_table(5_000)
    store.save_process("p", {"persist_upload": BIG, "persist_table": table, "persist_n": 1})
    document = json.loads(json.dumps(export_document(store)))  # through text, as a file
    store.delete_process("p")
    assert big_values_stored(make_store) == 0
    assert import_document(store, document) == ["p"]
    state = store.load_process("p")
    assert state is not None and state["persist_upload"] == BIG
    assert_frame_equal(state["persist_table"], table, check_exact=True)
    assert big_values_stored(make_store) == 2
    store.update_process("p", {"persist_upload": b"replaced", "persist_table": a_table(2)})
    assert big_values_stored(make_store) == 0
    assert import_document(store, document) == ["p"]  # replaces the whole process
    again = store.load_process("p")
    assert again is not None and again["persist_upload"] == BIG
    assert_frame_equal(again["persist_table"], table, check_exact=True)
    assert big_values_stored(make_store) == 2


def test_a_per_user_view_keeps_big_values_apart_too(make_store: StoreFactory) -> None:
    inner = make_store()
    alice, bob = ScopedStorage(inner, "alice@example.com"), ScopedStorage(inner, "bob@example.com")
    alice.save_process("report", {"persist_upload": BIG, "persist_n": 1})
    bob.save_process("report", {"persist_upload": BIG[: 2 * MIB], "persist_n": 2})
    alice.update_process("report", {"persist_n": 3})
    alice.rename_process("report", "final")
    assert alice.load_process("final") == {"persist_upload": BIG, "persist_n": 3}
    assert bob.load_process("report") == {"persist_upload": BIG[: 2 * MIB], "persist_n": 2}
    assert big_values_stored(make_store) == 2
    assert alice.delete_process("final")
    assert big_values_stored(make_store) == 1
