"""The load script keeps working: two users for a few seconds on this project's backend,
with and without persistence, timings ignored."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from typing import Any

import pytest

from persistence.settings import get_settings

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "load.py"


def load(monkeypatch: pytest.MonkeyPatch) -> Any:
    spec = importlib.util.spec_from_file_location("load_script", SCRIPT)
    assert spec is not None and spec.loader is not None
    script = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, "load_script", script)
    spec.loader.exec_module(script)
    return script


@pytest.mark.slow
def test_load_quick_run_loses_nothing(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    if get_settings().backend != "json":  # two servers' start: make test runs it once
        pytest.skip("the load driver's smoke test runs on the JSON project")
    script = load(monkeypatch)
    assert script.main(["--quick"]) == 0  # no error, no lost write

    table = capsys.readouterr().out
    rows = [line for line in table.splitlines() if line.startswith("| 2 + 2 |")]
    assert [row.split("|")[2].strip() for row in rows] == ["plain", "persistence"]
    assert rows[1].rstrip(" |").endswith("| 0")  # every user's last value is in the store
    assert "p95" in table and "x plain Streamlit's" in table
