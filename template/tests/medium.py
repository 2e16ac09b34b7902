"""A backend's medium as the tests reach it behind the store's back: to damage what it holds
as a disk error or a hand edit would, to read the bytes it holds, to make it fail, and to
check what a save or a freshness check costs there.

The tests that need this (tests/test_big_values.py, test_cli.py, test_corruption.py,
test_crash_safety.py) ask for the ``medium`` fixture and stay the same on every backend. Each
backend's own module, rendered only for it (``tests/<backend>_medium.py``), subclasses
``Medium``; its entry in ``persistence/backends.json`` names that class (``medium``).
"""

from __future__ import annotations

import abc
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from tests.conftest import StoreFactory


class Medium(abc.ABC):
    """The medium of one test's store (``make_store``: its URL and namespace)."""

    # Why a writer killed inside a write cannot tear it (the kill tests skip), else None.
    untearable: str | None = None
    # Whether one stored value can go missing while its process stays (a file of its own).
    values_can_go_missing = False

    def __init__(self, make_store: StoreFactory) -> None:
        self.make_store = make_store
        self.url = make_store.url
        self.namespace = make_store.settings.namespace

    def corrupt(self, name: str, key: str, text: str) -> None:
        """Damage process ``name`` as a hand edit or a bad migration would: ``text`` where
        the medium keeps the value of ``key`` (a medium of one file per process: that file)."""
        self.overwrite_value(name, key, text.encode())

    @abc.abstractmethod
    def stored_value(self, name: str, key: str) -> bytes:
        """The bytes the medium holds for the value of ``key`` of ``name`` (a big value)."""

    @abc.abstractmethod
    def overwrite_value(self, name: str, key: str, data: bytes) -> None:
        """Replace the stored bytes of one (big) value, as a disk error or a hand edit would."""

    def remove_value(self, name: str, key: str) -> None:
        """Remove one stored value and nothing else (``values_can_go_missing`` media)."""
        raise NotImplementedError(f"{type(self).__name__} keeps no value on its own")

    @abc.abstractmethod
    def big_values(self, over: int) -> int:
        """How many values of more than ``over`` bytes of JSON the medium holds, whatever
        process they belong to (checking on the way that none is orphaned)."""

    @abc.abstractmethod
    def check_small_save_spares_big_value(
        self, name: str, key: str, save: Callable[[], object]
    ) -> None:
        """Run ``save`` (a save of a small key of ``name``), and assert that it did not
        write the big value of ``key`` again."""

    def check_reads_no_big_value(self, check: Callable[[], object]) -> None:
        """Run ``check`` (freshness checks and listings), and assert that it read no big
        value: a medium of local files reads few bytes."""
        read = bytes_through("rchar", check)
        assert read < 64 * 1024, f"{read} bytes read"

    @abc.abstractmethod
    def fail_the_second_write(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """Make the medium fail when an import writes its second process (``second``), as a
        full disk or an I/O error would."""

    def leftovers(self) -> list[Path]:
        """What a failed write left in the medium that a whole one would not have."""
        return []


def io_counter(field: str) -> int | None:
    """This process's ``wchar`` / ``rchar`` (bytes passed to write / read calls, Linux)."""
    try:
        lines = Path("/proc/self/io").read_text().splitlines()
    except OSError:
        return None
    counters = dict(line.split(": ") for line in lines)
    return int(counters[field])


def bytes_through(field: str, action: Callable[[], object]) -> int:
    before = io_counter(field)
    if before is None:
        pytest.skip("counting the bytes a process reads or writes needs Linux's /proc/self/io")
    action()
    after = io_counter(field)
    assert after is not None
    return after - before
