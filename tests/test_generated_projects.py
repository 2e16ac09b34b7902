"""Every combination of answers renders a project whose own checks pass:
its test suite (real SQLite, real Redis), ruff, ruff format and mypy --strict.
The matrix includes one render with a non-default ``persist_prefix``."""

from __future__ import annotations

import pytest
from pytest_copie.plugin import Copie

from conftest import DEFAULT_PREFIX, every_combination, render_combination, run, uv_command

# The browser test takes a real server and Chromium: it runs once per backend, not 24 times.
BROWSER_COMBINATION = {"sample": True, "language": "en", "scope": "shared"}


@pytest.mark.slow
@every_combination
def test_generated_project_passes_its_own_checks(
    copie: Copie, backend: str, sample: bool, language: str, scope: str, prefix: str
) -> None:
    project = render_combination(copie, backend, sample, language, scope, prefix)
    with_browser = (
        prefix == DEFAULT_PREFIX
        and {"sample": sample, "language": language, "scope": scope} == BROWSER_COMBINATION
    )
    extra_env = {} if with_browser else {"PYTEST_ADDOPTS": "-m 'not e2e'"}
    run(["make", "check", f"UV={uv_command()}"], cwd=project, **extra_env)
