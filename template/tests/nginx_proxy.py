"""Debian's nginx on 127.0.0.1, configured from the project's own
``deploy/nginx/default.conf.template``: in front of real replicas (tests/e2e/test_replicas.py)
and of a changing set of upstreams (tests/test_proxy.py).

Debian's nginx is 1.22: it has no ``resolve`` on upstream servers (1.27.3+), so the tests
give it the replicas as static ``server 127.0.0.1:<port>`` lines, as compose's
``STREAMLIT_SERVERS`` would be without ``resolve``, and change them by a reload.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from pathlib import Path

import pytest

from tests.conftest import PROJECT_ROOT, free_port

NGINX_TEMPLATE = PROJECT_ROOT / "deploy" / "nginx" / "default.conf.template"
START_TIMEOUT = 60.0
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


def require_nginx() -> str:
    executable = nginx_executable()
    if executable is None:
        pytest.skip("no nginx binary: install one (apt-get install nginx)")
    return executable


def nginx_version(executable: str) -> tuple[int, ...]:
    """``(1, 22, 1)`` from ``nginx -v`` (which prints on stderr)."""
    shown = subprocess.run([executable, "-v"], capture_output=True, text=True, check=True)
    found = re.search(r"nginx/(\d+(?:\.\d+)*)", shown.stderr)
    assert found is not None, shown.stderr
    return tuple(int(part) for part in found.group(1).split("."))


def with_upstream_header(config: str) -> str:
    """The shipped config plus an ``X-Upstream`` response header naming the replica that
    answered: the tests need it, clients must not see internal addresses (not shipped)."""
    cookie = "        add_header Set-Cookie"
    assert cookie in config, "deploy/nginx/default.conf.template no longer sets the route cookie"
    header = "        add_header X-Upstream $upstream_addr always;\n"
    return config.replace(cookie, header + cookie, 1)


def filled_config(servers: str, listen: str, resolver: str = "127.0.0.1") -> str:
    """The shipped template with its three placeholders filled, as nginx's image does."""
    config = NGINX_TEMPLATE.read_text(encoding="utf-8")
    config = config.replace("${STREAMLIT_SERVERS}", servers).replace("${NGINX_PORT}", listen)
    return config.replace("${NGINX_RESOLVER}", resolver)


def static_servers(ports: Sequence[int]) -> str:
    return " ".join(f"server 127.0.0.1:{port} max_fails=1 fail_timeout=5s;" for port in ports)


def write_main_config(root: Path, config: str) -> list[str]:
    """``config`` as the ``http`` block's include under ``root``: the nginx command line."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "default.conf").write_text(config, encoding="utf-8")
    (root / "nginx.conf").write_text(NGINX_MAIN.replace("ROOT", str(root)), encoding="utf-8")
    return ["-p", str(root), "-c", str(root / "nginx.conf")]


def healthy(url: str) -> bool:
    """Whether ``url`` answers Streamlit's health check (through the proxy, or not)."""
    try:
        with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
            return int(response.status) == 200
    except (urllib.error.URLError, OSError):
        return False


class Proxy:
    """nginx in front of the replicas on ``ports``; ``reload`` gives it another set."""

    def __init__(self, executable: str, ports: Sequence[int], root: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.root = root
        self._executable = executable
        self._arguments = write_main_config(root, self._config(ports))
        self._process: subprocess.Popen[bytes] | None = None

    def _config(self, ports: Sequence[int]) -> str:
        return with_upstream_header(filled_config(static_servers(ports), f"127.0.0.1:{self.port}"))

    def start(self) -> None:
        self._process = subprocess.Popen([self._executable, *self._arguments, "-g", "daemon off;"])
        deadline = time.monotonic() + START_TIMEOUT
        while not healthy(self.url):
            if self._process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"nginx did not start on port {self.port}:\n{self.error_log()}")
            time.sleep(0.1)

    def reload(self, ports: Sequence[int]) -> None:
        """Write the config for ``ports`` and reload: new workers take it, the old ones
        finish the requests they hold (what nginx's re-resolution spares compose)."""
        write_main_config(self.root, self._config(ports))
        test = subprocess.run(
            [self._executable, *self._arguments, "-t"], capture_output=True, text=True
        )
        assert test.returncode == 0, test.stderr
        assert self._process is not None
        self._process.send_signal(signal.SIGHUP)

    def error_log(self) -> str:
        return (self.root / "error.log").read_text(encoding="utf-8", errors="replace")

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
