"""Helpers shared by the template's tests: render through pytest-copie, run commands.

pytest-copie's ``copie`` fixture renders the template named by its ``--template`` option
(its default, the current directory, means this repository here: see ``pytest_configure``)
at ``vcs_ref="HEAD"``, its default. For a local git template, Copier then renders HEAD plus
the uncommitted changes of the working tree (it commits them in its temporary clone and warns
with ``DirtyLocalWarning``, which pyproject.toml filters). It passes ``defaults=True`` and
``unsafe=True``, and catches every exception into ``result.exception`` (``exit_code`` -1):
render through ``render`` below, which fails the test when Copier failed, or assert on
``result.exception`` yourself.
"""

from __future__ import annotations

import itertools
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import pytest
import yaml
from pytest_copie.plugin import Copie

REPO = Path(__file__).resolve().parents[1]

__all__ = [
    "BACKENDS",
    "BACKEND_TABLE",
    "BROWSER_TESTS",
    "DEFAULT_PREFIX",
    "EDGE_SUITE",
    "FAST_SUITE",
    "FULL_SUITE_ANSWERS",
    "PYTHON_VERSIONS",
    "REPO",
    "SEED",
    "SERVERS",
    "WITHOUT_BROWSER",
    "commit_all",
    "conflicts",
    "every_combination",
    "git",
    "mypy_cache_dir",
    "project_env",
    "python_executable",
    "render",
    "render_combination",
    "run",
    "runs_full_suite",
    "uv_command",
]

# Every Python a generated project claims (requires-python: the first one or newer) and its
# CI tests: copier.yml's derived `python_versions`.
PYTHON_VERSIONS: list[str] = yaml.safe_load(
    yaml.safe_load((REPO / "copier.yml").read_text(encoding="utf-8"))["python_versions"]["default"]
)

# The backends as the template declares them: the persistence package's backends.json, which
# copier.yml and the generated code read too.
BACKEND_TABLE: dict[str, dict[str, Any]] = json.loads(
    (REPO / "template/packages/persistence/src/persistence/backends.json").read_text(
        encoding="utf-8"
    )
)
BACKENDS = list(BACKEND_TABLE)
# The backends that are servers: the variable naming one (REDIS_URL) and where it answers here.
SERVERS: dict[str, dict[str, str]] = {
    name: facts["server"] for name, facts in BACKEND_TABLE.items() if facts["server"]
}
SCOPES = ["shared", "per_user"]
DEFAULT_PREFIX = "persist_"
# Every backend x sample x language x scope with the default prefix, plus one render with a
# non-default persist_prefix (the sample app and the project's tests must follow the answer).
COMBINATIONS = [
    *(
        (*combination, DEFAULT_PREFIX)
        for combination in itertools.product(BACKENDS, [True, False], ["en", "ja"], SCOPES)
    ),
    ("sqlite", True, "ja", "per_user", "keep_"),
]


# Which of a generated project's tests a run selects. The one full run per backend is two
# tests here, its browser tests (a real server and Chromium, minutes) and the rest, so that
# xdist can run them side by side. Every other run is the fast suite: the tests of what the
# answers change (the apps, their strings, the sample, per-user scope, the key prefix),
# without the browser tests, the tests the project marks `slow` (property examples, crashes,
# concurrency, outages) and those it marks `persistence` (the package alone: stores, codec,
# sync engine, CLI). Those depend on the backend alone, so they need not run again for
# every sample, language and scope.
BROWSER_TESTS = {"PYTEST_ADDOPTS": "-m e2e"}
WITHOUT_BROWSER = {"PYTEST_ADDOPTS": "-m 'not e2e'"}
FAST_SUITE = {"PYTEST_ADDOPTS": "-m 'not e2e and not slow and not persistence'"}
# The edges of what a project declares (the newest Python, the lowest dependencies) run every
# test that calls the dependencies' APIs: all but the browser tests and the slow ones, whose
# examples, crashes and outages the whole suites run on the same code.
EDGE_SUITE = {"PYTEST_ADDOPTS": "-m 'not e2e and not slow'"}


# Saved processes of every value kind the codec tags, written by a project's own code (the
# data moves and the update from a release both seed a store with it).
SEED = """
import datetime as dt
from persistence import open_storage
store = open_storage()
store.save_process("2025年1月_週次レポート", {
    "persist_due_date": dt.date(2025, 1, 31),
    "persist_range": (1, 5),
    "persist_when": dt.datetime(2025, 1, 6, 9, 30, tzinfo=dt.timezone.utc),
    "persist_review": dt.time(9, 0),
    "persist_nested": {"rows": [{"a": (1, 2)}], "$type": "user data"},
})
store.save_process("second", {"persist_owner": "山田", "persist_count": 3})
"""


def pytest_configure(config: pytest.Config) -> None:
    """pytest-copie's ``--template`` defaults to the current directory. Read the current
    directory as this repository, so the tests work from any folder; a ``--template`` naming
    another folder is used as given."""
    if Path(config.option.template).resolve() == Path.cwd().resolve():
        config.option.template = str(REPO)


def combination_id(backend: str, sample: bool, language: str, scope: str, prefix: str) -> str:
    name = f"backend={backend}-sample={'yes' if sample else 'no'}-lang={language}-scope={scope}"
    return name if prefix == DEFAULT_PREFIX else f"{name}-prefix={prefix}"


# The one combination per backend whose project runs its whole suite, browser and slow tests
# too; every other combination runs the fast suite.
FULL_SUITE_ANSWERS = {"sample": True, "language": "en", "scope": "shared", "prefix": DEFAULT_PREFIX}


def runs_full_suite(sample: bool, language: str, scope: str, prefix: str) -> bool:
    answers = {"sample": sample, "language": language, "scope": scope, "prefix": prefix}
    return answers == FULL_SUITE_ANSWERS


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Longest first. xdist hands tests out in this order: the projects' browser tests
    (minutes each, one after the other on one worker: their `xdist_group`), then the rest of
    the whole suites, the updates and the edges, and the many short ones fill in around
    them, instead of a long one running on alone at the end."""

    def rank(item: pytest.Item) -> int:
        if item.name.startswith("test_generated_project_passes_its_browser_tests["):
            return 0
        if item.name.startswith("test_generated_project_passes_its_own_checks["):
            answers = item.callspec.params  # type: ignore[attr-defined]
            return 1 if runs_full_suite(**{k: answers[k] for k in FULL_SUITE_ANSWERS}) else 3
        if item.path.name.startswith("test_update") or "edges" in item.name:
            return 1
        return 2 if item.get_closest_marker("slow") else 4

    items.sort(key=rank)


every_combination = pytest.mark.parametrize(
    ("backend", "sample", "language", "scope", "prefix"),
    COMBINATIONS,
    ids=[combination_id(*combination) for combination in COMBINATIONS],
)


def render(
    copie: Copie, template_dir: Path | None = None, vcs_ref: str = "HEAD", **answers: Any
) -> Path:
    """Render with default answers except ``answers`` through pytest-copie (this working tree
    unless ``template_dir`` / ``vcs_ref`` say otherwise); fail the test with Copier's error if
    it raised (pytest-copie only records it)."""
    result = copie.copy(extra_answers=answers, template_dir=template_dir, vcs_ref=vcs_ref)
    assert result.exception is None, f"copier failed: {result.exception!r}"
    assert result.project_dir is not None
    return Path(result.project_dir)


def render_combination(
    copie: Copie, backend: str, sample: bool, language: str, scope: str, prefix: str
) -> Path:
    return render(
        copie,
        backend=backend,
        include_sample_app=sample,
        ui_language=language,
        process_scope=scope,
        persist_prefix=prefix,
    )


def uv_command() -> str:
    """How to call uv here: on PATH, else the one in this venv (a dev dependency)."""
    return "uv" if shutil.which("uv") else f"{sys.executable} -m uv"


def mypy_cache_dir(resolution: str = "highest") -> Path:
    """One mypy cache per xdist worker, shared by the renders that worker checks in turn.

    Renders differ in a few files only, and mypy's incremental mode re-checks every module
    whose content (hash) changed, so a warm cache gives the same verdict as a cold one; it
    saves the ~10 s of CPU that re-analysing Streamlit and pandas costs each render. A worker
    runs one render at a time, so no two mypy runs write the same cache. Another mypy version
    (``UV_RESOLUTION=lowest-direct`` installs the lowest) throws a cache away and rewrites it
    as its own: that resolution keeps a cache of its own, so the next render's stays warm.
    """
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    name = f"mypy-{worker}" if resolution == "highest" else f"mypy-{worker}-{resolution}"
    return Path(tempfile.gettempdir()) / f"template-tests-{os.getuid()}" / name


@pytest.fixture(scope="session")
def shared_environment(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """One virtual environment per xdist worker (in its own temporary folder, so no other
    test run touches it), for the renders that worker checks in turn: ``UV_PROJECT_ENVIRONMENT``
    points ``uv sync`` and ``uv run`` there instead of the project's ``.venv``.

    ``uv sync`` is exact (it removes what the project does not ask for, as Authlib after a
    per-user render) and reinstalls the workspace's packages from the render at hand, so
    each render gets what its own fresh ``.venv`` would hold. What carries over is Python's
    bytecode: every later pytest and ``streamlit run`` imports Streamlit and pandas from it,
    three times faster than from source. Only for tests that drive one project at a time.
    """
    return {"UV_PROJECT_ENVIRONMENT": str(tmp_path_factory.getbasetemp() / "environment")}


def python_executable(version: str) -> str:
    """A working interpreter of Python ``version`` (``"3.13"``), for ``UV_PYTHON``: the one uv
    finds, else a pyenv installation. uv stops at pyenv's shim of a version that is not the
    global one (the shim exists but fails when run), so a bare ``UV_PYTHON=3.13`` fails on
    such machines. Nothing is downloaded: without the version the test fails, naming it."""
    found = subprocess.run(
        [*uv_command().split(), "python", "find", "--system", version],
        env=project_env(),
        capture_output=True,
        text=True,
        check=False,
    )
    if found.returncode == 0:
        return found.stdout.strip()
    root = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv"))
    installed = [
        path
        for path in root.glob(f"versions/{version}.*/bin/python{version}")
        if re.fullmatch(rf"{re.escape(version)}\.\d+", path.parents[1].name)
    ]
    if not installed:
        pytest.fail(f"no Python {version} here (uv: {found.stderr.strip()})", pytrace=False)
    return str(max(installed, key=lambda path: int(path.parents[1].name.rsplit(".", 1)[1])))


def project_env(**extra: str) -> dict[str, str]:
    """The environment a generated project's commands run in: real Redis and PostgreSQL, no
    downloads."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VIRTUAL_ENV", "PYTEST_"))}
    env["UV_PYTHON_DOWNLOADS"] = "never"
    # Bytecode is written (some machines turn that off): a project's later processes, such as
    # each `streamlit run` of its browser tests, then load their modules ~3x faster.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    for server in SERVERS.values():
        env.setdefault(server["env"], server["test_url"])
    env.setdefault("MYPY_CACHE_DIR", str(mypy_cache_dir()))
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


def git(cwd: Path, *args: str) -> str:
    result = subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", *args],
        cwd=cwd,
        check=True,
        capture_output=True,
        text=True,
    )
    return result.stdout


def commit_all(cwd: Path, message: str) -> None:
    git(cwd, "add", "-A")
    git(cwd, "commit", "-q", "-m", message)


# What `copier update` leaves where it could not merge (it exits 0 all the same).
MARKER = re.compile(r"^(<{7}|>{7})( |$)", re.MULTILINE)


def conflicts(project: Path) -> tuple[str, list[str]]:
    """Unmerged index entries, and the files holding conflict markers, after an update."""
    unmerged = git(project, "ls-files", "-u")
    marked = [
        str(path.relative_to(project))
        for path in project.rglob("*")
        if path.is_file()
        and ".venv" not in path.parts
        and ".git" not in path.parts
        and MARKER.search(path.read_text(encoding="utf-8", errors="ignore"))
    ]
    return unmerged, marked
