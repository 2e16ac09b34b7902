"""Render the template from this working tree (for `make demo`, the tests and benchmarks)."""

from __future__ import annotations

import json
import shutil
import warnings
from pathlib import Path
from typing import Any

import copier

REPO = Path(__file__).resolve().parents[1]
# The backends as the template declares them: the persistence package's backends.json, which
# copier.yml and the generated code read too.
BACKENDS: dict[str, dict[str, Any]] = json.loads(
    (REPO / "template/packages/persistence/src/persistence/backends.json").read_text(
        encoding="utf-8"
    )
)
# Re-rendering keeps the environment (a second run is fast) and the saved processes (a demo
# restarted with `make demo` shows them again, as a restarted server would).
KEEP = {".venv", "data"}


def clear(dest: Path) -> None:
    """Empty ``dest`` except ``KEEP``, so no file of an earlier render survives."""
    if not dest.exists():
        return
    for child in dest.iterdir():
        if child.name in KEEP:
            continue
        if child.is_dir() and not child.is_symlink():
            shutil.rmtree(child)
        else:
            child.unlink()


def render(dest: Path, **answers: Any) -> Path:
    """Render with default answers except ``answers``, from HEAD plus uncommitted changes."""
    clear(dest)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "dirty template": rendering local changes is the point
        copier.run_copy(
            str(REPO),
            str(dest),
            data=answers,
            defaults=True,
            overwrite=True,
            vcs_ref="HEAD",
            quiet=True,
        )
    return dest
