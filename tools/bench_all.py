"""`make bench`: render a project per backend, run its persistence benchmark, print the tables.

Each backend renders into build/bench-<backend> (its .venv is kept between runs), syncs with
`uv sync --all-packages -q` and runs `scripts/bench_persistence.py` there, the script users
run against their own deployment. Also reports how long `copier copy` with defaults takes.

    uv run python tools/bench_all.py                 # everything (several minutes)
    uv run python tools/bench_all.py --quick         # smoke sizes, seconds per backend
    uv run python tools/bench_all.py --backend redis
    uv run python tools/bench_all.py --only tables --only file   # some scenarios (--help)
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

from demo import server_answers

from render import BACKENDS, REPO, render


def uv() -> list[str]:
    return ["uv"] if shutil.which("uv") else [sys.executable, "-m", "uv"]


def project_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("VIRTUAL_ENV")}
    env["UV_PYTHON_DOWNLOADS"] = "never"
    for facts in BACKENDS.values():
        if server := facts["server"]:
            env.setdefault(server["env"], server["test_url"])
    return env


def copier_copy_seconds(runs: int = 3) -> list[float]:
    """Wall time of the user's first step: `copier copy --defaults` into an empty folder."""
    times = []
    for _ in range(runs):
        with tempfile.TemporaryDirectory() as dest:
            command = [sys.executable, "-m", "copier", "copy", "--defaults", "--trust", "--quiet",
                       "-r", "HEAD", str(REPO), dest]  # fmt: skip
            start = time.perf_counter()
            subprocess.run(command, check=True, capture_output=True)
            times.append(time.perf_counter() - start)
    return times


def bench(backend: str, quick: bool, only: list[str]) -> tuple[str, float]:
    dest = REPO / "build" / f"bench-{backend}"
    start = time.perf_counter()
    render(dest, backend=backend)
    rendered = time.perf_counter() - start
    env = project_env()
    subprocess.run([*uv(), "sync", "--all-packages", "-q"], cwd=dest, env=env, check=True)
    command = [*uv(), "run", "--no-sync", "python", "scripts/bench_persistence.py"]
    result = subprocess.run(
        [*command, *(["--quick"] if quick else []), *(f"--only={name}" for name in only)],
        cwd=dest,
        env=env,
        check=True,
        stdout=subprocess.PIPE,
        text=True,
    )
    return result.stdout, rendered


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--quick", action="store_true", help="smoke sizes (seconds)")
    parser.add_argument(
        "--only",
        action="append",
        default=[],
        help="a scenario of scripts/bench_persistence.py (repeatable; default: all)",
    )
    parser.add_argument("--backend", action="append", choices=list(BACKENDS), help="repeatable")
    args = parser.parse_args()
    failed = False
    for backend in args.backend or BACKENDS:
        server = BACKENDS[backend]["server"]
        if server and not server_answers(url := project_env()[server["env"]]):
            print(f"### {backend} — skipped: nothing answers at {url}\n")
            continue
        print(f"benchmarking {backend} ...", file=sys.stderr, flush=True)
        try:
            table, rendered = bench(backend, args.quick, args.only)
        except subprocess.CalledProcessError as error:
            print(f"### {backend} — failed: {error}\n")
            failed = True
            continue
        print(table)
        print(f"(rendered in {rendered:.2f} s with tools/render.render)\n", flush=True)
    copies = copier_copy_seconds(1 if args.quick else 3)
    print(
        f"Template render time, `copier copy --defaults` (CLI, json backend, {len(copies)} runs): "
        f"median {statistics.median(copies):.2f} s, min {min(copies):.2f} s"
    )
    print("`make test` wall time: measure it with `time make test`.")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
