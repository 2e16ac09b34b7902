"""``process_scope = "per_user"``: a user can never list, open, change or delete another
user's process, not even by typing its name into the URL."""

from __future__ import annotations

import dataclasses
import importlib.util
from collections.abc import Iterator, Mapping

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from persistence.settings import get_settings
from persistence.ui.login import PROVIDER_AUTH_KEYS, SHARED_AUTH_KEYS
from persistence.ui.strings import t
from tests.app_driver import MAIN_APP, REPORT, create, key, start, visit
from tests.conftest import FakeClock, StoreFactory

HAS_AUTHLIB = importlib.util.find_spec("authlib") is not None
AUTH = {key: f"test-{key}" for key in (*SHARED_AUTH_KEYS, *PROVIDER_AUTH_KEYS)}

ALICE, BOB = "alice@example.com", "bob@example.com"


@pytest.fixture
def per_user(app_storage: StoreFactory, monkeypatch: pytest.MonkeyPatch) -> Iterator[StoreFactory]:
    monkeypatch.setenv("PERSIST_PROCESS_SCOPE", "per_user")
    get_settings.cache_clear()
    st.cache_resource.clear()
    yield app_storage
    get_settings.cache_clear()


@pytest.fixture
def alice_has_a_process(per_user: StoreFactory) -> StoreFactory:
    at = create(start(user=ALICE), "Q1 report")
    visit(at, REPORT)
    at.text_input(key=key("owner")).input("alice's secret").run()
    return per_user


def anonymous_visit(auth: Mapping[str, object] | None) -> AppTest:
    at = AppTest.from_file(MAIN_APP, default_timeout=60)
    if auth is not None:
        at.secrets["auth"] = auth
    at.run()
    assert not at.exception, at.exception
    assert not at.selectbox, "no process list before sign-in"
    return at


@pytest.mark.skipif(not HAS_AUTHLIB, reason="sign-in needs Authlib (per_user projects have it)")
def test_an_anonymous_visitor_only_sees_a_login_button(per_user: StoreFactory) -> None:
    assert anonymous_visit(AUTH).button(key="login")


@pytest.mark.skipif(not HAS_AUTHLIB, reason="sign-in needs Authlib (per_user projects have it)")
def test_without_sign_in_configured_the_page_says_what_to_add(per_user: StoreFactory) -> None:
    at = anonymous_visit({"redirect_uri": AUTH["redirect_uri"]})
    assert not at.button, "no login button that can only fail"
    missing = "cookie_secret, client_id, client_secret, server_metadata_url"
    assert [e.value for e in at.error] == [t("login.not_configured", missing=missing)]
    assert "[auth]" in at.code[0].value


def test_a_provider_table_counts_as_configured(per_user: StoreFactory) -> None:
    from persistence.ui.login import missing_auth_settings

    provider = {key: AUTH[key] for key in PROVIDER_AUTH_KEYS}
    shared = {key: AUTH[key] for key in SHARED_AUTH_KEYS}
    assert missing_auth_settings({**shared, "google": provider}) == []
    assert missing_auth_settings(shared) == list(PROVIDER_AUTH_KEYS)


@pytest.mark.skipif(HAS_AUTHLIB, reason="this project has Authlib")
def test_a_shared_project_switched_to_per_user_says_it_needs_authlib(
    per_user: StoreFactory,
) -> None:
    at = anonymous_visit(AUTH)
    assert not at.button
    assert [e.value for e in at.error] == [t("login.no_authlib")]


def test_each_user_lists_only_their_own_processes(alice_has_a_process: StoreFactory) -> None:
    assert start(user=BOB).selectbox(key="active_process").options == []
    options = start(user=ALICE).selectbox(key="active_process").options
    assert [option.split(" · ")[0] for option in options] == ["Q1 report"]


def test_a_link_to_another_users_process_opens_nothing(alice_has_a_process: StoreFactory) -> None:
    at = start("Q1 report", user=BOB)
    visit(at, REPORT)
    assert at.selectbox(key="active_process").value is None
    assert all("alice's secret" not in str(element.value) for element in at.text_input)


def test_the_same_name_is_a_different_process_per_user(alice_has_a_process: StoreFactory) -> None:
    at = create(start(user=BOB), "Q1 report")
    visit(at, REPORT)
    assert at.text_input(key=key("owner")).value == ""
    at.text_input(key=key("owner")).input("bob's").run()
    at.sidebar.button(key="delete_process").click().run()
    at.sidebar.button(key="confirm_delete_process").click().run()
    alice = start("Q1 report", user=ALICE)
    visit(alice, REPORT)
    assert alice.text_input(key=key("owner")).value == "alice's secret"


# The storage contract also runs on per-user views (tests/test_storage_contract.py); what
# follows is what only they promise.


def test_per_user_views_of_one_store_never_meet(make_store: StoreFactory, clock: FakeClock) -> None:
    alice = dataclasses.replace(make_store, owner=ALICE)(clock)
    bob = dataclasses.replace(make_store, owner=BOB)(clock)
    alice.save_process("same name", {"persist_owner": "alice"})
    assert bob.load_process("same name") is None
    assert not bob.process_exists("same name")
    assert bob.list_processes() == []
    assert not bob.delete_process("same name")
    bob.save_process("same name", {"persist_owner": "bob"})
    assert alice.load_process("same name") == {"persist_owner": "alice"}
    assert [info.name for info in alice.list_processes()] == ["same name"]


def test_a_per_user_view_leaves_purging_to_the_operator(
    make_store: StoreFactory, clock: FakeClock
) -> None:
    view = dataclasses.replace(make_store, owner=ALICE)(clock)
    view.create_process("old")
    clock.advance(days=8)
    assert view.purge_expired() == []  # one user never deletes everybody's expired processes
    assert len(make_store(clock).purge_expired()) == 1  # `persist purge` sees the whole store
    assert view.load_process("old") is None


# The development sign-in (PERSIST_DEV_USER): one fixed user, no provider, this machine only.


@pytest.fixture
def developer(per_user: StoreFactory, monkeypatch: pytest.MonkeyPatch) -> Iterator[StoreFactory]:
    from streamlit import config

    monkeypatch.setenv("PERSIST_DEV_USER", ALICE)
    get_settings.cache_clear()
    address = config.get_option("server.address")
    yield per_user
    config.set_option("server.address", address)


@pytest.mark.slow
def test_the_development_sign_in_is_a_fixed_user_on_a_loopback_server(
    developer: StoreFactory,
) -> None:
    from streamlit import config

    config.set_option("server.address", "127.0.0.1")
    at = create(start(), "dev report")  # no st.user, no [auth]: signed in all the same
    assert not at.exception, at.exception
    assert [c.value for c in at.sidebar.caption if ALICE in c.value] == [
        t("login.dev_user", user=ALICE)
    ]
    alice = dataclasses.replace(developer, owner=ALICE)()
    assert [info.name for info in alice.list_processes()] == ["dev report"]


@pytest.mark.slow
def test_the_development_sign_in_refuses_a_server_others_can_reach(
    developer: StoreFactory,
) -> None:
    from streamlit import config

    config.set_option("server.address", "0.0.0.0")  # what the image listens on
    at = AppTest.from_file(MAIN_APP, default_timeout=60)
    at.run()
    assert not at.exception, at.exception
    assert not at.selectbox, "no process list"
    (refusal,) = (e.value for e in at.error)
    assert "refuses to start" in refusal and "PERSIST_DEV_USER" in refusal


def test_the_development_sign_in_is_never_on_in_the_image_or_compose() -> None:
    """The image, compose and Kubernetes never set PERSIST_DEV_USER, and listen on every
    address, where the development sign-in refuses to start."""
    from tests.conftest import PROJECT_ROOT

    deployed = [PROJECT_ROOT / "Dockerfile", PROJECT_ROOT / "compose.yaml"]
    deployed += sorted((PROJECT_ROOT / "deploy").rglob("*.yaml"))
    for path in deployed:
        assert "PERSIST_DEV_USER" not in path.read_text(encoding="utf-8"), path
    assert "--server.address=0.0.0.0" in (PROJECT_ROOT / "Dockerfile").read_text(encoding="utf-8")
