"""Property-based tests: any name and any storable value round-trip; nothing outside the
store's own space is touched; every rejection is the documented error with a message."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from persistence.errors import InvalidProcessNameError, UnstorableValueError
from persistence.names import MAX_NAME_LENGTH, validate_process_name
from persistence.storage import StorageInterface
from persistence.storage.base import url_path
from tests.conftest import StoreFactory

pytestmark = pytest.mark.persistence

SLOW_OK = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
HOSTILE_NAMES = [
    "../../etc/passwd",
    "a/b",
    "a\\b",
    "NUL",
    "x" * 10_000,
    "مرحبا بالعالم",
    "\u202eevil\u202c",
    "👨‍👩‍👧‍👦 family",
    "CON",
    "nul.txt",
    "..",
    ".",
    "*",
    "%2e%2e%2f",
]


def _unambiguous(moment: dt.datetime) -> bool:
    """Python never finds a time in a DST gap or fold equal to the same instant in another
    zone (PEP 495), and the codec keeps the offset, not the zone: such times are left out."""
    return moment.utcoffset() == moment.replace(fold=1 - moment.fold).utcoffset()


scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**63)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text()
    | st.dates()
    | st.datetimes(timezones=st.none() | st.timezones(), allow_imaginary=False).filter(_unambiguous)
    | st.times()
)
values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.tuples(inner, inner)
        | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)


def _is_valid(name: str) -> bool:
    try:
        validate_process_name(name)
    except InvalidProcessNameError:
        return False
    return True


def files_outside(root: Path, store_dir: Path) -> set[Path]:
    return {p for p in root.rglob("*") if store_dir not in p.parents and p != store_dir}


@SLOW_OK
@given(name=st.text(max_size=MAX_NAME_LENGTH + 20), value=values)
def test_any_valid_name_and_storable_value_round_trip(
    store: StorageInterface, name: str, value: Any
) -> None:
    if not _is_valid(name):
        return
    store.save_process(name, {"persist_value": value})
    assert store.load_process(name) == {"persist_value": value}
    assert name in {info.name for info in store.list_processes()}
    store.delete_process(name)


@SLOW_OK
@given(name=st.text(max_size=MAX_NAME_LENGTH + 50))
def test_every_rejected_name_gets_the_documented_error(store: StorageInterface, name: str) -> None:
    if _is_valid(name):
        return
    try:
        store.create_process(name)
    except InvalidProcessNameError as error:
        assert "process name" in str(error)
    else:
        raise AssertionError(f"{name!r} was accepted")


@SLOW_OK
@given(value=st.sets(st.integers()) | st.builds(object) | st.binary().map(bytearray))
def test_unstorable_values_get_the_documented_error(store: StorageInterface, value: Any) -> None:
    try:
        store.save_process("p", {"persist_bad": value})
    except UnstorableValueError as error:
        assert "persist_bad" in str(error)
    else:
        raise AssertionError(f"{value!r} was stored")


def test_hostile_names_never_touch_anything_outside_the_store(
    make_store: StoreFactory, tmp_path: Path
) -> None:
    # The JSON folder, or the SQLite database (Redis keeps nothing in tmp_path).
    store_path = url_path(make_store.url)

    def outside_the_store() -> set[Path]:
        # The -wal/-shm files SQLite keeps beside its database are the store itself.
        return {
            p for p in files_outside(tmp_path, store_path) if not p.name.startswith(store_path.name)
        }

    store = make_store()
    before = outside_the_store()
    for name in HOSTILE_NAMES:
        try:
            store.save_process(name, {"persist_x": dt.date(2025, 1, 1)})
        except InvalidProcessNameError:
            assert len(name) > MAX_NAME_LENGTH
            continue
        assert store.load_process(name) == {"persist_x": dt.date(2025, 1, 1)}
    assert outside_the_store() == before
    assert not Path("/etc/passwd.json").exists()
