"""The benchmark script keeps working: a tiny run on this project's backend, timings ignored."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from typing import Any

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "bench_persistence.py"


def load(monkeypatch: pytest.MonkeyPatch) -> Any:
    spec = importlib.util.spec_from_file_location("bench_persistence", SCRIPT)
    assert spec is not None and spec.loader is not None
    bench = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, "bench_persistence", bench)
    spec.loader.exec_module(bench)
    return bench


@pytest.mark.slow
def test_bench_quick_run_prints_one_table(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    bench = load(monkeypatch)
    assert bench.main(["--quick"]) == 0

    table = capsys.readouterr().out
    assert table.count("### ") == 1
    assert "| unchanged rerun" in table
    assert "(0 writes)" in table  # an unchanged rerun never writes, however fast it is
    assert "(2/2 kept)" in table  # two writers on one process lose nothing
    for scenario in (
        "1 key of 50 changed",
        "switch process",
        "list 200 processes",
        "sidebar rerun, 200 processes",
        "one user's processes, 10 users x 20 processes",
        "unchanged rerun, 300 x 10 table",
        "1 cell edited in the 300 x 10 table",
        "1 key of 50 changed beside a 0.25 MiB file",
    ):
        assert scenario in table


@pytest.mark.slow
def test_bench_runs_the_scenarios_asked_for(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    bench = load(monkeypatch)
    assert bench.main(["--quick", "--only", "file"]) == 0
    rows = [line for line in capsys.readouterr().out.splitlines() if line.startswith("| 1 key")]
    assert len(rows) == 3 and all("file" in row for row in rows), rows
