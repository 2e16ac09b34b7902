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
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from persistence.storage import StorageInterface
from tests.conftest import PROJECT_ROOT, StoreFactory, free_port

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Playwright

MAIN_APP = PROJECT_ROOT / "apps" / "main" / "app.py"
CLOCK_SERVER = Path(__file__).with_name("clock_server.py")
DEFAULT_CHROMIUM = "/usr/bin/chromium"
START_TIMEOUT = 60.0


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/_stcore/health", timeout=1) as response:
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError):
        return False


class StreamlitServer:
    """``streamlit run apps/main/app.py`` (or ``app``) on a fixed port; stop and start it
    again at will. With a ``clock_file``, the server's store reads the time from that file
    (``tests/e2e/clock_server.py``)."""

    def __init__(
        self,
        storage: StoreFactory,
        log: Path,
        app: Path = MAIN_APP,
        *,
        clock_file: Path | None = None,
    ) -> None:
        self.app = app
        self.clock_file = clock_file
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
        if self.clock_file is not None:
            streamlit = [str(CLOCK_SERVER), str(self.clock_file)]
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
        while not _healthy(self.url):
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


NGINX_TEMPLATE = PROJECT_ROOT / "deploy" / "nginx" / "default.conf.template"
NGINX_MAIN = """worker_processes 1;
pid ROOT/nginx.pid;
error_log ROOT/error.log warn;
events { worker_connections 256; }
http {
    access_log off;
    client_body_temp_path ROOT/body;
    proxy_temp_path ROOT/proxy;
    fastcgi_temp_path ROOT/fastcgi;
    uwsgi_temp_path ROOT/uwsgi;
    scgi_temp_path ROOT/scgi;
    include ROOT/default.conf;
}
"""


def nginx_executable() -> str | None:
    return shutil.which("nginx") or next(
        (path for path in ("/usr/sbin/nginx",) if os.access(path, os.X_OK)), None
    )


def with_upstream_header(config: str) -> str:
    """The shipped config plus an ``X-Upstream`` response header naming the replica that
    answered: the tests need it, clients must not see internal addresses (not shipped)."""
    cookie = "        add_header Set-Cookie"
    assert cookie in config, "deploy/nginx/default.conf.template no longer sets the route cookie"
    header = "        add_header X-Upstream $upstream_addr always;\n"
    return config.replace(cookie, header + cookie, 1)


class Proxy:
    """Debian's nginx on 127.0.0.1, configured from the project's own
    ``deploy/nginx/default.conf.template``, in front of ``replicas``."""

    def __init__(self, executable: str, replicas: list[StreamlitServer], root: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.root = root
        servers = " ".join(
            f"server 127.0.0.1:{replica.port} max_fails=1 fail_timeout=5s;" for replica in replicas
        )
        config = NGINX_TEMPLATE.read_text(encoding="utf-8")
        config = config.replace("${STREAMLIT_SERVERS}", servers)
        config = config.replace("${NGINX_PORT}", f"127.0.0.1:{self.port}")
        config = with_upstream_header(config.replace("${NGINX_RESOLVER}", "127.0.0.1"))
        root.mkdir(parents=True, exist_ok=True)
        (root / "default.conf").write_text(config, encoding="utf-8")
        (root / "nginx.conf").write_text(NGINX_MAIN.replace("ROOT", str(root)), encoding="utf-8")
        self._command = [executable, "-p", str(root), "-c", str(root / "nginx.conf")]
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self._process = subprocess.Popen([*self._command, "-g", "daemon off;"])
        deadline = time.monotonic() + START_TIMEOUT
        while not _healthy(self.url):
            if self._process.poll() is not None or time.monotonic() > deadline:
                log = (self.root / "error.log").read_text(encoding="utf-8", errors="replace")
                pytest.fail(f"nginx did not start on port {self.port}:\n{log}")
            time.sleep(0.1)

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            process.terminate()
            process.wait(timeout=10)

    def upstream_for(self, route: str) -> str:
        """The replica (``127.0.0.1:<port>``) that a browser with this route cookie reaches."""
        request = urllib.request.Request(
            f"{self.url}/", headers={"Cookie": f"streamlit_route={route}"}
        )
        with urllib.request.urlopen(request, timeout=5) as response:
            return str(response.headers.get("X-Upstream", ""))


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
    executable = nginx_executable()
    if executable is None:
        pytest.skip("no nginx binary: install one (apt-get install nginx)")
    started = Proxy(executable, replicas, tmp_path / "nginx")
    started.start()
    yield started
    started.stop()
