"""A relative storage path (``json:///data/processes``) is relative to the project root, for
the app, ``persist`` and the scripts alike, wherever they are started from."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from persistence import settings
from persistence.storage.base import url_path
from tests.conftest import PROJECT_ROOT

pytestmark = pytest.mark.persistence


def test_a_relative_data_folder_is_relative_to_the_project_root(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    for where in (PROJECT_ROOT / "apps" / "main", tmp_path):
        monkeypatch.chdir(where)
        settings.project_root.cache_clear()
        assert settings.project_root() == PROJECT_ROOT
        assert url_path("json:///data/processes") == PROJECT_ROOT / "data" / "processes"
        assert url_path("sqlite:////srv/state.db") == Path("/srv/state.db")
    settings.project_root.cache_clear()


def test_persist_in_a_subfolder_uses_the_root_data_folder(tmp_path: Path) -> None:
    """``cd apps/main && persist list`` on a relative URL: the project's folder, found from
    the package's location, not ``apps/main/data``."""
    probe = "from persistence.storage.base import url_path; print(url_path('json:///data/x'))"
    found = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=PROJECT_ROOT / "apps" / "main",
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert Path(found) == PROJECT_ROOT / "data" / "x"
    assert not (PROJECT_ROOT / "apps" / "main" / "data").exists()
