"""The storage backends, each declared once, in ``backends.json`` beside this module.

That file is the one list: the template reads it too (copier.yml's hidden ``backends``), to
offer the ``backend`` choices and render each backend's dependencies, so the app, the tests,
the benchmark and the generated files agree. A project renders only its own backend's store
(``persistence.storage.<name>_store``), but knows every backend's URL schemes: a URL of
another backend fails with a message that says how to switch.

Per backend: ``label`` (its name in prose), ``choice`` (the template question's wording),
``schemes`` (of its storage URLs), ``default_url`` (``{folder}``: the data folder, for the
backends that keep their data in one), ``dependencies`` (the package's, with the reason for
each floor), ``medium`` (the tests' class that reaches into its medium behind the store's
back, ``tests/medium.py``), ``server`` (for a backend that is a server: the environment
variable that names one for the tests and the benchmark, where the template's own tests find
one, how to start one, and the pytest plugin with its two fixtures: the server's URL, and a
function that drops a namespace there) and the benchmark's listing targets in ms (every
process, and one user's among many users').
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["BACKENDS", "Backend", "Server"]


@dataclass(frozen=True, slots=True)
class Server:
    env: str  # e.g. REDIS_URL: where the tests and the benchmark find a server
    test_url: str  # where the template's own tests expect one
    start: str  # a command that starts one on this machine
    fixtures: str  # the tests' pytest plugin for it, with the two fixtures below
    url_fixture: str  # the server's URL (a session fixture)
    drop_fixture: str  # a function (url, namespace) that drops what a test left there


@dataclass(frozen=True, slots=True)
class Backend:
    name: str
    label: str
    choice: str
    schemes: tuple[str, ...]
    default_url: str
    requirements: tuple[str, ...]
    server: Server | None
    medium: str  # the tests' class for its medium (tests/medium.py), rendered only for it
    bench_list_ms: float
    bench_owner_list_ms: float

    def url_in(self, folder: str | Path) -> str:
        """The default storage URL, with the data in ``folder`` for a backend that keeps
        its data in a folder (the others answer their local server)."""
        return self.default_url.format(folder=folder)


def _backend(name: str, facts: dict[str, Any]) -> Backend:
    server = facts["server"]
    return Backend(
        name=name,
        label=facts["label"],
        choice=facts["choice"],
        schemes=tuple(facts["schemes"]),
        default_url=facts["default_url"],
        requirements=tuple(dep["requirement"] for dep in facts["dependencies"]),
        server=None if server is None else Server(**server),
        medium=facts["medium"],
        bench_list_ms=float(facts["bench_list_ms"]),
        bench_owner_list_ms=float(facts["bench_owner_list_ms"]),
    )


_TABLE: dict[str, dict[str, Any]] = json.loads(
    Path(__file__).with_name("backends.json").read_text(encoding="utf-8")
)
BACKENDS: dict[str, Backend] = {name: _backend(name, facts) for name, facts in _TABLE.items()}
