"""The sign-in gate of per-user processes: a login button once ``st.login`` can work, and
otherwise a page that says exactly what to configure (never a traceback)."""

from __future__ import annotations

import importlib.util
from collections.abc import Mapping
from typing import Any

import streamlit as st
from streamlit.errors import StreamlitAPIException

from persistence.binding import signed_in_owner
from persistence.errors import ConfigurationError, LoginRequiredError
from persistence.settings import get_settings
from persistence.ui.strings import t

# What st.login needs in the [auth] table of .streamlit/secrets.toml (the provider's three
# may also sit in a sub-table such as [auth.google]).
SHARED_AUTH_KEYS = ("redirect_uri", "cookie_secret")
PROVIDER_AUTH_KEYS = ("client_id", "client_secret", "server_metadata_url")
AUTH_EXAMPLE = """[auth]
redirect_uri = "http://localhost:8501/oauth2callback"
cookie_secret = "a-long-random-string"
client_id = "..."
client_secret = "..."
server_metadata_url = "https://accounts.google.com/.well-known/openid-configuration"
"""
_FAILED = "_login_failed"


def _auth_table() -> Mapping[str, Any]:
    try:
        auth = st.secrets.get("auth", {})
    except (FileNotFoundError, StreamlitAPIException):  # no secrets file, or not TOML
        return {}
    return auth if isinstance(auth, Mapping) else {}


def missing_auth_settings(auth: Mapping[str, Any]) -> list[str]:
    """The keys ``st.login`` still needs in ``[auth]``; empty when sign-in can work."""
    missing = [key for key in SHARED_AUTH_KEYS if not auth.get(key)]
    providers = [auth, *(value for value in auth.values() if isinstance(value, Mapping))]
    if not any(all(provider.get(key) for key in PROVIDER_AUTH_KEYS) for provider in providers):
        missing += [key for key in PROVIDER_AUTH_KEYS if not auth.get(key)]
    return missing


def _log_in() -> None:
    try:
        st.login()
    except StreamlitAPIException as error:  # StreamlitAuthError and kin: say it, in words
        st.session_state[_FAILED] = str(error)


def require_login() -> None:
    """With per-user processes, stop at the sign-in gate until the user is known."""
    try:
        owner = signed_in_owner()
    except LoginRequiredError:
        st.title(get_settings().app_title)
        _gate()
        st.stop()
    except ConfigurationError as error:  # the development sign-in refused to start
        st.title(get_settings().app_title)
        st.error(str(error))
        st.stop()
    if owner is not None and owner == get_settings().dev_user:
        st.sidebar.caption(t("login.dev_user", user=owner))


def _gate() -> None:
    if importlib.util.find_spec("authlib") is None:
        st.error(t("login.no_authlib"))
        st.code("uv add --package " + _package_name() + " Authlib", language="sh")
        return
    missing = missing_auth_settings(_auth_table())
    if missing:
        st.error(t("login.not_configured", missing=", ".join(missing)))
        st.code(AUTH_EXAMPLE, language="toml")
        return
    if failed := st.session_state.pop(_FAILED, None):
        st.error(t("login.failed", detail=failed))
    st.info(t("login.intro"))
    st.button(t("login.button"), key="login", type="primary", on_click=_log_in)


def _package_name() -> str:
    from importlib.metadata import packages_distributions

    return next(iter(packages_distributions().get("persistence", [])), "persistence")
