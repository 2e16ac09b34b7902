"""Nothing unsafe anywhere: no pickle, eval or unsafe YAML; secrets stay out of git;
data is private to the user the app runs as."""

from __future__ import annotations

import re
import stat
from pathlib import Path

import pytest

from persistence.backends import BACKENDS as ALL_BACKENDS
from persistence.storage import StorageInterface
from tests.conftest import PROJECT_ROOT, StoreFactory

UNSAFE = re.compile(r"\b(import pickle|pickle\.loads?|eval\(|exec\(|yaml\.load\(|marshal\.)")


def python_files() -> list[Path]:
    return [
        p
        for folder in ("packages", "apps", "scripts")
        for p in (PROJECT_ROOT / folder).rglob("*.py")
        if ".venv" not in p.parts
    ]


@pytest.mark.parametrize("path", python_files(), ids=lambda p: str(p.relative_to(PROJECT_ROOT)))
def test_no_unsafe_deserialization_or_eval(path: Path) -> None:
    assert not UNSAFE.search(path.read_text(encoding="utf-8")), path


def test_secrets_are_ignored_by_git() -> None:
    ignored = (PROJECT_ROOT / ".gitignore").read_text().splitlines()
    assert ".streamlit/secrets.toml" in ignored
    assert "data/*" in ignored


@pytest.mark.persistence
def test_local_data_is_private_to_its_owner(make_store: StoreFactory, tmp_path: Path) -> None:
    if ALL_BACKENDS[make_store.backend].server:
        pytest.skip(f"{make_store.backend} keeps no local files")
    store: StorageInterface = make_store()
    # A big value is a file of its own in the JSON backend: private too.
    store.save_process("private", {"persist_secret": "s3cret", "persist_upload": b"s" * 100_000})
    data = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert data
    for path in data:
        assert stat.S_IMODE(path.stat().st_mode) & 0o077 == 0, f"{path} is readable by others"
    for folder in {p.parent for p in data}:
        assert stat.S_IMODE(folder.stat().st_mode) & 0o077 == 0, f"{folder} is open to others"
