"""Limits per value and per process: a key over a limit is refused with a message naming it,
and nothing else is lost; the settings that set them; a changed value is encoded once."""

from __future__ import annotations

import tomllib
from collections.abc import Iterator
from typing import Any

import pandas as pd
import pytest

from persistence import frames
from persistence.errors import ConfigurationError, ProcessTooLargeError, ValueTooLargeError
from persistence.settings import build_settings, get_settings
from persistence.storage import StorageInterface
from persistence.sync import StateSync
from persistence.ui.strings import describe
from tests.conftest import PROJECT_ROOT

pytestmark = pytest.mark.persistence

PREFIX = "persist_"
DEFAULTS = PROJECT_ROOT / "packages" / "persistence" / "src" / "persistence" / "defaults.toml"


def session_on(store: StorageInterface, *, max_bytes: int, max_value_bytes: int) -> StateSync:
    store.create_process("p")
    session = StateSync(
        store, {}, prefix=PREFIX, max_bytes=max_bytes, max_value_bytes=max_value_bytes
    )
    session.open("p")
    return session


def rerun(session: StateSync, **changes: Any) -> None:
    session.state.update(changes)
    session.end_run(session.begin_run())


# -- one value ----------------------------------------------------------------------------------
def test_a_value_over_the_value_limit_is_refused_by_name_and_the_rest_is_saved(
    store: StorageInterface,
) -> None:
    session = session_on(store, max_bytes=1 << 20, max_value_bytes=1000)
    rerun(session, persist_owner="Aiko")
    rerun(session, persist_upload="x" * 2000, persist_notes="kept")

    error = session.status.unstorable["persist_upload"]
    assert isinstance(error, ValueTooLargeError)
    for language in ("en", "ja"):
        text = describe(error, language)
        assert "persist_upload" in text and "2,002" in text and "1,000" in text
    assert session.status.error is None
    assert store.load_process("p") == {"persist_owner": "Aiko", "persist_notes": "kept"}
    assert not session.has_unsaved_changes  # refused, not waiting: the sidebar says why

    revision = store.process_revision("p")
    rerun(session)  # the same value is not encoded and refused again on every rerun
    assert store.process_revision("p") == revision
    rerun(session, persist_upload="small now")
    assert session.status.unstorable == {}
    assert (store.load_process("p") or {})["persist_upload"] == "small now"


def test_a_refused_value_changed_back_to_the_saved_one_clears_its_message(
    store: StorageInterface,
) -> None:
    session = session_on(store, max_bytes=1 << 20, max_value_bytes=100)
    rerun(session, persist_notes="short")
    rerun(session, persist_notes="y" * 200)
    assert "persist_notes" in session.status.unstorable
    rerun(session, persist_notes="short")
    assert session.status.unstorable == {}


# -- the whole process ---------------------------------------------------------------------------
def test_a_change_that_would_overflow_the_process_holds_back_that_key_only(
    store: StorageInterface,
) -> None:
    session = session_on(store, max_bytes=1000, max_value_bytes=1000)
    rerun(session, persist_old="o" * 600)
    rerun(session, persist_big="b" * 500, persist_notes="kept")

    error = session.status.error
    assert isinstance(error, ProcessTooLargeError)
    assert error.refused == ["persist_big"]
    for language in ("en", "ja"):
        assert "persist_big" in describe(error, language)
    assert store.load_process("p") == {"persist_old": "o" * 600, "persist_notes": "kept"}
    assert session.has_unsaved_changes

    rerun(session, persist_notes="still saved")  # other changes go on being saved
    assert (store.load_process("p") or {})["persist_notes"] == "still saved"
    assert isinstance(session.status.error, ProcessTooLargeError)

    rerun(session, persist_old="")  # room now: the held-back key is saved on this run
    assert (store.load_process("p") or {})["persist_big"] == "b" * 500
    assert session.status.error is None
    assert not session.has_unsaved_changes


def test_a_held_back_key_changed_back_clears_the_message(store: StorageInterface) -> None:
    session = session_on(store, max_bytes=1000, max_value_bytes=1000)
    rerun(session, persist_old="o" * 600, persist_big="")
    rerun(session, persist_big="b" * 500)
    assert isinstance(session.status.error, ProcessTooLargeError)
    rerun(session, persist_big="")
    assert session.status.error is None
    assert not session.has_unsaved_changes


def test_a_change_that_does_not_grow_a_process_over_a_lowered_limit_is_saved(
    store: StorageInterface,
) -> None:
    session = session_on(store, max_bytes=1 << 20, max_value_bytes=1 << 20)
    rerun(session, persist_old="o" * 2000, persist_notes="n" * 10)
    session.max_bytes = 1000  # the limit lowered below what the process holds
    rerun(session, persist_notes="m" * 10)
    assert session.status.error is None
    assert (store.load_process("p") or {})["persist_notes"] == "m" * 10


# -- encoded once -------------------------------------------------------------------------------
@pytest.fixture
def frame_encodings(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[int]]:
    """Counts how often a frame is turned into its stored form."""
    calls: list[int] = []
    original = frames.to_jsonable

    def counting(value: Any, depth: int = 1) -> Any:
        calls.append(1)
        return original(value, depth)

    monkeypatch.setattr(frames, "to_jsonable", counting)
    yield calls


def test_a_changed_table_is_encoded_once_per_save(
    store: StorageInterface, frame_encodings: list[int]
) -> None:
    session = session_on(store, max_bytes=1 << 20, max_value_bytes=1 << 20)
    table = pd.DataFrame({"item": ["a", "b"], "amount": [1.5, 2.5]})
    rerun(session, persist_table=table)
    frame_encodings.clear()
    table.loc[1, "amount"] = 3.5  # an edit in place
    rerun(session)
    assert len(frame_encodings) == 1
    saved = (store.load_process("p") or {})["persist_table"]
    assert saved["amount"].tolist() == [1.5, 3.5]
    frame_encodings.clear()
    rerun(session)  # unchanged: compared, never encoded
    assert frame_encodings == []


# -- the settings ---------------------------------------------------------------------------------
def defaults() -> dict[str, Any]:
    return tomllib.loads(DEFAULTS.read_text(encoding="utf-8"))


def test_the_defaults_fit_files() -> None:
    settings = build_settings(defaults(), {})
    assert settings.max_value_bytes == 20 * 2**20
    assert settings.max_process_bytes == 64 * 2**20


@pytest.mark.parametrize("bad", ["0", "-1", "lots", str(2**40 + 1)])
@pytest.mark.parametrize("field", ["max_value_bytes", "max_process_bytes"])
def test_a_limit_must_be_a_positive_whole_number(field: str, bad: str) -> None:
    with pytest.raises(ConfigurationError, match=field):
        build_settings(defaults(), {field: bad})


def test_the_limits_are_set_per_deployment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PERSIST_MAX_VALUE_BYTES", "4096")
    monkeypatch.setenv("PERSIST_MAX_PROCESS_BYTES", "8192")
    get_settings.cache_clear()
    try:
        settings = get_settings()
        assert (settings.max_value_bytes, settings.max_process_bytes) == (4096, 8192)
    finally:
        get_settings.cache_clear()
    # The [persistence] table of secrets.toml arrives as TOML integers, not text.
    from_secrets = build_settings(defaults(), {"max_value_bytes": 1234})
    assert from_secrets.max_value_bytes == 1234
