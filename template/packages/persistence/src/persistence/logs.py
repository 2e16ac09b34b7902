"""Logging of the persistence layer, configured once per server process or command: by the
server's store (``binding.server_storage``) in the app, by ``persist`` for the command.

Every event is one line on stderr under the package's own logger names (``persistence.*``):
``2026-01-05T09:00:00.123Z WARNING persistence.observed: ...``, or one JSON object per line
with ``PERSIST_LOG_FORMAT=json`` (``time``, ``level``, ``logger``, ``message``, and
``error``/``traceback`` when an exception is logged). Streamlit's own loggers and the root
logger are left as they are. What would reach the line with a password (a storage URL with
credentials inside an error message) is masked as ``scheme://***@host``.

The database client's pool (``psycopg.pool``) warns on every failed reconnection attempt,
several lines per second while the server is down; the persistence layer says the same
once, in its own words (an outage, a recovery, a command's one-line error), so only the
pool's errors pass.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import traceback
from datetime import UTC, datetime
from typing import Final, TextIO

from persistence.settings import get_settings

LOGGER_NAME: Final = "persistence"
QUIETED: Final = ("psycopg.pool",)
_CREDENTIALS = re.compile(r"(\b[A-Za-z][A-Za-z0-9+.-]*://)[^\s/@]*@")


def mask_credentials(text: str) -> str:
    """``text`` with the user and password of every URL in it masked."""
    return _CREDENTIALS.sub(r"\1***@", text)


def _one_line(text: str) -> str:
    return " | ".join(line for line in text.splitlines() if line.strip())


def _error(record: logging.LogRecord) -> str | None:
    if not record.exc_info or record.exc_info[1] is None:
        return None
    error = record.exc_info[1]
    return f"{type(error).__name__}: {error}"


def _time(record: logging.LogRecord) -> str:
    moment = datetime.fromtimestamp(record.created, UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


class TextFormatter(logging.Formatter):
    """``time LEVEL logger: message [Error: detail]``, always one line."""

    def format(self, record: logging.LogRecord) -> str:
        line = f"{_time(record)} {record.levelname} {record.name}: {record.getMessage()}"
        error = _error(record)
        if error is not None:
            line += f" [{error}]"
        return mask_credentials(_one_line(line))


class JsonFormatter(logging.Formatter):
    """One JSON object per line; the traceback of a logged exception is one of its fields."""

    def format(self, record: logging.LogRecord) -> str:
        event: dict[str, str] = {
            "time": _time(record),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        error = _error(record)
        if error is not None and record.exc_info is not None:
            event["error"] = error
            event["traceback"] = "".join(traceback.format_exception(*record.exc_info))
        return mask_credentials(json.dumps(event, ensure_ascii=False))


FORMATTERS: Final = {"text": TextFormatter, "json": JsonFormatter}


class _Handler(logging.Handler):
    """The package's handler: writes to ``stream``, or to whatever ``sys.stderr`` is at the
    moment (a test runner swaps it); found again, and replaced, by ``configure_logging``."""

    def __init__(self, stream: TextIO | None) -> None:
        super().__init__()
        self._stream = stream

    def emit(self, record: logging.LogRecord) -> None:
        try:
            stream = sys.stderr if self._stream is None else self._stream
            stream.write(self.format(record) + "\n")
            stream.flush()
        except Exception:  # noqa: BLE001 - logging's own rule: a failing handler never raises
            self.handleError(record)


def configure_logging(level: int = logging.INFO, stream: TextIO | None = None) -> None:
    """Send the package's events at ``level`` and above to ``stream`` (stderr), one line
    each, in the configured ``log_format``. Calling it again replaces what it set."""
    logger = logging.getLogger(LOGGER_NAME)
    for handler in [h for h in logger.handlers if isinstance(h, _Handler)]:
        logger.removeHandler(handler)
    handler = _Handler(stream)
    handler.setFormatter(FORMATTERS[get_settings().log_format]())
    logger.addHandler(handler)
    logger.setLevel(level)
    logger.propagate = False  # the app's own root handlers, if any, would print it twice
    for name in QUIETED:
        logging.getLogger(name).setLevel(logging.ERROR)


def ensure_logging() -> None:
    """``configure_logging()`` unless the package's logging is configured already (the app
    calls it as its store opens; a command or a test may have configured it before)."""
    if not any(isinstance(h, _Handler) for h in logging.getLogger(LOGGER_NAME).handlers):
        configure_logging()
