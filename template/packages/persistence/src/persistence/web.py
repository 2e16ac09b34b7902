"""HTTP routes of the persistence layer, mounted into Streamlit's own server by ``st.App``
(``apps/main/serve.py``): no second server, same port.

- ``/_persist/ready``: 200 ``ok`` when the store answers within ``PERSIST_READY_TIMEOUT``
  seconds (default 3), else 503 with the one-line reason. Kubernetes' readiness probe; the
  liveness probe stays Streamlit's ``/_stcore/health``.
- ``/_persist/metrics``: the persistence layer's Prometheus metrics (``persistence.metrics``)
  when the ``metrics`` setting is on (``PERSIST_METRICS=true``), else 404.

The paths sit under ``/_persist/`` so that they can never shadow a page's URL.
"""

from __future__ import annotations

import asyncio
import os

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import BaseRoute, Route

from persistence.health import DEFAULT_TIMEOUT, Readiness, touch, within
from persistence.metrics import exposition, server_metrics

READY_PATH = "/_persist/ready"
METRICS_PATH = "/_persist/metrics"


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


async def metrics(_request: Request) -> Response:
    # Mounted whatever the setting: an unknown path is Streamlit's page (200), not a 404.
    current = server_metrics()
    if current is None:
        return PlainTextResponse("metrics are off (PERSIST_METRICS=true turns them on)", 404)
    body, content_type = exposition(current)
    return Response(body, media_type=content_type)


def routes() -> list[BaseRoute]:
    """What ``st.App(..., routes=routes())`` mounts."""
    return [
        Route(READY_PATH, ready, methods=["GET", "HEAD"]),
        Route(METRICS_PATH, metrics, methods=["GET"]),
    ]
