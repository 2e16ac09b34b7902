"""The servers a load run measures: ``streamlit run apps/main/app.py`` on loopback, one with
persistence and one with the binding off (``PERSIST_ENABLED=false``), or a given URL."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[2]
MAIN_APP = PROJECT / "apps" / "main" / "app.py"
START_TIMEOUT = 60.0
_TICKS = os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def healthy(url: str) -> bool:
    try:
        health = f"{url}/_stcore/health"  # http(s) only: the URL is this run's own or --url
        with urllib.request.urlopen(health, timeout=1) as response:  # noqa: S310
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError):
        return False


@dataclass
class Server:
    """A server under load: its URL, and its process when this run started it."""

    name: str
    url: str
    process: subprocess.Popen[bytes] | None = None

    def cpu_seconds(self) -> float | None:
        """User plus system CPU the server used so far (``None``: not started here)."""
        if self.process is None:
            return None
        try:
            fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return None
        return (int(fields[11]) + int(fields[12])) / _TICKS

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)


def launch(name: str, env: dict[str, str], log: Path) -> Server:
    """``streamlit run`` the main app on a free loopback port with ``env`` added; it starts
    beside whatever else is starting (``wait_until_healthy``)."""
    port = free_port()
    command = [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        str(MAIN_APP),
        "--server.port",
        str(port),
        "--server.address",
        "127.0.0.1",
        "--server.headless",
        "true",
        "--server.fileWatcherType",
        "none",
        "--browser.gatherUsageStats",
        "false",
    ]
    with log.open("ab") as out:
        process = subprocess.Popen(  # noqa: S603 - this interpreter, this project's app
            command,
            cwd=PROJECT,
            env={**os.environ, **env},
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    return Server(name, f"http://127.0.0.1:{port}", process)


def wait_until_healthy(server: Server, log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while not healthy(server.url):
        exited = server.process is not None and server.process.poll() is not None
        if exited or time.monotonic() > deadline:
            server.stop()
            message = f"{server.name}: streamlit did not start at {server.url} (see {log})"
            raise RuntimeError(message)
        time.sleep(0.2)
