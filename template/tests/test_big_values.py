"""Big values (an upload, a large table) are stored apart from the rest of their process, on
every backend: a small-key save never rewrites them, the per-rerun freshness check and the
process list never read them, and damage, a crash, expiry, delete, rename, export, import
and a per-user view all treat them as they treat small values.

JSON keeps each such value in a file of its own; SQLite and PostgreSQL keep every value in
an ``entries`` row of its own, and Redis in a hash field of its own, already. The tests
look at the medium itself: bytes written (``/proc/self/io``), a row's version (``xmin``),
the commands the Redis server ran (``MONITOR``): each backend's ``tests/<backend>_medium.py``
(the ``medium`` fixture).
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time

import pandas as pd
import pytest
from pandas.testing import assert_frame_equal

from persistence.cli import export_document, import_document
from persistence.errors import CorruptProcessError
from persistence.storage import StorageInterface
from persistence.storage.scoped import ScopedStorage
from tests.conftest import FakeClock, StoreFactory
from tests.medium import Medium

pytestmark = pytest.mark.persistence

MIB = 1 << 20
# Random bytes: a value no medium can shrink to nothing by compressing it.
BIG = random.Random(12).randbytes(5 * MIB)
# Over this many bytes of JSON a value is big for every backend (the JSON store's threshold).
BIG_TEXT = 64 * 1024


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
    medium: Medium, store: StorageInterface
) -> None:
    store.save_process("p", {"persist_upload": BIG, "persist_owner": "before"})

    def save_a_small_key() -> None:
        store.update_process("p", {"persist_owner": "after"})

    # JSON: the value file untouched, under 4 KiB written; SQLite: a few pages of the log;
    # PostgreSQL: the big row's version unchanged; Redis: no command on the big field.
    medium.check_small_save_spares_big_value("p", "persist_upload", save_a_small_key)
    state = store.load_process("p")
    assert state == {"persist_upload": BIG, "persist_owner": "after"}


def test_the_freshness_check_and_listing_read_no_big_value(
    medium: Medium, store: StorageInterface
) -> None:
    store.save_process("p", {"persist_upload": BIG, "persist_owner": "me"})

    def check_and_list() -> None:
        assert store.process_revision("p") == 1
        assert [info.name for info in store.list_processes()] == ["p"]
        assert [info.name for info in store.list_processes_by_prefix("p")] == ["p"]

    # Files: under 64 KiB read; PostgreSQL: its statements read no entries; Redis: no
    # command on a state hash.
    medium.check_reads_no_big_value(check_and_list)


@pytest.mark.parametrize("damage", ["garbled", "truncated", "removed"])
def test_a_damaged_big_value_makes_only_its_process_unavailable(
    medium: Medium, store: StorageInterface, damage: str
) -> None:
    if damage == "removed" and not medium.values_can_go_missing:
        pytest.skip("a row or hash field that is not there is a key that is not there")
    store.save_process("good", {"persist_upload": BIG[: 2 * MIB], "persist_n": 1})
    store.save_process("bad", {"persist_upload": BIG, "persist_n": 2})
    text = medium.stored_value("bad", "persist_upload")
    if damage == "removed":
        medium.remove_value("bad", "persist_upload")
    else:
        garbage = b"x" * len(text) if damage == "garbled" else text[: len(text) // 2]
        medium.overwrite_value("bad", "persist_upload", garbage)

    with pytest.raises(CorruptProcessError, match="'bad' is corrupt") as caught:
        store.read_process("bad")
    assert store.load_process("good") == {"persist_upload": BIG[: 2 * MIB], "persist_n": 1}
    store.update_process("good", {"persist_n": 3})
    assert {info.name for info in store.list_processes()} == {"good", "bad"}
    assert store.process_revision("bad") == 1  # listed and checked: the app says what is wrong
    with pytest.raises(CorruptProcessError):
        store.read_process("bad")  # nothing was repaired or deleted
    if damage != "removed":
        assert medium.stored_value("bad", "persist_upload") == garbage
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
def test_sigkill_during_big_writes_leaves_one_whole_value(
    make_store: StoreFactory, medium: Medium
) -> None:
    """Each value is the counter's: A when even, B when odd. A kill lands before, inside or
    between 5 MiB writes (each takes tens of milliseconds, PostgreSQL's a few hundred)."""
    if medium.untearable:
        pytest.skip(medium.untearable)
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
    assert medium.big_values(BIG_TEXT) == 1  # what the kills left over is gone


def test_rename_delete_and_expiry_leave_no_big_value_behind(
    make_store: StoreFactory, medium: Medium, clock: FakeClock
) -> None:
    store = make_store(clock)
    state = {"persist_upload": BIG, "persist_table": a_table(5_000), "persist_n": 1}
    store.save_process("first", state)
    store.save_process("second", {"persist_upload": BIG[: 3 * MIB]})
    assert medium.big_values(BIG_TEXT) == 3

    store.rename_process("first", "renamed")
    assert store.load_process("first") is None
    renamed = store.load_process("renamed")
    assert renamed is not None and renamed["persist_upload"] == BIG
    assert_frame_equal(renamed["persist_table"], state["persist_table"], check_exact=True)
    assert medium.big_values(BIG_TEXT) == 3

    store.save_process("renamed", {"persist_n": 2})  # the big keys dropped
    assert medium.big_values(BIG_TEXT) == 1
    assert store.delete_process("second")
    assert medium.big_values(BIG_TEXT) == 0

    store.update_process("renamed", {"persist_upload": BIG})
    clock.advance(days=make_store.settings.retention_days + 1)
    assert store.load_process("renamed") is None
    assert store.purge_expired() == ["renamed"]
    assert medium.big_values(BIG_TEXT) == 0


@pytest.mark.slow
def test_export_and_import_carry_big_values(store: StorageInterface, medium: Medium) -> None:
    table = a_table(5_000)
    store.save_process("p", {"persist_upload": BIG, "persist_table": table, "persist_n": 1})
    document = json.loads(json.dumps(export_document(store)))  # through text, as a file
    store.delete_process("p")
    assert medium.big_values(BIG_TEXT) == 0
    assert import_document(store, document) == ["p"]
    state = store.load_process("p")
    assert state is not None and state["persist_upload"] == BIG
    assert_frame_equal(state["persist_table"], table, check_exact=True)
    assert medium.big_values(BIG_TEXT) == 2
    store.update_process("p", {"persist_upload": b"replaced", "persist_table": a_table(2)})
    assert medium.big_values(BIG_TEXT) == 0
    assert import_document(store, document) == ["p"]  # replaces the whole process
    again = store.load_process("p")
    assert again is not None and again["persist_upload"] == BIG
    assert_frame_equal(again["persist_table"], table, check_exact=True)
    assert medium.big_values(BIG_TEXT) == 2


def test_a_per_user_view_keeps_big_values_apart_too(
    make_store: StoreFactory, medium: Medium
) -> None:
    inner = make_store()
    alice, bob = ScopedStorage(inner, "alice@example.com"), ScopedStorage(inner, "bob@example.com")
    alice.save_process("report", {"persist_upload": BIG, "persist_n": 1})
    bob.save_process("report", {"persist_upload": BIG[: 2 * MIB], "persist_n": 2})
    alice.update_process("report", {"persist_n": 3})
    alice.rename_process("report", "final")
    assert alice.load_process("final") == {"persist_upload": BIG, "persist_n": 3}
    assert bob.load_process("report") == {"persist_upload": BIG[: 2 * MIB], "persist_n": 2}
    assert medium.big_values(BIG_TEXT) == 2
    assert alice.delete_process("final")
    assert medium.big_values(BIG_TEXT) == 1
