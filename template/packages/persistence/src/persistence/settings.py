"""Run-time settings: the answers given to the template, overridable per deployment.

Precedence, highest first: environment variables (``PERSIST_STORAGE_URL`` ...), the
``[persistence]`` table of ``.streamlit/secrets.toml`` (read through ``st.secrets``), then
``defaults.toml`` beside this module, which the template rendered from your answers.
Credentials belong in the first two only: nothing rendered into a file holds one.
"""

from __future__ import annotations

import os
import sys
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from functools import cache
from pathlib import Path
from typing import Any

from persistence.backends import BACKENDS
from persistence.errors import ConfigurationError
from persistence.history import HistoryLimits

_DEFAULTS_FILE = Path(__file__).with_name("defaults.toml")


def default_storage_url(backend: str, folder: str | Path = "data") -> str:
    """The storage URL ``backend`` uses unless told otherwise: a folder of JSON files or a
    SQLite database file inside ``folder`` (relative to the project root, or absolute), or
    the local Redis or PostgreSQL server. The app, the tests and the benchmark all use it."""
    if backend not in BACKENDS:
        raise ConfigurationError(f"Unknown backend {backend!r}; use {_one_of(list(BACKENDS))}.")
    return BACKENDS[backend].url_in(folder)


def _one_of(names: list[str]) -> str:
    """``a, b, c or d``."""
    return " or ".join(filter(None, [", ".join(names[:-1]), names[-1]]))


def _is_project_root(folder: Path) -> bool:
    """Whether ``folder`` holds the project's ``pyproject.toml``: the uv workspace's root."""
    try:
        text = (folder / "pyproject.toml").read_text(encoding="utf-8")
        workspace = tomllib.loads(text).get("tool", {}).get("uv", {}).get("workspace")
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return False
    return isinstance(workspace, dict)


@cache
def project_root() -> Path:
    """The folder relative storage paths (``json:///data/processes``) resolve against.

    The nearest folder above this package whose ``pyproject.toml`` declares the uv workspace
    (the package is installed editable, as ``uv sync`` does, also in the Docker image), else
    the nearest such folder above the working directory (a non-editable install run from
    the project), else the working directory. So the app, ``persist`` and the scripts find
    the same ``data/`` folder wherever they are started from.
    """
    for start in (Path(__file__).resolve().parent, Path.cwd().resolve()):
        for folder in (start, *start.parents):
            if _is_project_root(folder):
                return folder
    return Path.cwd().resolve()


@dataclass(frozen=True, slots=True)
class Settings:
    backend: str
    storage_url: str
    retention_days: int
    key_prefix: str
    namespace: str
    ui_language: str
    process_scope: str
    max_process_bytes: int
    max_value_bytes: int
    app_title: str
    live_update_seconds: int
    history_entries: int = 50
    history_bytes: int = 4 * 2**20
    # False: the app runs with the binding off (nothing read or saved): what `make load`
    # compares persistence against. A deployment never needs it.
    enabled: bool = True
    # The app's /_persist/metrics route (Prometheus): off, it answers 404 and nothing counts.
    metrics: bool = False
    log_format: str = "text"  # or "json": one JSON object per line (persistence.logs)
    # The development sign-in of per-user projects: every session is this user, no OIDC
    # provider needed. Only from the environment, and only on a loopback address
    # (persistence.dev_login): never from a file, so nothing committed can turn it on.
    dev_user: str = ""

    @property
    def retention(self) -> timedelta:
        return timedelta(days=self.retention_days)

    @property
    def history(self) -> HistoryLimits:
        return HistoryLimits(self.history_entries, self.history_bytes, self.retention)


# What a deployment may change. The backend and the key prefix are fixed by the template
# answers: changing them at run time would strand the data already saved.
_ENV_NAMES = {
    "storage_url": "PERSIST_STORAGE_URL",
    "retention_days": "PERSIST_RETENTION_DAYS",
    "namespace": "PERSIST_NAMESPACE",
    "ui_language": "PERSIST_UI_LANGUAGE",
    "max_process_bytes": "PERSIST_MAX_PROCESS_BYTES",
    "max_value_bytes": "PERSIST_MAX_VALUE_BYTES",
    "process_scope": "PERSIST_PROCESS_SCOPE",
    "live_update_seconds": "PERSIST_LIVE_UPDATE_SECONDS",
    "history_entries": "PERSIST_HISTORY_ENTRIES",
    "history_bytes": "PERSIST_HISTORY_BYTES",
    "enabled": "PERSIST_ENABLED",
    "metrics": "PERSIST_METRICS",
    "log_format": "PERSIST_LOG_FORMAT",
}
DEV_USER_ENV = "PERSIST_DEV_USER"


def _secrets() -> Mapping[str, Any]:
    if "streamlit" not in sys.modules and not any(path.exists() for path in _secrets_files()):
        return {}  # the CLI and scripts start fast: importing Streamlit takes a second
    try:
        import streamlit as st

        section = st.secrets.get("persistence", {})
    except Exception:  # noqa: BLE001 - no secrets file, or one Streamlit cannot parse: use defaults
        return {}
    return section if isinstance(section, Mapping) else {}


def _secrets_files() -> tuple[Path, Path]:
    """Where ``st.secrets`` looks by default."""
    return Path.home() / ".streamlit" / "secrets.toml", Path.cwd() / ".streamlit" / "secrets.toml"


def _as_int(field: str, raw: object, low: int, high: int) -> int:
    try:
        value = int(str(raw))
    except ValueError:
        raise ConfigurationError(f"{field} must be a whole number, got {raw!r}.") from None
    if not low <= value <= high:
        raise ConfigurationError(f"{field} must be between {low} and {high}, got {value}.")
    return value


def _as_bool(field: str, raw: object) -> bool:
    if isinstance(raw, bool):
        return raw
    text = str(raw).strip().lower()
    if text not in {"true", "false", "1", "0", "yes", "no"}:
        raise ConfigurationError(f"{field} must be true or false, got {raw!r}.")
    return text in {"true", "1", "yes"}


def build_settings(defaults: Mapping[str, Any], overrides: Mapping[str, Any]) -> Settings:
    """Merge ``overrides`` onto ``defaults`` and validate the result."""
    merged = {**defaults, **{key: value for key, value in overrides.items() if value is not None}}
    backend = str(merged["backend"])
    language = str(merged["ui_language"])
    if language not in {"en", "ja"}:
        raise ConfigurationError(f"ui_language must be 'en' or 'ja', got {language!r}.")
    scope = str(merged["process_scope"])
    if scope not in {"shared", "per_user"}:
        raise ConfigurationError(f"process_scope must be 'shared' or 'per_user', got {scope!r}.")
    log_format = str(merged.get("log_format", "text")).strip().lower()
    if log_format not in {"text", "json"}:
        raise ConfigurationError(f"log_format must be 'text' or 'json', got {log_format!r}.")
    return Settings(
        backend=backend,
        storage_url=str(merged.get("storage_url") or default_storage_url(backend)),
        retention_days=_as_int("retention_days", merged["retention_days"], 1, 365 * 100),
        key_prefix=str(merged["key_prefix"]),
        namespace=str(merged["namespace"]),
        ui_language=language,
        process_scope=scope,
        max_process_bytes=_as_int("max_process_bytes", merged["max_process_bytes"], 1, 2**40),
        max_value_bytes=_as_int("max_value_bytes", merged["max_value_bytes"], 1, 2**40),
        app_title=str(merged["app_title"]),
        live_update_seconds=_as_int("live_update_seconds", merged["live_update_seconds"], 0, 3600),
        history_entries=_as_int("history_entries", merged.get("history_entries", 50), 0, 10_000),
        history_bytes=_as_int("history_bytes", merged.get("history_bytes", 4 * 2**20), 0, 2**40),
        enabled=_as_bool("enabled", merged.get("enabled", True)),
        metrics=_as_bool("metrics", merged.get("metrics", False)),
        log_format=log_format,
        dev_user=str(merged.get("dev_user") or "").strip(),
    )


@cache
def get_settings() -> Settings:
    """The settings of this server process (read once: every rerun is a hot path)."""
    defaults = tomllib.loads(_DEFAULTS_FILE.read_text(encoding="utf-8"))
    from_env = {field: os.environ.get(env) for field, env in _ENV_NAMES.items()}
    from_secrets = {k: v for k, v in _secrets().items() if k in _ENV_NAMES or k == "app_title"}
    return build_settings(
        defaults, {**from_secrets, **from_env, "dev_user": os.environ.get(DEV_USER_ENV)}
    )
