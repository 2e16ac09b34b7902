"""``streamlit run`` that a browser test controls through files in a folder, for cases that
depend on the server's time or on what it is doing at one moment.

``python tests/e2e/controlled_server.py CONTROL_DIR run APP [OPTIONS]``. In ``CONTROL_DIR``:

- ``clock`` holds an ISO time: the store reads the time from it (the minute turning over
  between two edits, without waiting); no file, or an empty one, is the real time. Like the
  AppTest of the same case, the server then reads the process list on every run (not every
  two seconds), so the sidebar follows each save.
- ``gate``: while it exists, each read of a process's revision (the first storage call of a
  run) waits, for at most ``GATE_TIMEOUT`` seconds: a run is held at its start, as a slow
  store would hold it, while the browser sends the next request.

Only ``StreamlitServer(controls=...)`` starts a server this way: the app, its settings and
its environment know nothing of it, so nothing in a deployment can switch it on.
"""

from __future__ import annotations

import sys
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import persistence.binding
from persistence.binding import ProcessCatalog
from persistence.models import Revision
from persistence.storage import StorageInterface, open_storage, utc_now
from persistence.storage.delegating import DelegatingStorage

GATE_TIMEOUT = 10.0


class GatedStorage(DelegatingStorage):
    """Revision reads wait while the ``gate`` file exists."""

    def __init__(self, inner: StorageInterface, gate: Path) -> None:
        super().__init__(inner)
        self.gate = gate

    def process_revision(self, name: str) -> Revision | None:
        deadline = time.monotonic() + GATE_TIMEOUT
        while self.gate.exists() and time.monotonic() < deadline:
            time.sleep(0.01)
        return super().process_revision(name)


def main() -> None:
    controls = Path(sys.argv.pop(1))
    clock_file, gate = controls / "clock", controls / "gate"

    def clock() -> datetime:
        text = clock_file.read_text(encoding="utf-8").strip() if clock_file.exists() else ""
        return datetime.fromisoformat(text) if text else utc_now()

    def open_controlled(*args: Any, **kwargs: Any) -> StorageInterface:
        return GatedStorage(open_storage(*args, **{**kwargs, "clock": clock}), gate)

    def catalog_read_every_run(store: StorageInterface) -> ProcessCatalog:
        return ProcessCatalog(store, ttl=0)

    binding = vars(persistence.binding)  # what the app's sessions call, replaced in place
    binding["open_storage"] = open_controlled
    binding["ProcessCatalog"] = catalog_read_every_run

    from streamlit.web import cli

    cli.main(prog_name="streamlit")


if __name__ == "__main__":
    main()
