"""What migrations of saved state cost once a process has had them: an unchanged rerun of a
migrated process does no migration work (the per-rerun check reads the revision only), and a
read of it (a colleague's save merged, a reopen) one comparison of its record."""

from __future__ import annotations

from typing import Any

from persistence.migrations import AppMigrations, MigratingStorage, Migration, plan_migration
from persistence.models import State
from persistence.sync import StateSync
from scripts.benchmark.floor import Floor
from scripts.benchmark.measure import Row, Timing, fmt_time, interleaved, timed, verdict
from scripts.benchmark.scenarios import KEYS, VALUE_BYTES, Sizes
from scripts.benchmark.target import Target
from scripts.benchmark.workload import (
    NO_LIMIT,
    CountingStore,
    RerunTimer,
    open_session,
    sample_state,
)

MIGRATIONS = 20


def migrated_rerun_scenario(target: Target, sizes: Sizes, prefix: str, floor: Floor) -> list[Row]:
    """The unchanged rerun of a process migrated by ``MIGRATIONS`` migrations, beside the
    unchanged rerun of the same process without migrations."""
    del floor  # a rerun that writes nothing has no raw floor to compare with
    plain = target.store()
    store = CountingStore(plain)
    calls = [0]

    def step(state: State) -> State:
        calls[0] += 1
        return state

    app = AppMigrations("bench", tuple(Migration(f"{n:04d}", step) for n in range(MIGRATIONS)))
    try:
        small = sample_state(prefix, KEYS, VALUE_BYTES)
        plain.save_process("bench migrated", small)  # saved before the app had migrations
        state: dict[Any, Any] = {}
        session = StateSync(MigratingStorage(store, app), state, prefix=prefix, max_bytes=NO_LIMIT)
        session.open("bench migrated")  # migrated here, once
        reference, _ = open_session(store, "bench unmigrated", small, prefix)
        migrated_timer, plain_timer = RerunTimer(session, store), RerunTimer(reference, store)
        writes, calls[0] = store.writes, 0
        migrated, unmigrated = interleaved(sizes.rerun, [migrated_timer.rerun, plain_timer.rerun])
        writes, work = store.writes - writes, calls[0]
        stored = plain.read_process("bench migrated")
        assert stored is not None
        comparison = Timing(
            [timed(lambda: plan_migration("bench migrated", stored.state, app)) for _ in range(200)]
        )
        ok = writes == 0 and work == 0
        return [
            Row(
                f"unchanged rerun of a migrated process ({MIGRATIONS} migrations)",
                migrated,
                unmigrated,
                None,
                "0 migration calls, 0 writes",
                f"{verdict(ok)} ({work} calls, {writes} writes)",
                [
                    f"naive column: the same rerun of a process without migrations; a read "
                    f"of the migrated process (a colleague's save merged, a reopen) adds one "
                    f"comparison of its record: median {fmt_time(comparison.median)}"
                ],
            )
        ]
    finally:
        plain.close()
