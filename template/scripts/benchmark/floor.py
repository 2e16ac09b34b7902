"""The raw floor: the bare backend operation for the same bytes, without this package.

Each backend's floor lives in its own module, ``<backend>_floor.py``, rendered only into
projects of that backend; ``open_floor`` finds this project's.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from scripts.benchmark.target import Target


class Floor(Protocol):
    """Bare backend operations on the same bytes the scenario stores."""

    def write_process(self, name: str, state: Mapping[str, Any], key: str | None = None) -> None:
        """Persist that ``key`` changed in ``state`` (the bytes the backend must write), or
        all of ``state`` when ``key`` is None."""

    def read_process(self, name: str) -> object: ...

    def fill_listing(self, count: int) -> None: ...

    def list_processes(self) -> object: ...

    def close(self) -> None:
        """Release connections, and delete what the run wrote outside its temporary folder."""


def open_floor(target: Target) -> Floor:
    module = importlib.import_module(f"scripts.benchmark.{target.backend}_floor")
    floor: Floor = module.open_floor(target)
    return floor
