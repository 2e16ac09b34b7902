"""SIGKILL at random points during hundreds of writes never leaves a partial or corrupt
process, and the last acknowledged write is there (file-backed stores)."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time

import pytest

from tests.conftest import StoreFactory
from tests.medium import Medium

pytestmark = pytest.mark.persistence

WRITER = """
import sys
from persistence.storage import open_storage
store = open_storage()
payload = "x" * 20000  # big enough that a write takes several system calls
count = int(sys.argv[1])
while True:
    store.update_process("crash test", {"persist_counter": count, "persist_payload": payload})
    print(count, flush=True)
    count += 1
"""


@pytest.mark.slow
def test_sigkill_during_writes_never_corrupts(make_store: StoreFactory, medium: Medium) -> None:
    if medium.untearable:
        pytest.skip(medium.untearable)
    store = make_store()
    store.create_process("crash test")
    env = {
        **os.environ,
        "PERSIST_STORAGE_URL": make_store.url,
        "PERSIST_NAMESPACE": make_store.settings.namespace,
    }
    next_value, total = 0, 0
    for _ in range(8):
        writer = subprocess.Popen(
            [sys.executable, "-c", WRITER, str(next_value)],
            env=env,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert writer.stdout is not None
        seen = [writer.stdout.readline() for _ in range(random.randint(10, 40))]
        assert all(line.strip() for line in seen), "the writer died on its own"
        time.sleep(random.uniform(0.0, 0.003))  # land anywhere inside a write
        writer.send_signal(signal.SIGKILL)
        rest, _ = writer.communicate()
        acknowledged = [int(line) for line in [*seen, *rest.splitlines()] if line.strip()]
        state = store.load_process("crash test")
        assert state is not None
        assert state["persist_payload"] == "x" * 20000
        assert state["persist_counter"] >= acknowledged[-1]
        total += len(acknowledged)
        next_value = state["persist_counter"] + 1
    assert total >= 100, f"only {total} acknowledged writes: the test proves too little"
