"""What one replica holds: simulated tabs on the main app's Report page, with and without
persistence, level after level of concurrent users.

    uv run python scripts/load.py                       # 1, 10, 30, 60 users, 15 s each
    uv run python scripts/load.py --users 1 --users 10  # some levels
    uv run python scripts/load.py --quick               # two users for a few seconds
    uv run python scripts/load.py --url http://host:8501 [--plain-url http://host:8502]

Each tab speaks Streamlit's own protocol over its WebSocket (``scripts/loadtest/tab.py``:
no browser), opens a process of its own through ``?process=`` (``--shared``: all one
process) and changes the page's first text input about once a second, running the timers
the server asks for (the live-update watcher's) as a browser does. Per level and server it
prints the rerun latency (request sent to script finished) p50/p95/p99, reruns per second,
errors, tabs that stalled (a run not finished in 10 s), the server's CPU and, with
persistence, how many tabs' last value is missing from the store; then p95 with
persistence over p95 without.

By default it starts two servers on 127.0.0.1 on a temporary store (Redis: a namespace of
its own; PostgreSQL: a schema of its own): the app as configured, and the same app with the
binding off (``PERSIST_ENABLED=false``: the same page, nothing read or saved). The levels
run one server at a time, so the two never compete. ``--url`` loads a running replica or the
proxy in front of the replicas instead (its store must be the one this project's settings
name: the tabs' processes are created there, checked, and deleted afterwards).
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import tempfile
import uuid
from collections.abc import Iterator, Sequence
from pathlib import Path

# Run as a file, Python puts scripts/ on the path but not the project: add the project, so
# the parts import as `scripts.loadtest.*`, the names mypy and pytest use.
_PROJECT = str(Path(__file__).resolve().parents[1])
if _PROJECT not in sys.path:
    sys.path.insert(0, _PROJECT)

from persistence.storage import StorageInterface, open_storage  # noqa: E402
from scripts.benchmark.target import bench_target  # noqa: E402
from scripts.loadtest.levels import Level, run_level, warm_up  # noqa: E402
from scripts.loadtest.report import render  # noqa: E402
from scripts.loadtest.servers import Server, launch, wait_until_healthy  # noqa: E402

DEFAULT_USERS = (1, 10, 30, 60)
MAX_USERS = 500
MAX_SECONDS = 300.0


def parse(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, action="append", help="a level (repeatable)")
    parser.add_argument("--seconds", type=float, default=15.0, help="per level and server")
    parser.add_argument("--interval", type=float, default=1.0, help="seconds between edits")
    parser.add_argument(
        "--idle", type=int, help="idle open tabs beside each level's users (default: as many)"
    )
    parser.add_argument("--shared", action="store_true", help="every tab on one process")
    parser.add_argument("--quick", action="store_true", help="2 users for 2 s (a smoke run)")
    parser.add_argument("--url", help="a running replica or proxy instead of local servers")
    parser.add_argument("--plain-url", help="with --url: the same app with PERSIST_ENABLED=false")
    args = parser.parse_args(argv)
    if args.quick:
        args.users, args.seconds = [2], 2.0
    args.users = args.users or list(DEFAULT_USERS)
    if not all(0 < users <= MAX_USERS for users in args.users) or (args.idle or 0) < 0:
        parser.error(f"--users must be between 1 and {MAX_USERS}")
    if not 0 < args.seconds <= MAX_SECONDS:
        parser.error(f"--seconds must be between 0 and {MAX_SECONDS:.0f}")
    if args.plain_url and not args.url:
        parser.error("--plain-url goes with --url")
    return args


@contextlib.contextmanager
def servers(args: argparse.Namespace) -> Iterator[tuple[list[Server], StorageInterface]]:
    """The servers to load, plain first, and the store the persistent one works on."""
    if args.url:
        given = [Server("persistence", args.url.rstrip("/"))]
        if args.plain_url:
            given.insert(0, Server("plain", args.plain_url.rstrip("/")))
        yield given, open_storage()
        return
    with bench_target(None) as target:
        env = {
            "PERSIST_STORAGE_URL": target.url,
            "PERSIST_NAMESPACE": target.namespace,
            "PERSIST_PROCESS_SCOPE": "shared",  # simulated tabs cannot sign in
        }
        log = Path(tempfile.gettempdir()) / f"load-{target.namespace}.log"
        started: list[Server] = []
        try:
            started.append(launch("plain", {**env, "PERSIST_ENABLED": "false"}, log))
            started.append(launch("persistence", env, log))
            for server in started:  # started side by side: the wait is the slower one's
                wait_until_healthy(server, log)
            yield started, target.store()
        finally:
            for server in started:
                server.stop()


def _idle(args: argparse.Namespace, users: int) -> int:
    return users if args.idle is None else args.idle


def main(argv: Sequence[str] | None = None) -> int:
    args = parse(argv)
    run = uuid.uuid4().hex[:6]
    results: list[Level] = []
    with servers(args) as (loaded, store):
        warm = f"load-{run}-warm-up"
        store.create_process(warm)
        warm_up(loaded, warm)
        store.delete_process(warm)
        for users in args.users:
            names = [f"load-{run}-{users}-{i}" for i in range(users)]
            idle = [f"load-{run}-{users}-idle-{i}" for i in range(_idle(args, users))]
            if args.shared:
                names, idle = [names[0]] * users, [names[0]] * len(idle)
            created = sorted({*names, *idle})
            for name in created:
                store.create_process(name)
            try:
                for server in loaded:
                    checked = store if server.name == "persistence" else None
                    level = run_level(server, names, args.seconds, args.interval, checked, idle)
                    results.append(level)
                    print(f"{server.name}: {users} users done", file=sys.stderr, flush=True)
            finally:
                for name in created:
                    store.delete_process(name)
    print(render(results, args))
    return 0 if all(not level.errors and not level.lost for level in results) else 1


if __name__ == "__main__":
    raise SystemExit(main())
