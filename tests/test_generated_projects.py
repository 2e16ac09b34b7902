"""Every combination of answers renders a project whose own checks pass:
its test suite (real SQLite, real Redis), ruff, ruff format and mypy --strict."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import COMBINATIONS, combination_id, render, run, uv_command


@pytest.mark.slow
@pytest.mark.parametrize(
    ("backend", "sample", "language"),
    COMBINATIONS,
    ids=[combination_id(*combination) for combination in COMBINATIONS],
)
def test_generated_project_passes_its_own_checks(
    tmp_path: Path, backend: str, sample: bool, language: str
) -> None:
    project = render(
        tmp_path / "project", backend=backend, include_sample_app=sample, ui_language=language
    )
    run(["make", "check", f"UV={uv_command()}"], cwd=project)
