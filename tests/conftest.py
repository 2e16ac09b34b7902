"""Helpers shared by the template's tests: render from this working tree, run commands."""

from __future__ import annotations

import itertools
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tools"))

from render import render  # noqa: E402

__all__ = ["REPO", "every_combination", "render", "render_combination", "run", "uv_command"]

BACKENDS = ["json", "sqlite", "redis", "postgres"]
SCOPES = ["shared", "per_user"]
COMBINATIONS = list(itertools.product(BACKENDS, [True, False], ["en", "ja"], SCOPES))


def combination_id(backend: str, sample: bool, language: str, scope: str) -> str:
    return f"backend={backend}-sample={'yes' if sample else 'no'}-lang={language}-scope={scope}"


every_combination = pytest.mark.parametrize(
    ("backend", "sample", "language", "scope"),
    COMBINATIONS,
    ids=[combination_id(*combination) for combination in COMBINATIONS],
)


def render_combination(dest: Path, backend: str, sample: bool, language: str, scope: str) -> Path:
    return render(
        dest, backend=backend, include_sample_app=sample, ui_language=language, process_scope=scope
    )


def uv_command() -> str:
    """How to call uv here: on PATH, else the one in this venv (a dev dependency)."""
    return "uv" if shutil.which("uv") else f"{sys.executable} -m uv"


def project_env(**extra: str) -> dict[str, str]:
    """The environment a generated project's commands run in: real Redis and PostgreSQL, no
    downloads."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VIRTUAL_ENV", "PYTEST_"))}
    env["UV_PYTHON_DOWNLOADS"] = "never"
    env.setdefault("REDIS_URL", "redis://127.0.0.1:6379/0")
    env.setdefault("POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
    return {**env, **extra}


def run(
    command: list[str], cwd: Path, timeout: float = 900, **extra_env: str
) -> subprocess.CompletedProcess[str]:
    """Run ``command``; on failure, fail the test with everything it printed."""
    result = subprocess.run(
        command,
        cwd=cwd,
        env=project_env(**extra_env),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if result.returncode != 0:
        pytest.fail(
            f"`{' '.join(command)}` exited {result.returncode} in {cwd}\n"
            f"--- stdout ---\n{result.stdout[-20000:]}\n--- stderr ---\n{result.stderr[-20000:]}",
            pytrace=False,
        )
    return result
