"""Every combination of answers renders a project whose own checks pass:
its test suite (real SQLite, real Redis), ruff, ruff format and mypy --strict.
The matrix includes one render with a non-default ``persist_prefix``. One combination per
backend runs the project's whole suite: its browser tests are a test of their own here.

The matrix runs on the Python uv finds first, with the newest versions the project allows.
Two more runs, one combination each, check the edges of what a project declares: the newest
Python its requires-python allows, and the lowest versions of its direct dependencies (what
the generated CI's lowest-direct job installs) on the lowest Python."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version
from pytest_copie.plugin import Copie

from conftest import (
    BACKENDS,
    BROWSER_TESTS,
    DEFAULT_PREFIX,
    EDGE_SUITE,
    FAST_SUITE,
    FULL_SUITE_ANSWERS,
    PYTHON_VERSIONS,
    WITHOUT_BROWSER,
    every_combination,
    mypy_cache_dir,
    python_executable,
    render_combination,
    run,
    runs_full_suite,
    uv_command,
)

# The quick-click scenarios (and the table edits' gestures, #18) run 10 times on the backend
# of issue #10's report (JSON) and 3 times on the others: the races they guard are the
# binding's, whatever stores the values.
QUICK_CLICK_REPEATS = {"json": "10"}


@pytest.mark.slow
@every_combination
def test_generated_project_passes_its_own_checks(
    copie: Copie,
    shared_environment: dict[str, str],
    backend: str,
    sample: bool,
    language: str,
    scope: str,
    prefix: str,
) -> None:
    project = render_combination(copie, backend, sample, language, scope, prefix)
    suite = WITHOUT_BROWSER if runs_full_suite(sample, language, scope, prefix) else FAST_SUITE
    run(["make", "check", f"UV={uv_command()}"], cwd=project, **shared_environment, **suite)


@pytest.mark.slow
# One project's browser tests at a time, all on one worker (`--dist loadgroup`), while the
# other worker checks the rest: two at once would share the two cores between two Chromiums
# and two sets of servers, and the browser tests' timing with them.
@pytest.mark.xdist_group("browser")
@pytest.mark.parametrize("backend", BACKENDS)
def test_generated_project_passes_its_browser_tests(
    copie: Copie, shared_environment: dict[str, str], backend: str
) -> None:
    """The browser tests of the combination that runs its project's whole suite; its lint,
    mypy and every other test run in ``test_generated_project_passes_its_own_checks``."""
    project = render_combination(copie, backend, **FULL_SUITE_ANSWERS)
    repeats = {"QUICK_CLICK_REPEATS": QUICK_CLICK_REPEATS.get(backend, "3")}
    run(
        ["make", "test", f"UV={uv_command()}"],
        cwd=project,
        **shared_environment,
        **BROWSER_TESTS,
        **repeats,
    )


def direct_floors(project: Path) -> dict[str, Version]:
    """Each direct dependency of the workspace (its members' dependencies and the dev group)
    with the lowest version its range allows (``>=``); workspace members have none."""
    floors: dict[str, Version] = {}
    members = [*project.glob("packages/*/pyproject.toml"), *project.glob("apps/*/pyproject.toml")]
    for pyproject in [project / "pyproject.toml", *members]:
        data = tomllib.loads(pyproject.read_text(encoding="utf-8"))
        requirements = [
            *data["project"].get("dependencies", []),
            *data.get("dependency-groups", {}).get("dev", []),
        ]
        for requirement in map(Requirement, requirements):
            lower = [s.version for s in requirement.specifier if s.operator == ">="]
            if lower:
                floors[canonicalize_name(requirement.name)] = Version(lower[0])
    return floors


def installed(project: Path, names: list[str]) -> tuple[str, dict[str, Version]]:
    """The Python version of the project's .venv and the installed version of ``names``."""
    script = (
        "import importlib.metadata as m, json, platform, sys\n"
        "print(json.dumps([platform.python_version(), "
        "{n: m.version(n) for n in sys.argv[1:]}]))"
    )
    output = run([str(project / ".venv/bin/python"), "-c", script, *names], cwd=project).stdout
    python, versions = json.loads(output)
    return python, {name: Version(version) for name, version in versions.items()}


# (id, answers, Python, resolution): uv reads UV_PYTHON and UV_RESOLUTION in every command
# that `make check` runs (`uv sync --all-packages`, `uv run ...`), as the generated CI sets them.
EDGES = [
    (
        f"python={PYTHON_VERSIONS[-1]}",
        ("sqlite", True, "ja", "per_user", DEFAULT_PREFIX),
        PYTHON_VERSIONS[-1],
        "highest",
    ),
    (
        f"lowest-direct-python={PYTHON_VERSIONS[0]}",
        ("redis", True, "en", "per_user", DEFAULT_PREFIX),
        PYTHON_VERSIONS[0],
        "lowest-direct",
    ),
]


@pytest.mark.slow
@pytest.mark.parametrize(
    ("combination", "python", "resolution"),
    [edge[1:] for edge in EDGES],
    ids=[edge[0] for edge in EDGES],
)
def test_generated_project_passes_on_the_edges_of_what_it_declares(
    copie: Copie, combination: tuple[str, bool, str, str, str], python: str, resolution: str
) -> None:
    project = render_combination(copie, *combination)
    environment = {
        "UV_PYTHON": python_executable(python),
        "UV_RESOLUTION": resolution,
        "MYPY_CACHE_DIR": str(mypy_cache_dir(resolution)),
    }
    run(["make", "check", f"UV={uv_command()}"], cwd=project, **environment, **EDGE_SUITE)

    floors = direct_floors(project)
    venv_python, versions = installed(project, sorted(floors))
    assert venv_python.rsplit(".", 1)[0] == python
    if resolution == "lowest-direct":
        assert {"streamlit", "mypy", "ruff", "pytest", "redis", "authlib"} <= floors.keys()
        assert versions == floors, "lowest-direct did not install every floor"
