"""The proxy in front of the replicas (``deploy/nginx/default.conf.template``), as far as
this machine can test it with Debian's nginx 1.22.

compose gives nginx one name, ``server app:8501 resolve``, and nginx 1.27.3+ asks Docker's
DNS for it again every 10 s: a replica added by ``--scale`` joins, a removed or recreated one
leaves. nginx 1.22 has no ``resolve``, so here:

- ``nginx -t`` of the config exactly as compose fills it passes on nginx 1.27.3+; on older
  nginx it fails on ``resolve`` alone, and the same config with static servers passes;
- nginx with the shipped config in front of a changing set of upstreams on 127.0.0.1, each
  change made by a reload (what a DNS answer changes in a running nginx 1.27.3+): a new
  upstream gets traffic, a dead one and a removed one cost no request a 502, and a browser
  pinned to one of them moves on.

What is not exercised here is the re-resolution itself (Docker's DNS, ``resolve``): that
needs nginx 1.27.3+ and Docker.
"""

from __future__ import annotations

import re
import subprocess
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.conftest import PROJECT_ROOT
from tests.nginx_proxy import (
    Proxy,
    filled_config,
    nginx_version,
    require_nginx,
    write_main_config,
)

pytestmark = pytest.mark.slow  # an nginx of its own, reloaded several times

RESOLVE_SINCE = (1, 27, 3)
WAIT = 20.0  # seconds a reload may take to reach new requests: a guard, not a measurement


class Upstream:
    """A replica stand-in on 127.0.0.1: answers every GET with its own name."""

    def __init__(self, name: str) -> None:
        body = name.encode()

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:
                return  # quiet

        self.name = name
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port: int = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


def ask(proxy: Proxy, route: str | None = None) -> tuple[int, str]:
    """One request through the proxy, as a new browser (no cookie) or a pinned one:
    ``(status, the upstream's name)``."""
    headers = {} if route is None else {"Cookie": f"streamlit_route={route}"}
    request = urllib.request.Request(f"{proxy.url}/", headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return int(response.status), response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, ""


def new_browsers(proxy: Proxy, count: int = 60) -> set[str]:
    """Which upstreams ``count`` new browsers reach (each route is a fresh request id)."""
    answers = [ask(proxy) for _ in range(count)]
    assert {status for status, _ in answers} == {200}, answers
    return {name for _, name in answers}


def route_to(proxy: Proxy, upstream: Upstream) -> str:
    """A route cookie that pins a browser to ``upstream``."""
    for number in range(500):
        if ask(proxy, f"route-{number}") == (200, upstream.name):
            return f"route-{number}"
    raise AssertionError(f"no route reaches {upstream.name}")


def wait_until(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + WAIT
    while not condition():
        assert time.monotonic() < deadline, f"still not {what} after {WAIT:g} s"
        time.sleep(0.05)


class Traffic:
    """Browsers asking through the proxy without a pause, in a thread, while the test
    changes the upstreams: every answer kept."""

    def __init__(self, proxy: Proxy, routes: list[str | None]) -> None:
        self.answers: list[tuple[int, str]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(proxy, routes), daemon=True)

    def _run(self, proxy: Proxy, routes: list[str | None]) -> None:
        while not self._stop.is_set():
            for route in routes:
                self.answers.append(ask(proxy, route))

    def __enter__(self) -> Traffic:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join(timeout=30)

    def mark(self) -> int:
        return len(self.answers)


def compose_servers() -> str:
    """``STREAMLIT_SERVERS`` as compose.yaml gives it to nginx."""
    compose = (PROJECT_ROOT / "compose.yaml").read_text(encoding="utf-8")
    found = re.search(r'STREAMLIT_SERVERS:\s*"([^"]+)"', compose)
    assert found is not None, "compose.yaml no longer sets STREAMLIT_SERVERS"
    return found.group(1)


def nginx_test(executable: str, root: Path, config: str) -> subprocess.CompletedProcess[str]:
    arguments = write_main_config(root, config)
    return subprocess.run([executable, *arguments, "-t"], capture_output=True, text=True)


def test_the_shipped_config_passes_nginx_t(tmp_path: Path) -> None:
    executable = require_nginx()
    servers = compose_servers()
    assert " resolve " in servers, "compose's upstream no longer follows the replicas"
    as_composed = filled_config(servers, "127.0.0.1:8501")
    checked = nginx_test(executable, tmp_path / "composed", as_composed)
    if nginx_version(executable) >= RESOLVE_SINCE:
        assert checked.returncode == 0, checked.stderr
        return
    # Older nginx stops at `resolve`, the first thing it cannot take ...
    assert checked.returncode != 0
    assert 'invalid parameter "resolve"' in checked.stderr, checked.stderr
    # ... and takes everything else: the same servers, static, on an address it can resolve.
    static = servers.replace(" resolve", "").replace("server app:", "server 127.0.0.1:")
    checked = nginx_test(executable, tmp_path / "static", filled_config(static, "127.0.0.1:8501"))
    assert checked.returncode == 0, checked.stderr


@pytest.fixture
def upstreams() -> Iterator[dict[str, Upstream]]:
    started = {name: Upstream(name) for name in ("a", "b", "c")}
    yield started
    for upstream in started.values():
        upstream.stop()


def test_the_proxy_follows_a_changing_set_of_upstreams(
    upstreams: dict[str, Upstream], tmp_path: Path
) -> None:
    a, b, c = upstreams["a"], upstreams["b"], upstreams["c"]
    proxy = Proxy(require_nginx(), [a.port, b.port], tmp_path / "nginx")
    proxy.start()
    try:
        assert new_browsers(proxy) == {"a", "b"}
        # The platform's routes stay inside (every upstream here would answer 200).
        for path in ("/_persist/metrics", "/_persist/ready"):
            with pytest.raises(urllib.error.HTTPError, match="404"):
                urllib.request.urlopen(f"{proxy.url}{path}", timeout=10)

        # Scaled up: the new upstream gets new browsers, the others keep theirs.
        on_a = route_to(proxy, a)
        proxy.reload([a.port, b.port, c.port])
        wait_until(lambda: "c" in new_browsers(proxy, 10), "reaching the new upstream")
        assert new_browsers(proxy) == {"a", "b", "c"}
        on_c = route_to(proxy, c)

        with Traffic(proxy, [None, on_a, on_c]) as traffic:
            # A replica that dies (a crashed or recreated container) before the proxy knows.
            c.stop()
            died = traffic.mark()
            wait_until(lambda: len(traffic.answers) > died + 30, "answering after the death")
            # Scaled down: the removed upstream gets nothing once the reload took.
            proxy.reload([b.port])
            wait_until(lambda: ask(proxy, on_a) == (200, "b"), "moving a's browsers")
            removed = traffic.mark()
            a.stop()
            wait_until(lambda: len(traffic.answers) > removed + 30, "answering after removal")
        statuses = {status for status, _ in traffic.answers}
        assert statuses == {200}, f"{traffic.answers.count((502, ''))} answers were 502"
        # (The one request in flight at each mark may still have had the old set.)
        assert {name for _, name in traffic.answers[died + 1 :]} <= {"a", "b"}
        assert {name for _, name in traffic.answers[removed + 1 :]} == {"b"}
        assert new_browsers(proxy) == {"b"}
        assert "no live upstreams" not in proxy.error_log()
    finally:
        proxy.stop()
