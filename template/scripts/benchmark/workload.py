"""What the scenarios run: session-state data, sessions on a store, and a store that counts."""

from __future__ import annotations

import random
import time
from collections.abc import Collection, Mapping
from datetime import date, timedelta
from typing import Any

import numpy as np
import pandas as pd

from persistence import codec
from persistence.models import ProcessInfo, Revision, State
from persistence.storage import StorageInterface
from persistence.storage.delegating import DelegatingStorage
from persistence.sync import StateSync
from scripts.benchmark.measure import Op

NO_LIMIT = 1 << 40  # for sessions that measure the engine's work, not its limits
REGIONS = ["north", "south", "east", "west", "central"]


class CountingStore(DelegatingStorage):
    """Counts every call that writes, and times the last freshness check."""

    def __init__(self, inner: StorageInterface) -> None:
        super().__init__(inner)
        self.writes = 0
        self.revision_reads = 0
        self.check_ns = 0  # how long the last freshness check took

    def save_process(self, name: str, data: Mapping[str, Any]) -> None:
        self.writes += 1
        super().save_process(name, data)

    def update_process(
        self,
        name: str,
        changed: Mapping[str, Any],
        removed: Collection[str] = (),
        *,
        expected_revision: Revision | None = None,
        encodings: Mapping[str, codec.Encoded] | None = None,
    ) -> Revision:
        self.writes += 1
        return super().update_process(
            name, changed, removed, expected_revision=expected_revision, encodings=encodings
        )

    def process_revision(self, name: str) -> Revision | None:
        self.revision_reads += 1
        start = time.perf_counter_ns()
        revision = super().process_revision(name)
        self.check_ns = time.perf_counter_ns() - start
        return revision

    def create_process(self, name: str) -> ProcessInfo:
        self.writes += 1
        return super().create_process(name)

    def rename_process(self, old: str, new: str) -> None:
        self.writes += 1
        super().rename_process(old, new)

    def delete_process(self, name: str) -> bool:
        self.writes += 1
        return super().delete_process(name)

    def purge_expired(self) -> list[str]:
        self.writes += 1
        return super().purge_expired()


def sample_state(prefix: str, keys: int, value_bytes: int) -> State:
    """``keys`` persisted values of the kinds widgets hold, about ``value_bytes`` each."""
    state: State = {}
    for index in range(keys):
        key = f"{prefix}field_{index:02d}"
        kind = index % 5
        if kind == 0:
            state[key] = "note " + "x" * max(0, value_bytes - 8)
        elif kind == 1:
            state[key] = list(range(max(1, value_bytes // 6)))
        elif kind == 2:
            rows = max(1, value_bytes // 60)
            state[key] = [
                {"id": row, "label": f"row {row}", "done": row % 2 == 0} for row in range(rows)
            ]
        elif kind == 3:
            state[key] = {
                "day": date(2025, 1, 6),
                "range": (1.5, 2.5),
                "tags": ["a"] * (value_bytes // 5),
            }
        else:
            state[key] = [f"option {n}" for n in range(max(1, value_bytes // 11))]
    return state


def sample_table(rows: int) -> pd.DataFrame:
    """A table as ``persistent_data_editor`` keeps one: ``rows`` x 10 columns of the dtypes
    apps edit (integers, floats, text with gaps, a flag, timestamps, dates as an ``object``
    column as the editor's date column gives them, a category, nullable integers)."""
    rng = np.random.default_rng(0)
    first = date(2025, 1, 6)
    amounts = pd.array(rng.integers(0, 100_000, rows), dtype="Int64")
    amounts[::11] = pd.NA
    return pd.DataFrame(
        {
            "id": np.arange(rows, dtype="int64"),
            "quantity": rng.integers(0, 1000, rows).astype("int32"),
            "price": (rng.random(rows) * 1000).round(2),
            "item": [f"item {row:05d}" for row in range(rows)],
            "note": [None if row % 7 == 0 else f"note on row {row}" for row in range(rows)],
            "done": rng.random(rows) > 0.5,
            "updated": pd.date_range("2025-01-06 09:00", periods=rows, freq="min"),
            "due": pd.Series(
                [first + timedelta(days=row % 365) for row in range(rows)], dtype=object
            ),
            "region": pd.Categorical(rng.choice(REGIONS, rows), categories=REGIONS),
            "amount": amounts,
        }
    )


def sample_file(size: int) -> dict[str, Any]:
    """A file as ``persistent_file_uploader`` keeps one: name, MIME type and bytes."""
    data = random.Random(0).randbytes(size)  # noqa: S311 - test data, not a secret
    return {"name": "scan.pdf", "type": "application/pdf", "data": data}


def encoded_size(state: Mapping[str, Any]) -> int:
    return sum(len(codec.encode(key, value).encode()) for key, value in state.items())


def changed_value(round_: int, size: int = 200) -> str:
    text = f"changed in round {round_} "
    return text + "y" * max(0, size - len(text))


def open_session(
    store: StorageInterface,
    name: str,
    state: Mapping[str, Any],
    prefix: str,
    *,
    max_bytes: int = NO_LIMIT,
    max_value_bytes: int | None = None,
) -> tuple[StateSync, dict[Any, Any]]:
    """A session on a new process ``name`` holding ``state``, saved once."""
    store.create_process(name)
    session_state: dict[Any, Any] = {"unrelated widget": 1}
    session = StateSync(
        store, session_state, prefix=prefix, max_bytes=max_bytes, max_value_bytes=max_value_bytes
    )
    session.open(name)
    session_state.update(state)
    session.end_run(session.begin_run())
    return session, session_state


class RerunTimer:
    """begin_run + end_run, timed as a whole, the freshness check and the save apart."""

    def __init__(self, session: StateSync, store: CountingStore) -> None:
        self.session = session
        self.store = store
        self.checks: list[int] = []  # process_revision inside begin_run
        self.saves: list[int] = []  # end_run alone
        self.totals: list[int] = []

    def rerun(self) -> int:
        start = time.perf_counter_ns()
        run = self.session.begin_run()
        middle = time.perf_counter_ns()
        self.session.end_run(run)
        end = time.perf_counter_ns()
        self.checks.append(self.store.check_ns)
        self.saves.append(end - middle)
        self.totals.append(end - start)
        return end - start


def naive_save(store: StorageInterface, name: str, state: Mapping[Any, Any], prefix: str) -> Op:
    """What a simple implementation does on every rerun: save the whole persisted dict."""

    def op() -> int:
        start = time.perf_counter_ns()
        persisted = {k: v for k, v in state.items() if isinstance(k, str) and k.startswith(prefix)}
        store.save_process(name, persisted)
        return time.perf_counter_ns() - start

    return op
