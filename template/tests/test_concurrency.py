"""Many writers at once, from threads and from OS processes: every acknowledged write
is kept and nothing is corrupt."""

from __future__ import annotations

import os
import random
import subprocess
import sys
import threading
import time

import pytest

from persistence.storage import StorageInterface
from tests.conftest import StoreFactory

pytestmark = pytest.mark.persistence

PROCESSES = ["alpha", "ベータ", "gamma"]
WRITER = """
import os, random, sys, time
from persistence.storage import open_storage
store = open_storage()
names = sys.argv[2:]
deadline = time.monotonic() + float(sys.argv[1])
writer = f"persist_w{os.getpid()}"
count = 0
while time.monotonic() < deadline:
    name = random.choice(names)
    key = f"{writer}_{random.randrange(5)}"
    store.update_process(name, {key: count})
    print(name, key, count, flush=True)  # acknowledged: the write returned
    count += 1
"""


def env_for(make_store: StoreFactory) -> dict[str, str]:
    return {
        **os.environ,
        "PERSIST_STORAGE_URL": make_store.url,
        "PERSIST_NAMESPACE": make_store.settings.namespace,
    }


def last_acknowledged(lines: list[str]) -> dict[tuple[str, str], int]:
    latest: dict[tuple[str, str], int] = {}
    for line in lines:
        name, key, value = line.rsplit(" ", 2)
        latest[(name, key)] = int(value)
    return latest


@pytest.mark.slow
def test_threads_and_processes_writing_at_once_lose_nothing(make_store: StoreFactory) -> None:
    store = make_store()
    for name in PROCESSES:
        store.create_process(name)
    writers = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, "1.5", *PROCESSES],
            env=env_for(make_store),
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    acknowledged: list[str] = []
    lock = threading.Lock()

    def thread_writer(index: int) -> None:
        own = make_store()
        deadline = time.monotonic() + 1.5
        count = 0
        while time.monotonic() < deadline:
            name = random.choice(PROCESSES)
            key = f"persist_t{index}_{random.randrange(5)}"
            own.update_process(name, {key: count})
            with lock:
                acknowledged.append(f"{name} {key} {count}")
            count += 1

    threads = [threading.Thread(target=thread_writer, args=(i,)) for i in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for writer in writers:
        out, _ = writer.communicate(timeout=60)
        assert writer.returncode == 0
        acknowledged.extend(out.splitlines())

    expected = last_acknowledged(acknowledged)
    assert len(expected) > 10, "the writers should have written something"
    states = {name: store.load_process(name) for name in PROCESSES}
    for (name, key), value in expected.items():
        assert states[name] is not None
        assert states[name][key] == value, (name, key)  # type: ignore[index]


def test_concurrent_creates_of_one_name_yield_one_process(store: StorageInterface) -> None:
    from persistence.errors import ProcessExistsError

    outcomes: list[str] = []

    def create() -> None:
        try:
            store.create_process("same")
            outcomes.append("created")
        except ProcessExistsError:
            outcomes.append("exists")

    threads = [threading.Thread(target=create) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["created"] + ["exists"] * 7
