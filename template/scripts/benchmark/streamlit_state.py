"""Scenarios on a real ``st.session_state``: what the engine costs per rerun when Streamlit,
not a dict, holds the state, with and without delivery tracking; and what an idle session's
live-update check costs per interval.

The page runs under Streamlit's ``AppTest`` (a real ``SessionState``, real widgets and the
widget states a browser would report); only ``begin_run`` + ``end_run`` inside it are timed.
"""

from __future__ import annotations

from streamlit.testing.v1 import AppTest

from persistence.deliveries import NoBrowser
from persistence.storage import StorageInterface
from persistence.sync import StateSync
from scripts.benchmark.floor import Floor
from scripts.benchmark.measure import Row, fmt_time, interleaved, timed, verdict
from scripts.benchmark.target import Target
from scripts.benchmark.workload import NO_LIMIT, CountingStore

WIDGETS = 50
TARGET_IDLE_READS = 1
# What a page under AppTest reads from this module: the store, and where to put its timings.
STORE: dict[str, StorageInterface] = {}
SAMPLES: dict[bool, list[int]] = {True: [], False: []}


def _page(tracking: bool, prefix: str, widgets: int) -> None:
    """Fifty persisted text inputs; the engine's two calls around them are timed."""
    import time as clock

    import streamlit as st
    from streamlit.errors import StreamlitAPIException

    from persistence.browser import StreamlitBrowser
    from persistence.deliveries import NoBrowser
    from persistence.sync import StateSync
    from scripts.benchmark import streamlit_state as bench
    from scripts.benchmark.workload import NO_LIMIT

    holder = "_bench_sync"
    if holder not in st.session_state:
        sync = StateSync(
            bench.STORE["store"],
            st.session_state,
            prefix=prefix,
            max_bytes=NO_LIMIT,
            browser=StreamlitBrowser() if tracking else NoBrowser(),
            refused=(StreamlitAPIException,),
        )
        sync.open("bench real state")
        st.session_state[holder] = sync
    sync = st.session_state[holder]
    start = clock.perf_counter_ns()
    run = sync.begin_run()
    middle = clock.perf_counter_ns()
    for index in range(widgets):
        st.text_input(f"field {index}", key=f"{prefix}field_{index:02d}")
    end_start = clock.perf_counter_ns()
    sync.end_run(run)
    bench.SAMPLES[tracking].append(middle - start + clock.perf_counter_ns() - end_start)


def _app(tracking: bool, prefix: str) -> AppTest:
    app = AppTest.from_function(_page, args=(tracking, prefix, WIDGETS), default_timeout=60)
    app.run()
    if app.exception:
        raise RuntimeError(f"the benchmark page failed: {app.exception}")
    return app


def real_state_scenario(target: Target, rounds: int, prefix: str, floor: Floor) -> Row:
    """An unchanged rerun on a real ``st.session_state`` with 50 persisted widgets."""
    store = target.store()
    STORE["store"] = store
    try:
        store.save_process(
            "bench real state", {f"{prefix}field_{i:02d}": f"value {i}" for i in range(WIDGETS)}
        )
        apps = {tracking: _app(tracking, prefix) for tracking in (True, False)}

        def rerun(tracking: bool) -> int:
            apps[tracking].run()
            return SAMPLES[tracking][-1]

        floor.write_process("real", {"k": "v"})
        tracked, untracked, bare = interleaved(
            rounds,
            [
                lambda: rerun(True),
                lambda: rerun(False),
                lambda: timed(lambda: floor.write_process("real", {"k": "v"}, "k")),
            ],
        )
        cost = tracked.median - untracked.median
        return Row(
            f"unchanged rerun on a real st.session_state, {WIDGETS} widgets (AppTest)",
            tracked,
            untracked,
            bare,
            notes=[
                "begin_run + end_run with delivery tracking (StreamlitBrowser); the naive "
                "column is the same engine without it (NoBrowser): tracking costs "
                f"{fmt_time(cost)} per rerun at the median"
            ],
        )
    finally:
        STORE.clear()
        store.close()


def idle_watch_scenario(target: Target, rounds: int, prefix: str) -> Row:
    """An idle session's live-update check: one revision read per interval, nothing else."""
    plain = target.store()
    store = CountingStore(plain)
    try:
        store.create_process("bench idle")
        sync = StateSync(store, {}, prefix=prefix, max_bytes=NO_LIMIT, browser=NoBrowser())
        sync.open("bench idle")
        reads: list[int] = []

        def check() -> int:
            before = store.revision_reads
            elapsed = timed(sync.changed_elsewhere)
            reads.append(store.revision_reads - before)
            return elapsed

        writes_before = store.writes
        watch, bare = interleaved(
            rounds, [check, lambda: timed(lambda: plain.process_revision("bench idle"))]
        )
        writes = store.writes - writes_before
        per_check = max(reads)
        ok = writes == 0 and per_check == TARGET_IDLE_READS
        return Row(
            "idle session: one live-update check (changed_elsewhere)",
            watch,
            None,
            bare,
            f"{TARGET_IDLE_READS} revision read, 0 writes",
            f"{verdict(ok)} ({per_check} read, {writes} writes)",
            [
                "the raw floor here is the bare `process_revision` read; at the default "
                f"2 s interval an idle tab costs {fmt_time(watch.median / 2)} of server time "
                "per second"
            ],
        )
    finally:
        store.close()
