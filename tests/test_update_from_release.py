"""Projects already generated update cleanly to this working tree.

Teams generated their projects from commit `e245b0e` of this repository (main at the time).
For every backend, a project rendered from that commit, with saved processes and a page of
the user's own, runs `copier update` to this working tree (HEAD plus uncommitted changes).
The update must leave no conflict and no stale file: every file the user did not edit ends
up exactly as a fresh render would make it. The new code must read the saved processes
unchanged, and the project's lint and type checks must pass (its tests are a fresh
render's, which the matrix runs).

Nothing here knows which template files moved, split or disappeared since that commit: the
comparison with a fresh render finds any of them. Copier deletes a file that the new version
no longer renders and creates the new one; what it does not render (saved processes under
`data/`, secrets) is what a `_migrations` entry in copier.yml must carry along.

The update targets this working tree committed in a clone of this repository and tagged
`NEXT_RELEASE`, as teams will update to the next release tag. Copier runs a `_migrations`
entry only when its version lies after the project's and no later than the target's, and an
untagged commit of this repository has version `0.0.0.post<N>.dev0+<hash>`: with
`vcs_ref="HEAD"`, an entry for the next release (`version: 1.1.0`) would never run here.

Needs this repository's history (CI clones it whole) and Redis at `REDIS_URL`.
"""

from __future__ import annotations

import json
import os
import subprocess
import uuid
from pathlib import Path
from typing import Any

import pytest
import yaml
from pytest_copie.plugin import Copie

from conftest import (
    BACKENDS,
    REPO,
    SEED,
    commit_all,
    conflicts,
    git,
    project_env,
    render,
    run,
    uv_command,
)

# The main that teams generated from (2026-11): "One name for decoding (codec.loads) ...".
RELEASE = "e245b0ea0f3419ef42961af0d3155fca13ad7e09"
# Later than any release this repository will tag: every `_migrations` entry newer than
# RELEASE runs on the update, as it will when teams update to the next release.
NEXT_RELEASE = "999.0.0"
# The backends RELEASE offered: PostgreSQL came later, so no project of it predates this tree.
RELEASE_BACKENDS = [backend for backend in BACKENDS if backend != "postgres"]
REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
ANSWERS_FILE = ".copier-answers.yml"
USER_PAGE_PATH = "apps/main/app_pages/my_page.py"
# A page as the release's README taught: `persisted` and `get_session` from persistence.binding.
USER_PAGE = '''"""Our own page: its widgets are saved with the process."""

import datetime as dt

import streamlit as st

from persistence.binding import get_session, persisted

st.title("Customers")
if get_session().process is not None:
    st.session_state.setdefault(persisted("follow_up"), dt.date(2025, 2, 1))
    st.text_input("Customer", key=persisted("customer"))
    st.date_input("Follow up on", key=persisted("follow_up"))
'''

PROCESS_NAMES = ("2025年1月_週次レポート", "second")
DROP = "from persistence import open_storage; open_storage().delete_process({name!r})"


def the_release_is_reachable() -> None:
    try:
        git(REPO, "cat-file", "-e", f"{RELEASE}^{{commit}}")
    except subprocess.CalledProcessError:
        pytest.fail(
            f"commit {RELEASE[:7]} is not in this clone: the update test renders it from this "
            "repository's history, so clone with full history (no --depth).",
            pytrace=False,
        )


def this_working_tree_released(dest: Path) -> Path:
    """A clone of this repository whose newest commit, tagged NEXT_RELEASE, holds this working
    tree: HEAD plus uncommitted changes, untracked files included and ignored ones not (what
    Copier itself renders for `vcs_ref="HEAD"`)."""
    git(dest.parent, "clone", "-q", "--no-checkout", str(REPO), str(dest))
    working_tree = ["--git-dir", str(dest / ".git"), "--work-tree", str(REPO)]
    git(dest, *working_tree, "add", "-A")
    git(dest, *working_tree, "commit", "-q", "--allow-empty", "--no-verify", "-m", "working tree")
    git(dest, "tag", NEXT_RELEASE)
    git(dest, "checkout", "-q", "-f", NEXT_RELEASE)
    return dest


def files(root: Path) -> set[str]:
    """Every file under ``root`` as a relative POSIX path, outside .git and .venv."""
    return {
        path.relative_to(root).as_posix()
        for path in root.rglob("*")
        if path.is_file() and not {".git", ".venv"} & set(path.relative_to(root).parts)
    }


def processes(export: str) -> list[dict[str, Any]]:
    """The processes of a `persist export`, by name, with what they hold and when."""
    document = json.loads(export)
    assert document["format"] == "streamlit-persist-export"
    return sorted(document["processes"], key=lambda process: process["name"])


@pytest.mark.slow
@pytest.mark.parametrize("backend", RELEASE_BACKENDS)
def test_a_project_generated_from_the_release_updates_cleanly(
    copie: Copie, tmp_path: Path, shared_environment: dict[str, str], backend: str
) -> None:
    the_release_is_reachable()
    template = this_working_tree_released(tmp_path / "template")
    uv = uv_command().split()
    # Redis is shared: the saved processes live in a namespace of this test's own.
    store_env = (
        {
            "PERSIST_NAMESPACE": f"test-release-{uuid.uuid4().hex[:8]}",
            "PERSIST_STORAGE_URL": REDIS_URL,
        }
        if backend == "redis"
        else {}
    )
    # Every command runs in the worker's environment, on the test's store.
    project_commands_env = {**shared_environment, **store_env}

    generated = copie.copy(
        extra_answers={"backend": backend}, template_dir=template, vcs_ref=RELEASE
    )
    assert generated.exception is None, f"copier failed: {generated.exception!r}"
    assert generated.project_dir is not None
    project = Path(generated.project_dir)
    git(project, "init", "-q", "-b", "main")
    commit_all(project, f"generated from {RELEASE[:7]}")
    released_files = set(git(project, "ls-files", "-z").split("\0")) - {""}

    try:
        run([*uv, "sync", "--all-packages", "--quiet"], cwd=project, **project_commands_env)
        run([*uv, "run", "--no-sync", "python", "-c", SEED], cwd=project, **project_commands_env)
        saved = run(
            [*uv, "run", "--no-sync", "persist", "export"], cwd=project, **project_commands_env
        )
        assert [p["name"] for p in processes(saved.stdout)] == sorted(PROCESS_NAMES)
        if backend != "redis":
            assert any((project / "data").rglob("*")) and not git(project, "status", "--short")
        (project / USER_PAGE_PATH).write_text(USER_PAGE, encoding="utf-8")
        commit_all(project, "our own page")

        # pytest-copie's update keeps every recorded answer, as `copier update --defaults`.
        updated = copie.update(generated, vcs_ref=NEXT_RELEASE)
        assert updated.exception is None, f"copier update failed: {updated.exception!r}"

        unmerged, marked = conflicts(project)
        assert unmerged == "" and marked == [], f"unmerged:\n{unmerged}\nmarkers: {marked}"
        assert not [name for name in files(project) if name.endswith(".rej")]
        assert (project / USER_PAGE_PATH).read_text(encoding="utf-8") == USER_PAGE
        answers = yaml.safe_load((project / ANSWERS_FILE).read_text(encoding="utf-8"))
        assert answers["_commit"] == NEXT_RELEASE

        # What a project generated from the new version looks like, with the same answers
        # (the answers file included).
        fresh = render(copie, template_dir=template, vcs_ref=NEXT_RELEASE, backend=backend)
        fresh_files = files(fresh)
        stale = sorted(name for name in released_files - fresh_files if (project / name).exists())
        assert not stale, f"files the template no longer has are left behind: {stale}"
        differ = sorted(
            name
            for name in fresh_files
            if not (project / name).is_file()
            or (project / name).read_bytes() != (fresh / name).read_bytes()
        )
        assert not differ, f"files the user did not edit differ from a fresh render: {differ}"

        # The new code reads what the release saved, unchanged.
        run([*uv, "sync", "--all-packages", "--quiet"], cwd=project, **project_commands_env)
        read = run(
            [*uv, "run", "--no-sync", "persist", "export"], cwd=project, **project_commands_env
        )
        assert processes(read.stdout) == processes(saved.stdout), (
            "the new code does not read what the release saved, as it was"
        )

        # Lint and types, the user's page among them. The tests are a fresh render's (every
        # file but the user's page is one, checked above): the matrix runs them.
        lint_and_types = ["make", "lint", "typecheck", f"UV={uv_command()}"]
        run(lint_and_types, cwd=project, **project_commands_env)
    finally:
        if backend == "redis":  # leave the shared server as it was, whatever failed
            for name in PROCESS_NAMES:
                subprocess.run(
                    [*uv, "run", "--no-sync", "python", "-c", DROP.format(name=name)],
                    cwd=project,
                    env=project_env(**project_commands_env),
                    capture_output=True,
                    check=False,
                )
