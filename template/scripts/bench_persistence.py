"""Measure what automatic persistence costs per rerun, on this project's storage backend.

    uv run python scripts/bench_persistence.py               # a temporary store
    uv run python scripts/bench_persistence.py --url URL     # next to your deployment's data
    uv run python scripts/bench_persistence.py --quick       # a few-second smoke run

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
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

# Run as a file, Python puts scripts/ on the path but not the project: add the project, so
# the benchmark's parts import as `scripts.benchmark.*`, the names mypy and pytest use.
_PROJECT = str(Path(__file__).resolve().parents[1])
if _PROJECT not in sys.path:
    sys.path.insert(0, _PROJECT)

from persistence.errors import ConfigurationError  # noqa: E402
from persistence.settings import get_settings  # noqa: E402
from scripts.benchmark.floor import open_floor  # noqa: E402
from scripts.benchmark.measure import render_table  # noqa: E402
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
from scripts.benchmark.target import bench_target  # noqa: E402


def run(url: str | None, quick: bool) -> str:
    sizes = Sizes.pick(quick)
    prefix = get_settings().key_prefix
    with bench_target(url) as target:
        print(f"benchmarking {target.backend} at {target.url} ...", file=sys.stderr, flush=True)
        # The store creates its file first, so the floor can copy its journal settings.
        target.store().close()
        floor = open_floor(target)
        try:
            rows = rerun_scenarios(target, sizes, prefix, floor)
            rows.append(switch_scenario(target, sizes, prefix, floor))
            rows.append(listing_scenario(target, sizes, floor))
            rows.append(sidebar_scenario(target, sizes))
            rows.append(owner_listing_scenario(target, sizes))
            rows.append(concurrent_scenario(target, sizes, prefix, floor))
            rows.append(real_state_scenario(target, sizes.switch, prefix, floor))
            rows.append(idle_watch_scenario(target, sizes.rerun, prefix))
        finally:
            floor.close()
        return render_table(target.backend, url or target.url, rows, quick)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--url", help="storage URL to benchmark beside (default: a temp store)")
    parser.add_argument("--quick", action="store_true", help="a tiny smoke run (seconds)")
    args = parser.parse_args(argv)
    try:
        print(run(args.url, args.quick))
    except ConfigurationError as error:
        raise SystemExit(str(error)) from None
    return 0


if __name__ == "__main__":
    sys.exit(main())
