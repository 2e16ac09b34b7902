"""`make check-update`: conflicts are listed, and a project without git says what to do."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from scripts import check_update


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "project"
    folder.mkdir()
    (folder / "app.py").write_text("print('hello')\n", encoding="utf-8")
    monkeypatch.chdir(folder)
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path))  # no repository above it
    return folder


def git(*args: str) -> None:
    subprocess.run(["git", *args], check=True, capture_output=True)


def test_a_project_that_is_not_a_repository_is_told_what_to_do(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert check_update.main() == 2
    captured = capsys.readouterr()
    assert "not a git repository yet" in captured.err
    assert "git init" in captured.err
    assert "Traceback" not in captured.err + captured.out


def test_conflict_markers_are_listed(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    git("init", "-q")
    assert check_update.main() == 0
    (project / "app.py").write_text(
        "<<<<<<< before updating\nmine\n=======\ntheirs\n>>>>>>> after updating\n",
        encoding="utf-8",
    )
    assert check_update.main() == 1
    assert "conflict markers: app.py" in capsys.readouterr().out
