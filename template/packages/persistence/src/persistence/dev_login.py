"""The development sign-in of per-user projects: run the app on a laptop before any OpenID
Connect provider is set up.

``PERSIST_DEV_USER=you@example.com`` (the environment only: no file can turn it on) signs
every session of the server in as that user. It refuses to start, with a page that says why,
unless the server listens on a loopback address only (``--server.address 127.0.0.1``):
then nobody but this machine can reach a server where everyone is the same user. The image,
compose and the Kubernetes manifests listen on every address and never set the variable.
"""

from __future__ import annotations

from functools import cache

from persistence.errors import ConfigurationError
from persistence.settings import DEV_USER_ENV, get_settings

LOOPBACK_ADDRESSES = frozenset({"127.0.0.1", "localhost", "::1"})
RUN_LOCALLY = "uv run streamlit run apps/main/app.py --server.address 127.0.0.1"


@cache
def _checked(user: str, address: str) -> str:
    if address not in LOOPBACK_ADDRESSES:
        listens = f"on {address}" if address else "on every address"
        raise ConfigurationError(
            f"The development sign-in ({DEV_USER_ENV}) refuses to start: this server listens "
            f"{listens}, so others could use it as {user}. Start it on this machine only "
            f"({DEV_USER_ENV}={user} {RUN_LOCALLY}), or unset {DEV_USER_ENV} and configure "
            "[auth] in .streamlit/secrets.toml."
        )
    return user


def development_user() -> str | None:
    """The user every session is signed in as, or ``None`` when the development sign-in is
    off; ``ConfigurationError`` when it is asked for on a server others can reach."""
    user = get_settings().dev_user
    if not user:
        return None
    from streamlit import config

    return _checked(user, str(config.get_option("server.address") or ""))
