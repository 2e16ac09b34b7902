"""Two OS processes on one store (one JSON folder, SQLite file or Redis namespace) see each
other's processes and writes, as several server processes or app replicas must.

The other process is a real ``python`` child that opens the store the way a deployment
does, from ``PERSIST_STORAGE_URL`` and ``PERSIST_NAMESPACE``.
"""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import date
from typing import Any

import pytest

from persistence import codec
from persistence.errors import ProcessNotFoundError
from tests.conftest import StoreFactory

pytestmark = pytest.mark.persistence

NAME = "2025年1月_週次レポート"
WRITES_PER_CHILD = 25

# Each snippet gets the process name as sys.argv[1]; `store` is already open.
OPEN_STORE = """
import sys
from persistence import codec
from persistence.storage import open_storage
store = open_storage()
"""
CREATE_AND_FILL = """
store.create_process(sys.argv[1])
store.update_process(sys.argv[1], codec.loads(sys.argv[2]))
"""
PRINT_SNAPSHOT = """
snapshot = store.read_process(sys.argv[1])
print(codec.dumps([snapshot.revision, codec.to_jsonable(snapshot.state)]))
"""
WRITE_OWN_KEY = """
for count in range(int(sys.argv[3])):
    store.update_process(sys.argv[1], {sys.argv[2]: count})
"""
DELETE = """
print(store.delete_process(sys.argv[1]))
"""


def child_env(make_store: StoreFactory) -> dict[str, str]:
    return {
        **os.environ,
        "PERSIST_STORAGE_URL": make_store.url,
        "PERSIST_NAMESPACE": make_store.settings.namespace,
    }


def start_child(make_store: StoreFactory, snippet: str, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", OPEN_STORE + snippet, *args],
        env=child_env(make_store),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def finish(child: subprocess.Popen[str]) -> str:
    """Wait for ``child``; fail with its traceback when it failed."""
    stdout, stderr = child.communicate(timeout=120)
    if child.returncode != 0:
        pytest.fail(f"the other process exited {child.returncode}:\n{stderr}", pytrace=False)
    return stdout


def in_other_process(make_store: StoreFactory, snippet: str, *args: str) -> str:
    return finish(start_child(make_store, snippet, *args))


def test_a_process_created_elsewhere_is_listed_and_loaded_here(make_store: StoreFactory) -> None:
    here = make_store()  # opened first: nothing may be cached from before the other write
    state: dict[str, Any] = {"persist_owner": "山田", "persist_due": date(2025, 1, 31)}
    in_other_process(make_store, CREATE_AND_FILL, NAME, codec.encode("state", state))
    assert [info.name for info in here.list_processes()] == [NAME]
    assert here.load_process(NAME) == state
    here.close()


def test_writes_made_here_are_seen_there(make_store: StoreFactory) -> None:
    here = make_store()
    here.create_process(NAME)
    revision = here.update_process(NAME, {"persist_tags": ["weekly"], "persist_range": (1, 5)})
    seen = codec.loads(in_other_process(make_store, PRINT_SNAPSHOT, NAME))
    assert seen == [revision, {"persist_tags": ["weekly"], "persist_range": (1, 5)}]
    here.close()


def test_two_processes_writing_different_keys_keep_both(make_store: StoreFactory) -> None:
    here = make_store()
    here.create_process(NAME)
    children = [
        start_child(make_store, WRITE_OWN_KEY, NAME, key, str(WRITES_PER_CHILD))
        for key in ("persist_left", "persist_right")
    ]
    for child in children:
        finish(child)
    last = WRITES_PER_CHILD - 1
    snapshot = here.read_process(NAME)
    assert snapshot is not None
    assert snapshot.state == {"persist_left": last, "persist_right": last}
    # Each write moved the revision by exactly one: no two writes overlapped.
    assert snapshot.revision == 1 + 2 * WRITES_PER_CHILD
    here.close()


def test_a_delete_elsewhere_is_seen_here(make_store: StoreFactory) -> None:
    here = make_store()
    here.create_process(NAME)
    assert in_other_process(make_store, DELETE, NAME).strip() == "True"
    assert here.process_revision(NAME) is None
    assert here.list_processes() == []
    with pytest.raises(ProcessNotFoundError):
        here.update_process(NAME, {"persist_owner": "stale session"})
    here.close()
