"""Data follows a backend switch: `persist export` from one backend and `persist import`
into the next, JSON -> SQLite -> Redis -> PostgreSQL -> JSON, ends with exactly what it
started with."""

from __future__ import annotations

import json
import os
import uuid
from pathlib import Path

import pytest
from pytest_copie.plugin import Copie

from conftest import BACKENDS, SEED, render, run, uv_command

REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
POSTGRES_URL = os.environ.get("POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
SERVER_URLS = {"redis": REDIS_URL, "postgres": POSTGRES_URL}


def states(export: str) -> dict[str, object]:
    document = json.loads(export)
    assert document["format"] == "streamlit-persist-export" and document["version"] == 1
    return {process["name"]: process["state"] for process in document["processes"]}


@pytest.mark.slow
@pytest.mark.parametrize("chain", [BACKENDS], ids=["-".join([*BACKENDS, BACKENDS[0]])])
def test_export_import_round_trip_across_every_backend(
    copie: Copie, tmp_path: Path, chain: list[str]
) -> None:
    uv = uv_command().split()
    namespace = f"test-moves-{uuid.uuid4().hex[:8]}"
    projects = {}
    for backend in chain:
        project = render(copie, backend=backend, include_sample_app=False)
        run([*uv, "sync", "--all-packages", "--quiet"], cwd=project)
        projects[backend] = project

    def persist(backend: str, *args: str) -> str:
        return run(
            [*uv, "run", "--no-sync", "persist", *args],
            cwd=projects[backend],
            PERSIST_NAMESPACE=namespace,
            PERSIST_STORAGE_URL=SERVER_URLS.get(backend, ""),
        ).stdout

    run([*uv, "run", "--no-sync", "python", "-c", SEED], cwd=projects["json"])
    first = persist("json", "export")
    assert len(states(first)) == 2
    dump = tmp_path / "dump.json"
    latest = first
    try:
        for backend in [*chain[1:], chain[0]]:
            dump.write_text(latest, encoding="utf-8")
            if backend == "json":  # back home: start from an empty folder
                persist("json", "delete", "2025年1月_週次レポート")
                persist("json", "delete", "second")
            persist(backend, "import", str(dump))
            persist(backend, "import", str(dump))  # idempotent
            latest = persist(backend, "export")
            assert states(latest) == states(first), backend
    finally:
        for name in ("2025年1月_週次レポート", "second"):
            run(
                [*uv, "run", "--no-sync", "python", "-c", DROP.format(name=name)],
                cwd=projects["redis"],
                PERSIST_NAMESPACE=namespace,
                PERSIST_STORAGE_URL=REDIS_URL,
            )
        run(
            [*uv, "run", "--no-sync", "python", "-c", DROP_SCHEMA.format(schema=namespace)],
            cwd=projects["postgres"],
            POSTGRES_URL=POSTGRES_URL,
        )


DROP = "from persistence import open_storage; open_storage().delete_process({name!r})"
DROP_SCHEMA = (
    "import os; from tests.postgres_fixtures import drop_schema; "
    "drop_schema(os.environ['POSTGRES_URL'], {schema!r})"
)
