"""A real ``streamlit run`` server on an isolated store, and the system Chromium to drive it.

Nothing here imports Playwright at import time, so a project without it still collects (and
skips) cleanly.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from persistence.storage import StorageInterface
from tests.conftest import PROJECT_ROOT, StoreFactory, free_port
from tests.nginx_proxy import START_TIMEOUT, Proxy, healthy, require_nginx

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Playwright

MAIN_APP = PROJECT_ROOT / "apps" / "main" / "app.py"
CONTROLLED_SERVER = Path(__file__).with_name("controlled_server.py")
DEFAULT_CHROMIUM = "/usr/bin/chromium"


class StreamlitServer:
    """``streamlit run apps/main/app.py`` (or ``app``) on a fixed port; stop and start it
    again at will. With ``controls``, the test sets the server's clock and holds its runs
    through files in that folder (``tests/e2e/controlled_server.py``)."""

    def __init__(
        self,
        storage: StoreFactory,
        log: Path,
        app: Path = MAIN_APP,
        *,
        controls: Path | None = None,
    ) -> None:
        self.app = app
        self.controls = controls
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = log
        self.env = {
            **os.environ,
            "PERSIST_STORAGE_URL": storage.url,
            "PERSIST_NAMESPACE": storage.settings.namespace,
            # A headless browser cannot sign in, so a per-user project is driven as shared.
            "PERSIST_PROCESS_SCOPE": "shared",
            "STREAMLIT_BROWSER_GATHER_USAGE_STATS": "false",
        }
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        streamlit = ["-m", "streamlit"]
        if self.controls is not None:
            streamlit = [str(CONTROLLED_SERVER), str(self.controls)]
        command = [
            sys.executable,
            *streamlit,
            "run",
            str(self.app),
            "--server.port",
            str(self.port),
            "--server.address",
            "127.0.0.1",
            "--server.headless",
            "true",
            "--server.fileWatcherType",
            "none",
        ]
        with self.log.open("ab") as log:
            self._process = subprocess.Popen(
                command, cwd=PROJECT_ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT
            )
        deadline = time.monotonic() + START_TIMEOUT
        while not healthy(self.url):
            if self._process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                pytest.fail(f"streamlit did not start on port {self.port}:\n{self.log_tail()}")
            time.sleep(0.1)

    def stop(self, *, kill: bool = False) -> None:
        """Stop the server; ``kill=True`` is a crash (SIGKILL: no shutdown code runs)."""
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        if kill:
            process.kill()
        else:
            process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)

    def restart(self) -> None:
        self.stop(kill=True)
        self.start()

    def log_tail(self, lines: int = 40) -> str:
        text = self.log.read_text(encoding="utf-8", errors="replace") if self.log.exists() else ""
        return "\n".join(text.splitlines()[-lines:])


@pytest.fixture
def streamlit_server(make_store: StoreFactory, tmp_path: Path) -> Iterator[StreamlitServer]:
    server = StreamlitServer(make_store, tmp_path / "streamlit.log")
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def chromium_executable() -> str:
    """The system Chromium (``CHROMIUM_PATH`` or ``/usr/bin/chromium``): never a download."""
    wanted = os.environ.get("CHROMIUM_PATH")
    candidates: list[str | None] = (
        [wanted] if wanted else [DEFAULT_CHROMIUM, shutil.which("chromium")]
    )
    for candidate in candidates:
        if candidate and Path(candidate).is_file() and os.access(candidate, os.X_OK):
            return candidate
    if wanted:
        where = f"CHROMIUM_PATH={wanted!r} is not an executable"
    else:
        where = f"no Chromium at {DEFAULT_CHROMIUM} or on PATH"
    pytest.skip(f"{where}: install one (apt-get install chromium) or set CHROMIUM_PATH")


# One Playwright driver and one Chromium for the whole run (each start costs seconds): every
# test opens its pages in browser contexts of its own (`steps.new_page`), which share nothing.
@pytest.fixture(scope="session")
def playwright() -> Iterator[Playwright]:
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
    with sync_api.sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="session")
def browser(playwright: Playwright, chromium_executable: str) -> Iterator[Browser]:
    from tests.e2e.steps import CHROMIUM_ARGS

    launched = playwright.chromium.launch(executable_path=chromium_executable, args=CHROMIUM_ARGS)
    yield launched
    launched.close()


@pytest.fixture
def store(make_store: StoreFactory) -> Iterator[StorageInterface]:
    """The server's store, opened by the test too: what the app saved, read back directly."""
    opened = make_store()
    yield opened
    opened.close()


@pytest.fixture
def replicas(make_store: StoreFactory, tmp_path: Path) -> Iterator[list[StreamlitServer]]:
    """Two ``streamlit run`` servers on one store, as two replicas of a deployment."""
    servers = [StreamlitServer(make_store, tmp_path / f"replica-{n}.log") for n in (1, 2)]
    try:
        for server in servers:
            server.start()
        yield servers
    finally:
        for server in servers:
            server.stop()


@pytest.fixture
def proxy(replicas: list[StreamlitServer], tmp_path: Path) -> Iterator[Proxy]:
    started = Proxy(require_nginx(), [r.port for r in replicas], tmp_path / "nginx")
    started.start()
    yield started
    started.stop()
