"""Measure what automatic persistence costs per rerun, on this project's storage backend.

    uv run python scripts/bench_persistence.py               # a temporary store
    uv run python scripts/bench_persistence.py --url URL     # next to your deployment's data
    uv run python scripts/bench_persistence.py --quick       # a few-second smoke run
    uv run python scripts/bench_persistence.py --only tables --only file   # some scenarios

With ``--url`` the benchmark never touches your processes: JSON and SQLite work in a fresh
``.bench-*`` folder beside the configured one (same disk, same fsync), Redis in a unique
namespace on the same server, PostgreSQL in unique schemas of the same database (a
``?schema=`` in the URL is ignored). Everything it creates is deleted at the end.

Prints one Markdown table: median and p95 per operation, and two ratios measured in the
same run, interleaved round by round so that machine noise hits every column alike:

* **naive**: what a simple implementation does (``save_process`` of the whole persisted
  dict on every rerun, ``load_process`` plus assignment to switch);
* **raw floor**: the bare backend operation for the same bytes, without this package
  (JSON: ``json.dump`` to a temp file + fsync + ``os.replace``; SQLite: one upsert in a
  transaction; Redis: one ``HSET`` round trip; PostgreSQL: one upsert round trip, committed;
  reads: one read of the same data).

The table and file scenarios run at the configured ``max_process_bytes`` and
``max_value_bytes``; the others without limits (they measure the engine, not the limits).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

# Run as a file, Python puts scripts/ on the path but not the project: add the project, so
# the benchmark's parts import as `scripts.benchmark.*`, the names mypy and pytest use.
_PROJECT = str(Path(__file__).resolve().parents[1])
if _PROJECT not in sys.path:
    sys.path.insert(0, _PROJECT)

from persistence.errors import ConfigurationError  # noqa: E402
from persistence.settings import get_settings  # noqa: E402
from scripts.benchmark.floor import Floor, open_floor  # noqa: E402
from scripts.benchmark.measure import Row, render_table  # noqa: E402
from scripts.benchmark.migrations import migrated_rerun_scenario  # noqa: E402
from scripts.benchmark.scenarios import (  # noqa: E402
    Sizes,
    concurrent_scenario,
    listing_scenario,
    owner_listing_scenario,
    rerun_scenarios,
    switch_scenario,
)
from scripts.benchmark.sidebar import sidebar_scenario  # noqa: E402
from scripts.benchmark.streamlit_state import (  # noqa: E402
    idle_watch_scenario,
    real_state_scenario,
)
from scripts.benchmark.tables import beside_file_scenario, table_scenarios  # noqa: E402
from scripts.benchmark.target import Target, bench_target  # noqa: E402

Scenario = Callable[[Target, Sizes, str, Floor], list[Row]]

# The scenarios, in the table's order, by the name --only takes.
SCENARIOS: dict[str, Scenario] = {
    "reruns": rerun_scenarios,
    "switch": lambda target, sizes, prefix, floor: [switch_scenario(target, sizes, prefix, floor)],
    # The sidebar draws the listing's processes: one scenario.
    "listing": lambda target, sizes, prefix, floor: [
        listing_scenario(target, sizes, floor),
        sidebar_scenario(target, sizes),
    ],
    "owners": lambda target, sizes, prefix, floor: [owner_listing_scenario(target, sizes)],
    "concurrent": lambda target, sizes, prefix, floor: [
        concurrent_scenario(target, sizes, prefix, floor)
    ],
    "migrations": migrated_rerun_scenario,
    "tables": table_scenarios,
    "file": beside_file_scenario,
    "session-state": lambda target, sizes, prefix, floor: [
        real_state_scenario(target, sizes.switch, prefix, floor),
        idle_watch_scenario(target, sizes.rerun, prefix),
    ],
}


def run(url: str | None, quick: bool, only: Sequence[str] = ()) -> str:
    sizes = Sizes.pick(quick)
    prefix = get_settings().key_prefix
    with bench_target(url) as target:
        print(f"benchmarking {target.backend} at {target.url} ...", file=sys.stderr, flush=True)
        # The store creates its file first, so the floor can copy its journal settings.
        target.store().close()
        floor = open_floor(target)
        rows: list[Row] = []
        try:
            for name, scenario in SCENARIOS.items():
                if not only or name in only:
                    rows += scenario(target, sizes, prefix, floor)
        finally:
            floor.close()
        return render_table(target.backend, url or target.url, rows, quick)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--url", help="storage URL to benchmark beside (default: a temp store)")
    parser.add_argument("--quick", action="store_true", help="a tiny smoke run (seconds)")
    parser.add_argument(
        "--only",
        action="append",
        choices=list(SCENARIOS),
        default=[],
        help="run only this scenario (repeatable; default: all)",
    )
    args = parser.parse_args(argv)
    try:
        print(run(args.url, args.quick, args.only))
    except ConfigurationError as error:
        raise SystemExit(str(error)) from None
    return 0


if __name__ == "__main__":
    sys.exit(main())
