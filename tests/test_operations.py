"""What a platform team runs: the image, compose and its proxy, CI and updates, Kubernetes.

Docker is not needed: these read the rendered files (the generated project's own tests run
the proxy, the probes and the manifest validation)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import yaml
from pytest_copie.plugin import Copie

from conftest import BACKENDS, render

SERVERS = {"redis", "postgres"}


def load(project: Path, name: str) -> dict:  # type: ignore[type-arg]
    document: dict = yaml.safe_load((project / name).read_text(encoding="utf-8"))  # type: ignore[type-arg]
    return document


@pytest.mark.parametrize("backend", BACKENDS)
def test_compose_and_the_image_fit_the_backend(copie: Copie, backend: str) -> None:
    project = render(copie, backend=backend, include_sample_app=False)
    compose = load(project, "compose.yaml")
    app = compose["services"]["app"]
    local = backend not in SERVERS
    # The data volume only where the data is files.
    assert ("app-data" in (compose.get("volumes") or {})) is local
    assert any("app-data:/app/data" in v for v in app.get("volumes", [])) is local
    dockerfile = (project / "Dockerfile").read_text(encoding="utf-8")
    assert ('VOLUME ["/app/data"]' in dockerfile) is local
    text = (project / "compose.yaml").read_text(encoding="utf-8")
    assert "of the template" not in text
    # Readiness sees the store; the proxy follows the replicas through Docker's DNS.
    assert app["healthcheck"]["test"][:3] == ["CMD", "persist", "ping"]
    proxy = compose["services"]["proxy"]
    assert proxy["environment"]["NGINX_RESOLVER"] == "127.0.0.11"
    assert " resolve " in proxy["environment"]["STREAMLIT_SERVERS"]
    if backend == "postgres":
        url = app["environment"]["PERSIST_STORAGE_URL"]
        assert url == "postgresql://app@postgres:5432/app", "no password inside the URL"
        assert app["environment"]["PGPASSWORD"].startswith("${POSTGRES_PASSWORD:?")
    if backend == "redis":
        command = compose["services"]["redis"]["command"]
        assert "--appendonly" in command and "--save" in command
    assert (project / "deploy/kubernetes/base/deployment.yaml").exists() is not local


def test_the_image_builds_in_two_stages_from_the_lock(copie: Copie) -> None:
    project = render(copie, backend="sqlite")
    dockerfile = (project / "Dockerfile").read_text(encoding="utf-8")
    assert dockerfile.count("\nFROM ") == 2
    assert "--mount=type=cache,target=/root/.cache/uv" in dockerfile
    assert "--locked" in dockerfile and "--frozen" not in dockerfile
    runtime = dockerfile.split(" AS runtime", 1)[1]
    assert "/uv" not in runtime.replace("/app/.venv", ""), "uv stays in the builder"
    assert 'CMD ["persist", "ping"' in runtime
    assert "apps/main/serve.py" in runtime
    nginx = (project / "deploy/nginx/default.conf.template").read_text(encoding="utf-8")
    assert "X-Upstream" not in nginx, "internal addresses must not reach clients"
    assert "resolver ${NGINX_RESOLVER}" in nginx and "zone streamlit" in nginx


def test_secrets_and_exports_stay_out_of_git_and_the_image(copie: Copie) -> None:
    project = render(copie, backend="postgres")
    subprocess.run(["git", "init", "-q"], cwd=project, check=True)
    for name in (".env", "dump.json", "data/processes/x.json"):
        ignored = subprocess.run(["git", "check-ignore", "-q", name], cwd=project, check=False)
        assert ignored.returncode == 0, f".gitignore must ignore {name}"
    dockerignore = (project / ".dockerignore").read_text(encoding="utf-8").splitlines()
    assert {".env", "dump.json", ".streamlit/secrets.toml"} <= set(dockerignore)


def test_workflows_are_current_read_only_and_updates_arrive(copie: Copie) -> None:
    project = render(copie, backend="redis")
    ci = load(project, ".github/workflows/ci.yml")
    assert ci["permissions"] == {"contents": "read"}
    uses = [step["uses"] for job in ci["jobs"].values() for step in job["steps"] if "uses" in step]
    assert "actions/checkout@v6" in uses and "actions/setup-python@v6" in uses
    assert not any(use.endswith(("@v4", "@v5")) and "actions/" in use for use in uses), uses
    setup_uv = next(
        step for step in ci["jobs"]["check"]["steps"] if step.get("uses", "").startswith("astral")
    )
    assert "uv.lock" in setup_uv["with"]["cache-dependency-glob"]
    image = ci["jobs"]["image"]["steps"]
    assert any(step.get("uses", "").startswith("docker/build-push-action") for step in image)
    assert any("pre-commit run --all-files" in step.get("run", "") for step in image)

    update = load(project, ".github/workflows/copier-update.yml")
    assert update[True]["schedule"]  # YAML 1.1 reads the key `on` as True
    assert update["permissions"] == {"contents": "read"}
    steps = " ".join(step.get("run", "") for step in update["jobs"]["update"]["steps"])
    assert "copier update" in steps and "gh pr create" in steps
    dependabot = load(project, ".github/dependabot.yml")
    ecosystems = {entry["package-ecosystem"] for entry in dependabot["updates"]}
    assert ecosystems == {"uv", "github-actions", "docker"}
