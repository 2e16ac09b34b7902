"""What `copier copy` produces, checked without running the project."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
import yaml
from copier.errors import CopierAnswersInterrupt, UserMessageError
from pytest_copie.plugin import Copie

from conftest import BACKENDS, PYTHON_VERSIONS, REPO, every_combination, render, render_combination

# GitHub Actions' own `${{ ... }}` is expected in workflow files; anything else is leftover Jinja.
LEFTOVER_JINJA = re.compile(r"(?<!\$)\{\{|\{%|%\}|\.jinja$")


def questions(copier_yml: Path) -> set[str]:
    """The questions a user answers: copier.yml's keys that are neither settings (``_...``)
    nor derived values that are never asked (``when: false``) and so never recorded."""
    config = yaml.safe_load(copier_yml.read_text(encoding="utf-8"))
    return {
        name
        for name, spec in config.items()
        if not name.startswith("_") and not (isinstance(spec, dict) and spec.get("when") is False)
    }


QUESTIONS = questions(REPO / "copier.yml")


def rendered_files(project: Path) -> list[Path]:
    return [p for p in project.rglob("*") if p.is_file() and ".venv" not in p.parts]


@every_combination
def test_no_jinja_is_left_and_only_the_chosen_backend_is_rendered(
    copie: Copie, backend: str, sample: bool, language: str, scope: str, prefix: str
) -> None:
    project = render_combination(copie, backend, sample, language, scope, prefix)
    for path in rendered_files(project):
        assert not LEFTOVER_JINJA.search(path.name), path
        text = path.read_text(encoding="utf-8", errors="replace")
        assert not LEFTOVER_JINJA.search(text.replace("${{", "")), f"Jinja left in {path}"
    stores = {p.name for p in (project / "packages/persistence/src/persistence/storage").iterdir()}
    assert f"{backend}_store.py" in stores
    assert not {f"{other}_store.py" for other in BACKENDS if other != backend} & stores
    # The tests' medium classes (tests/medium.py): the one the backend's entry names only.
    tests = {p.name for p in (project / "tests").iterdir()}
    assert f"{backend}_medium.py" in tests
    assert not {f"{other}_medium.py" for other in BACKENDS if other != backend} & tests
    assert (project / "apps/sample/app.py").exists() is sample
    assert (project / "apps/sample/strings.toml").exists() is sample  # its wording goes with it
    assert (project / "run_sample.sh").exists() is sample
    dependencies = tomllib.loads((project / "packages/persistence/pyproject.toml").read_text())
    has_redis = any(d.startswith("redis") for d in dependencies["project"]["dependencies"])
    assert has_redis is (backend == "redis")
    has_psycopg = any(d.startswith("psycopg") for d in dependencies["project"]["dependencies"])
    assert has_psycopg is (backend == "postgres")
    defaults = tomllib.loads(
        (project / "packages/persistence/src/persistence/defaults.toml").read_text()
    )
    assert defaults["key_prefix"] == prefix


def test_the_question_list_comes_from_copier_yml() -> None:
    assert {"backend", "persist_prefix", "include_sample_app", "ui_language"} <= QUESTIONS
    assert not {"redis_namespace", "python_min", "python_versions"} & QUESTIONS  # derived


def test_defaults_render_a_complete_answers_file(copie: Copie) -> None:
    project = render(copie)
    answers = yaml.safe_load((project / ".copier-answers.yml").read_text())
    assert answers.keys() >= QUESTIONS
    assert answers["backend"] == "json"
    assert answers["retention_days"] == 7
    assert answers["persist_prefix"] == "persist_"
    assert answers["project_slug"] == "weekly-reports"
    assert "_commit" in answers and "_src_path" in answers
    defaults = tomllib.loads(
        (project / "packages/persistence/src/persistence/defaults.toml").read_text()
    )
    assert defaults["retention_days"] == 7 and defaults["namespace"] == "weekly-reports"


def test_every_claimed_python_and_the_lowest_dependencies_are_tested_in_ci(copie: Copie) -> None:
    """requires-python names the first of `python_versions`; the generated CI runs on each
    of them, plus one job on the lowest direct dependencies; the template's CI on each too."""
    project = render(copie)
    pyproject = tomllib.loads((project / "pyproject.toml").read_text(encoding="utf-8"))
    assert pyproject["project"]["requires-python"] == f">={PYTHON_VERSIONS[0]}"
    assert pyproject["tool"]["mypy"]["python_version"] == PYTHON_VERSIONS[0]

    workflow = yaml.safe_load((project / ".github/workflows/ci.yml").read_text(encoding="utf-8"))
    matrix = workflow["jobs"]["check"]["strategy"]["matrix"]
    assert matrix["python-version"] == PYTHON_VERSIONS
    assert matrix["resolution"] == ["highest"]
    assert matrix["include"] == [
        {"python-version": PYTHON_VERSIONS[0], "resolution": "lowest-direct"}
    ]
    env = workflow["jobs"]["check"]["env"]
    assert env["UV_PYTHON"] == "${{ matrix.python-version }}"
    assert env["UV_RESOLUTION"] == "${{ matrix.resolution }}"

    own = yaml.safe_load((REPO / ".github/workflows/ci.yml").read_text(encoding="utf-8"))
    assert own["jobs"]["test"]["strategy"]["matrix"]["python-version"] == PYTHON_VERSIONS


def test_a_japanese_project_name_gets_a_usable_slug(copie: Copie) -> None:
    project = render(copie, project_name="週次レポート")
    answers = yaml.safe_load((project / ".copier-answers.yml").read_text())
    assert answers["project_slug"] == "streamlit-app"
    defaults = tomllib.loads(
        (project / "packages/persistence/src/persistence/defaults.toml").read_text()
    )
    assert defaults["app_title"] == "週次レポート"


@pytest.mark.parametrize(
    ("answers", "message"),
    [
        ({"project_slug": "my app"}, "project_slug must start with a letter"),
        ({"project_slug": "My-App"}, "project_slug must start with a letter"),
        ({"project_slug": "app--x"}, "project_slug must start with a letter"),
        ({"retention_days": 0}, "retention_days must be between 1 and 365"),
        ({"retention_days": 366}, "retention_days must be between 1 and 365"),
        ({"persist_prefix": "persist"}, "persist_prefix must be lowercase"),
        ({"persist_prefix": "Persist_"}, "persist_prefix must be lowercase"),
        ({"author_email": "nobody"}, "author_email must look like"),
        ({"project_name": "  "}, "project_name must not be empty"),
        ({"backend": "mongodb"}, "mongodb"),
    ],
)
def test_bad_answers_fail_with_the_validators_message(
    copie: Copie, answers: dict[str, object], message: str
) -> None:
    result = copie.copy(extra_answers=answers)
    assert isinstance(result.exception, (ValueError, UserMessageError, CopierAnswersInterrupt))
    assert message in str(result.exception)
    assert result.project_dir is None
    assert not list(copie.test_dir.rglob("pyproject.toml"))


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_server_backend_brings_its_service_to_ci_and_compose(copie: Copie, backend: str) -> None:
    project = render(copie, backend=backend, include_sample_app=False)
    ci = yaml.safe_load((project / ".github/workflows/ci.yml").read_text())["jobs"]["check"]
    compose = yaml.safe_load((project / "compose.yaml").read_text())
    servers = {"redis", "postgres"} & {backend}
    assert set(ci.get("services", {})) == servers
    assert set(compose["services"]) == {"app", "proxy", *servers}
    secrets = (project / ".streamlit/secrets.toml.example").read_text()
    if backend == "postgres":
        assert ci["env"]["POSTGRES_URL"].startswith("postgresql://")
        assert compose["services"]["postgres"]["volumes"] == [
            "postgres-data:/var/lib/postgresql/data"
        ]
        assert "postgres-data" in compose["volumes"]
        assert "postgresql://" in compose["services"]["app"]["environment"]["PERSIST_STORAGE_URL"]
        assert '# storage_url = "postgresql://' in secrets
