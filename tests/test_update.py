"""`copier update` keeps its promise: template fixes arrive, user work stays, conflicts show.

Each test builds a throwaway template repository from this working tree and tags it
`1.0.0`, so it depends on none of this repository's own tags (CI clones may have none).
Projects are generated and updated through pytest-copie (`copie.copy(template_dir=...)`,
`copie.update`); only the update that changes an answer calls Copier's API (see `update`).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import uuid
from pathlib import Path

import copier
import pytest
from pytest_copie.plugin import Copie, Result

from conftest import BACKENDS, FAST_SUITE, REPO, commit_all, conflicts, git, run, uv_command

POSTGRES_URL = os.environ.get("POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
USER_PAGE = """import streamlit as st

st.title("My own page")
st.text_input("Customer", key="persist_customer")
"""
# The release widens Streamlit's range (`<2` to `<3`), whatever its floor is by then.
STREAMLIT_RANGE = re.compile(r'"streamlit>=(?P<floor>[0-9.]+),<2"')
RELEASED_STREAMLIT_RANGE = re.compile(r'"streamlit>=[0-9.]+,<3"')
NEW_PAGE = """import streamlit as st

from persistence.ui import t

st.title(t("nav.report") + " summary")
"""


@pytest.fixture
def template_repo(tmp_path: Path) -> Path:
    """This working tree's template as a fresh git repository tagged 1.0.0."""
    repo = tmp_path / "template-repo"
    repo.mkdir()
    shutil.copy2(REPO / "copier.yml", repo / "copier.yml")
    shutil.copytree(REPO / "template", repo / "template")
    git(repo, "init", "-q", "-b", "main")
    commit_all(repo, "template 1.0.0")
    git(repo, "tag", "1.0.0")
    return repo


def replace_in(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def release_1_1_0(repo: Path) -> None:
    """A realistic release: a new page, a changed dependency, a changed module, and a
    moved default data folder that a `_migrations` entry carries existing projects along to."""
    template = repo / "template"
    (template / "apps/main/app_pages/summary.py").write_text(NEW_PAGE, encoding="utf-8")
    replace_in(
        template / "apps/main/app.py",
        '            st.Page(PAGES / "new_process.py"',
        '            st.Page(PAGES / "summary.py", title="Summary"),\n'
        '            st.Page(PAGES / "new_process.py"',
    )
    dependencies = template / "packages/persistence/pyproject.toml.jinja"
    text = dependencies.read_text(encoding="utf-8")
    assert STREAMLIT_RANGE.search(text), f"no {STREAMLIT_RANGE.pattern} in {dependencies}"
    released = STREAMLIT_RANGE.sub(r'"streamlit>=\g<floor>,<3"', text, count=1)
    dependencies.write_text(released, encoding="utf-8")
    replace_in(
        template / "packages/persistence/src/persistence/names.py",
        "MAX_NAME_LENGTH = 200",
        "MAX_NAME_LENGTH = 200  # release 1.1.0",
    )
    replace_in(
        template / "packages/persistence/src/persistence/backends.json",
        '"default_url": "json:///{folder}/processes"',
        '"default_url": "json:///{folder}/json-processes"',
    )
    with (repo / "copier.yml").open("a", encoding="utf-8") as handle:
        handle.write(
            "\n_migrations:\n"
            "  - version: 1.1.0\n"
            "    when: \"{{ _stage == 'after' }}\"\n"
            "    command: >-\n"
            "      python3 -c \"import os; os.path.isdir('data/processes') and "
            "os.rename('data/processes', 'data/json-processes')\"\n"
        )
    commit_all(repo, "template 1.1.0")
    git(repo, "tag", "1.1.0")


def generate(copie: Copie, repo: Path, **answers: object) -> Result:
    result = copie.copy(extra_answers=answers, template_dir=repo, vcs_ref="1.0.0")
    assert result.exception is None, f"copier failed: {result.exception!r}"
    assert result.project_dir is not None
    git(result.project_dir, "init", "-q", "-b", "main")
    commit_all(result.project_dir, "generated from template 1.0.0")
    return result


def update(copie: Copie, generated: Result, vcs_ref: str = "1.1.0", **answers: object) -> None:
    """`copier update` to ``vcs_ref`` (pytest-copie passes `unsafe=True`, which runs the
    release's _migrations), changing the recorded ``answers``."""
    assert generated.project_dir is not None
    if not answers:
        result = copie.update(generated, vcs_ref=vcs_ref)
        assert result.exception is None, f"copier update failed: {result.exception!r}"
        return
    # Copier's API here, not pytest-copie: `copie.update(extra_answers=...)` passes them as
    # `user_defaults`, which never override the answers already recorded in the answers
    # file, so it cannot change an answer. `data=` does, as `copier update --data` does.
    copier.run_update(
        str(generated.project_dir),
        data=answers,
        defaults=True,
        overwrite=True,
        unsafe=True,
        vcs_ref=vcs_ref,
        quiet=True,
    )


@pytest.mark.slow
@pytest.mark.parametrize("backend", BACKENDS)
def test_update_brings_the_release_and_keeps_the_users_work(
    copie: Copie, template_repo: Path, shared_environment: dict[str, str], backend: str
) -> None:
    generated = generate(copie, template_repo, backend=backend)
    project = generated.project_dir
    assert project is not None
    (project / "apps/main/app_pages/my_page.py").write_text(USER_PAGE, encoding="utf-8")
    with (project / ".streamlit/config.toml").open("a", encoding="utf-8") as handle:
        handle.write('\n[theme]\nprimaryColor = "#0a7d5a"\n')
    saved = project / "data/processes/keep.json"
    if backend == "json":
        saved.parent.mkdir(parents=True)
        saved.write_text('{"revision":1}', encoding="utf-8")
    commit_all(project, "user work")
    release_1_1_0(template_repo)

    update(copie, generated)

    assert conflicts(project) == ("", [])
    assert (project / "apps/main/app_pages/my_page.py").read_text(encoding="utf-8") == USER_PAGE
    assert 'primaryColor = "#0a7d5a"' in (project / ".streamlit/config.toml").read_text()
    assert (project / "apps/main/app_pages/summary.py").exists()
    assert "summary.py" in (project / "apps/main/app.py").read_text()
    assert RELEASED_STREAMLIT_RANGE.search(
        (project / "packages/persistence/pyproject.toml").read_text(encoding="utf-8")
    )
    names = project / "packages/persistence/src/persistence/names.py"
    assert "# release 1.1.0" in names.read_text()
    if backend == "json":
        assert (project / "data/json-processes/keep.json").exists(), "the migration moved data"
    assert "_commit: 1.1.0" in (project / ".copier-answers.yml").read_text()
    # The browser, slow and persistence tests run once per backend in the matrix: not again
    # after an update.
    run(["make", "test", f"UV={uv_command()}"], cwd=project, **shared_environment, **FAST_SUITE)


def test_a_colliding_edit_is_reported_by_make_check_update(
    copie: Copie, template_repo: Path
) -> None:
    generated = generate(copie, template_repo)
    project = generated.project_dir
    assert project is not None
    replace_in(
        project / "packages/persistence/src/persistence/names.py",
        "MAX_NAME_LENGTH = 200",
        "MAX_NAME_LENGTH = 120  # our team's rule",
    )
    commit_all(project, "user edit on the same line")
    release_1_1_0(template_repo)

    update(copie, generated)

    _, marked = conflicts(project)
    assert "packages/persistence/src/persistence/names.py" in marked
    check = subprocess.run(
        ["make", "check-update", f"UV={uv_command()}"],
        cwd=project,
        capture_output=True,
        text=True,
        check=False,
    )
    assert check.returncode != 0
    assert "conflict markers: packages/persistence/src/persistence/names.py" in check.stdout


@pytest.mark.slow
@pytest.mark.parametrize("target", ["sqlite", "postgres"])
def test_switching_backend_replaces_the_backend_files_and_data_follows(
    copie: Copie,
    template_repo: Path,
    tmp_path: Path,
    shared_environment: dict[str, str],
    target: str,
) -> None:
    generated = generate(copie, template_repo, backend="json")
    project = generated.project_dir
    assert project is not None
    uv = uv_command().split()
    run([*uv, "sync", "--all-packages", "--quiet"], cwd=project, **shared_environment)
    run([*uv, "run", "--no-sync", "python", "-c", SEED_PROCESS], cwd=project, **shared_environment)
    dump = run(
        [*uv, "run", "--no-sync", "persist", "export"], cwd=project, **shared_environment
    ).stdout
    (tmp_path / "dump.json").write_text(dump, encoding="utf-8")
    commit_all(project, "lock")  # a team commits its uv.lock; Copier updates only clean trees

    update(copie, generated, vcs_ref="1.0.0", backend=target)

    storage = project / "packages/persistence/src/persistence/storage"
    assert (storage / f"{target}_store.py").exists()
    assert not (storage / "json_store.py").exists()
    assert conflicts(project) == ("", [])
    run([*uv, "sync", "--all-packages", "--quiet"], cwd=project, **shared_environment)
    # A server backend: the test's own schema on the test database, dropped at the end.
    schema = f"test-switch-{uuid.uuid4().hex[:8]}"
    where = {"PERSIST_STORAGE_URL": POSTGRES_URL, "PERSIST_NAMESPACE": schema}
    where = where if target == "postgres" else {}
    try:
        persist = [*uv, "run", "--no-sync", "persist"]
        run(
            [*persist, "import", str(tmp_path / "dump.json")],
            cwd=project,
            **shared_environment,
            **where,
        )
        again = run([*persist, "export"], cwd=project, **shared_environment, **where).stdout
    finally:
        if target == "postgres":
            drop = f"drop_schema({POSTGRES_URL!r}, {schema!r})"
            run(
                [*uv, "run", "--no-sync", "python", "-c", DROP_SCHEMA + drop],
                cwd=project,
                **shared_environment,
            )
    assert saved_states(again) == saved_states(dump) != []
    # The browser, slow and persistence tests run once per backend in the matrix: not again
    # after an update.
    run(["make", "test", f"UV={uv_command()}"], cwd=project, **shared_environment, **FAST_SUITE)


DROP_SCHEMA = "from tests.postgres_fixtures import drop_schema; "


def saved_states(export: str) -> list[tuple[str, object]]:
    return [(p["name"], p["state"]) for p in json.loads(export)["processes"]]


SEED_PROCESS = """
import datetime as dt
from persistence import open_storage
open_storage().save_process("2025年1月_週次レポート", {
    "persist_due_date": dt.date(2025, 1, 31), "persist_range": (1, 5), "persist_owner": "山田",
})
"""
