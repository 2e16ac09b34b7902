"""``streamlit run`` whose store reads the time from a file: a browser test moves the
server's clock (the minute turning over, say) without waiting.

``python tests/e2e/clock_server.py CLOCK_FILE run APP [OPTIONS]``: the file holds an ISO
time, or nothing for the real time. Only ``StreamlitServer(clock_file=...)`` starts a
server this way: the app, its settings and its environment know nothing of it, so nothing
in a deployment can switch it on. Like the AppTest of the same case, the server reads the
process list on every run (not every two seconds), so the sidebar follows each save.
"""

from __future__ import annotations

import sys
from datetime import datetime
from pathlib import Path
from typing import Any

import persistence.binding
from persistence.binding import ProcessCatalog
from persistence.storage import StorageInterface, open_storage, utc_now


def main() -> None:
    clock_file = Path(sys.argv.pop(1))

    def clock() -> datetime:
        text = clock_file.read_text(encoding="utf-8").strip() if clock_file.exists() else ""
        return datetime.fromisoformat(text) if text else utc_now()

    def open_on_the_clock(*args: Any, **kwargs: Any) -> StorageInterface:
        return open_storage(*args, **{**kwargs, "clock": clock})

    def catalog_read_every_run(store: StorageInterface) -> ProcessCatalog:
        return ProcessCatalog(store, ttl=0)

    binding = vars(persistence.binding)  # what the app's sessions call, replaced in place
    binding["open_storage"] = open_on_the_clock
    binding["ProcessCatalog"] = catalog_read_every_run

    from streamlit.web import cli

    cli.main(prog_name="streamlit")


if __name__ == "__main__":
    main()
