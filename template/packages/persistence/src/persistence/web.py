"""HTTP routes of the persistence layer, mounted into Streamlit's own server by ``st.App``
(``apps/main/serve.py``): no second server, same port.

- ``/_persist/ready``: 200 ``ok`` when the store answers within ``PERSIST_READY_TIMEOUT``
  seconds (default 3), else 503 with the one-line reason. Kubernetes' readiness probe; the
  liveness probe stays Streamlit's ``/_stcore/health``.

The paths sit under ``/_persist/`` so that they can never shadow a page's URL.
"""

from __future__ import annotations

import asyncio
import os

from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import BaseRoute, Route

from persistence.health import DEFAULT_TIMEOUT, Readiness, touch, within

READY_PATH = "/_persist/ready"


def _ready_timeout() -> float:
    raw = os.environ.get("PERSIST_READY_TIMEOUT", "")
    try:
        return float(raw) if raw else DEFAULT_TIMEOUT
    except ValueError:
        return DEFAULT_TIMEOUT


def _probe_server_store() -> Readiness:
    # The server's own store (one pool per server process, shared with every session): the probe
    # sees exactly what the sessions see, and opens no connection of its own.
    from persistence.binding import server_storage

    return within(lambda: touch(server_storage()), _ready_timeout())


async def ready(_request: Request) -> PlainTextResponse:
    readiness = await asyncio.to_thread(_probe_server_store)
    return PlainTextResponse(readiness.detail, status_code=200 if readiness.ready else 503)


def routes() -> list[BaseRoute]:
    """What ``st.App(..., routes=routes())`` mounts."""
    return [Route(READY_PATH, ready, methods=["GET", "HEAD"])]
