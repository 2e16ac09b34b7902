"""A corrupt record makes only that process unavailable, with a message; the bad data is
kept for inspection; the app and every other process keep working."""

from __future__ import annotations

import pytest

from persistence.errors import CorruptProcessError
from persistence.storage import StorageInterface
from tests.app_driver import REPORT, key, start, visit
from tests.conftest import StoreFactory
from tests.medium import Medium

# In place of a process file (JSON), else of the value of its key persist_a.
BROKEN = "{broken"


@pytest.fixture
def damaged(make_store: StoreFactory, medium: Medium) -> StorageInterface:
    store = make_store()
    store.save_process("good", {"persist_a": 1})
    store.save_process("bad", {"persist_a": 2})
    medium.corrupt("bad", "persist_a", BROKEN)
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
    app_storage: StoreFactory, make_store: StoreFactory, medium: Medium
) -> None:
    store = make_store()
    store.save_process("good", {key("owner"): "fine"})
    store.save_process("bad", {key("owner"): "lost?", "persist_a": 2})
    medium.corrupt("bad", "persist_a", BROKEN)
    at = start("bad")
    assert not at.exception
    assert any("bad" in str(element.value) for element in at.sidebar.error)
    at.selectbox(key="active_process").select("good").run()
    visit(at, REPORT)
    assert at.text_input(key=key("owner")).value == "fine"
