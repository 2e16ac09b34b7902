"""A corrupt record makes only that process unavailable, with a message; the bad data is
kept for inspection; the app and every other process keep working."""

from __future__ import annotations

import importlib
import sqlite3
from typing import Any

import pytest

from persistence.errors import CorruptProcessError
from persistence.storage import StorageInterface
from persistence.storage.base import name_digest, url_path
from tests.app_driver import REPORT, key, start, visit
from tests.conftest import StoreFactory

BROKEN = "{broken"


def corrupt(make_store: StoreFactory, name: str) -> None:
    """Damage one stored process the way a hand edit or a bad migration would."""
    url = make_store.url
    if make_store.backend == "json":
        (url_path(url) / f"{name_digest(name)}.json").write_text(BROKEN, encoding="utf-8")
    elif make_store.backend == "sqlite":
        with sqlite3.connect(url_path(url)) as db:
            db.execute(
                "UPDATE entries SET value = ? WHERE key = 'persist_a' AND process_id = "
                "(SELECT id FROM processes WHERE name = ?)",
                (BROKEN, name),
            )
    elif make_store.backend == "postgres":
        fixtures: Any = importlib.import_module("tests.postgres_fixtures")
        fixtures.run_sql(
            url,
            make_store.settings.namespace,
            "UPDATE entries SET value = %s WHERE key = 'persist_a' AND process_id = "
            "(SELECT id FROM processes WHERE name = %s)",
            (BROKEN, name),
        )
    else:
        redis: Any = importlib.import_module("redis")
        client = redis.Redis.from_url(url)
        state_key = f"{make_store.settings.namespace}:state:{name_digest(name)}"
        client.hset(state_key, "persist_a", BROKEN)
        client.close()


@pytest.fixture
def damaged(make_store: StoreFactory) -> StorageInterface:
    store = make_store()
    store.save_process("good", {"persist_a": 1})
    store.save_process("bad", {"persist_a": 2})
    corrupt(make_store, "bad")
    return store


@pytest.mark.persistence
def test_only_the_corrupt_process_is_unavailable(damaged: StorageInterface) -> None:
    with pytest.raises(CorruptProcessError, match="'bad' is corrupt"):
        damaged.read_process("bad")
    assert damaged.load_process("good") == {"persist_a": 1}
    damaged.update_process("good", {"persist_b": 3})
    assert "good" in {info.name for info in damaged.list_processes()}


@pytest.mark.persistence
def test_the_bad_data_is_kept(damaged: StorageInterface, make_store: StoreFactory) -> None:
    with pytest.raises(CorruptProcessError) as caught:
        damaged.read_process("bad")
    if caught.value.preserved_copy is not None:
        assert caught.value.preserved_copy.read_text(encoding="utf-8") == BROKEN
        assert str(caught.value.preserved_copy) in str(caught.value)
    with pytest.raises(CorruptProcessError):  # still there: nothing was overwritten
        damaged.read_process("bad")


def test_the_app_explains_and_keeps_working(
    app_storage: StoreFactory, make_store: StoreFactory
) -> None:
    store = make_store()
    store.save_process("good", {key("owner"): "fine"})
    store.save_process("bad", {key("owner"): "lost?", "persist_a": 2})
    corrupt(make_store, "bad")
    at = start("bad")
    assert not at.exception
    assert any("bad" in str(element.value) for element in at.sidebar.error)
    at.selectbox(key="active_process").select("good").run()
    visit(at, REPORT)
    assert at.text_input(key=key("owner")).value == "fine"
