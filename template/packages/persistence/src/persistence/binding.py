"""Binds prefixed ``st.session_state`` keys to a process in storage.

One ``PersistentSession`` lives in each browser session's state. Per script run:

* ``begin_run`` (top of the entrypoint): one cheap revision check; when another session
  wrote meanwhile, merge its keys in (what this session changed since the last save wins,
  being the later write); put back keys that Streamlit dropped with an unrendered widget.
* ``end_run`` (in a ``finally`` after the page ran): compare the prefixed keys with the
  last saved copy by content and write only the keys that changed. An unchanged rerun
  writes nothing.

A key missing from session state is never a deletion (Streamlit drops the keys of widgets
it did not render); ``forget`` deletes a key on purpose.
"""

from __future__ import annotations

import contextlib
import copy
import time
from collections.abc import Iterator, Mapping, MutableMapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import streamlit as st
from streamlit.errors import StreamlitAPIException

from persistence import codec
from persistence.errors import (
    CorruptProcessError,
    PersistenceError,
    ProcessNotFoundError,
    ProcessTooLargeError,
    StorageUnavailableError,
    UnstorableValueError,
)
from persistence.models import ProcessInfo, Revision, State
from persistence.settings import get_settings
from persistence.storage import StorageInterface, open_storage, utc_now
from persistence.storage.scoped import ScopedStorage

SESSION_KEY = "_persistence_session"
QUERY_PARAM = "process"
_MISSING: Any = object()


def _same(left: Any, right: Any) -> bool:
    return left is right or (type(left) is type(right) and left == right)


@dataclass
class SaveStatus:
    """What the sidebar tells the user about the active process."""

    saved_at: datetime | None = None
    unavailable: StorageUnavailableError | None = None
    error: PersistenceError | None = None
    gone: bool = False
    unstorable: dict[str, UnstorableValueError] = field(default_factory=dict)


class PersistentSession:
    """The persisted part of one session's state, kept in step with one process."""

    def __init__(
        self,
        store: StorageInterface,
        state: MutableMapping[Any, Any],
        *,
        prefix: str,
        max_bytes: int,
        owner: str | None = None,
    ) -> None:
        self.store = store
        self.state = state
        self.prefix = prefix
        self.max_bytes = max_bytes
        self.process: str | None = None
        self.owner = owner
        self.status = SaveStatus()
        self._revision: Revision | None = None
        self._unsaved = False
        self._storage_down = False
        self._synced: State = {}
        self._sizes: dict[str, int] = {}
        self._rejected: dict[str, Any] = {}

    # -- choosing the process
    def open(self, name: str) -> None:
        """Make ``name`` the active process and put its saved keys into session state.

        Raises ``ProcessNotFoundError``, ``CorruptProcessError`` or ``StorageUnavailableError``
        and then leaves the current process as it was.
        """
        snapshot = self.store.read_process(name)
        if snapshot is None:
            raise ProcessNotFoundError(name)
        self._switch_to(name, snapshot.revision, snapshot.updated_at)
        for key, value in snapshot.state.items():
            self._accept(key, value)
            self._assign(key, value)

    def close(self) -> None:
        """Leave the active process (after it was deleted, say)."""
        self._switch_to(None, None, None)

    def forget(self, key: str) -> None:
        """Delete ``key`` from session state and from the active process."""
        self.state.pop(key, None)
        if self.process is not None and key in self._synced:
            self._adopt(self.store.update_process(self.process, {}, removed=[key]))
            del self._synced[key]
            self._sizes.pop(key, None)

    # -- once per rerun
    def begin_run(self) -> None:
        if self.process is None or self.status.gone:
            return
        try:
            revision = self.store.process_revision(self.process)
            self.status.unavailable = None
            self._storage_down = False
            if revision is None:
                self.status.gone = True
                return
            if revision != self._revision:
                self._merge_remote()
        except StorageUnavailableError as error:
            self.status.unavailable = error
            self._storage_down = True  # this run's save would only wait for the same timeout
        except CorruptProcessError as error:
            self.status.error = error
            self.status.gone = True
        self._restore_dropped_keys(self._current())

    def end_run(self) -> None:
        if self.process is None or self.status.gone:
            return
        changed = self._changed_keys(self._current())
        encoded = self._encode(changed)
        self._unsaved = bool(encoded)
        if not encoded or self._storage_down:
            return
        try:
            self._check_size(encoded)
            revision = self.store.update_process(self.process, {k: changed[k] for k in encoded})
        except ProcessNotFoundError:
            self.status.gone = True
            return
        except StorageUnavailableError as error:
            self.status.unavailable = error
            return
        except ProcessTooLargeError as error:
            self.status.error = error
            return
        self._adopt(revision)
        for key in encoded:
            self._accept(key, changed[key], len(encoded[key]))
        self._unsaved = False
        self.status.unavailable = self.status.error = None
        self.status.saved_at = utc_now()

    def persisted_state(self) -> State:
        """The prefixed keys as they are in session state now."""
        prefix = self.prefix
        return {k: v for k, v in self.state.items() if isinstance(k, str) and k.startswith(prefix)}

    @property
    def has_unsaved_changes(self) -> bool:
        """Whether the last ``end_run`` left changes unwritten (storage down, too large ...)."""
        return self.process is not None and self._unsaved

    # -- internals
    def _switch_to(
        self, process: str | None, revision: Revision | None, saved_at: datetime | None
    ) -> None:
        self._drop_local_keys()
        self.process = process
        self.status = SaveStatus(saved_at=saved_at)
        self._revision = revision
        self._unsaved = self._storage_down = False
        self._synced, self._sizes, self._rejected = {}, {}, {}

    def _adopt(self, revision: Revision) -> None:
        """Take the revision of our own write only when it directly follows the one we know:
        otherwise another session wrote in between, and the next ``begin_run`` merges it."""
        if self._revision is not None and revision == self._revision + 1:
            self._revision = revision

    def _assign(self, key: str, value: Any) -> None:
        # Buttons, uploaders and data editors refuse assignment: they are skipped.
        with contextlib.suppress(StreamlitAPIException):
            self.state[key] = copy.deepcopy(value)

    def _accept(self, key: str, value: Any, size: int | None = None) -> None:
        """Record ``value`` as what storage holds for ``key``."""
        self._synced[key] = copy.deepcopy(value)
        self._sizes[key] = size if size is not None else len(codec.encode(key, value))

    def _drop_local_keys(self) -> None:
        for key in self.persisted_state():
            del self.state[key]

    def _current(self) -> Mapping[Any, Any]:
        """Session state as one plain dict: every ``SessionStateProxy`` lookup takes a lock
        and resolves widget ids, so one ``to_dict`` beats fifty lookups on the hot path."""
        to_dict = getattr(self.state, "to_dict", None)
        return to_dict() if callable(to_dict) else self.state

    def _restore_dropped_keys(self, current: Mapping[Any, Any]) -> None:
        for key, value in self._synced.items():
            if key not in current:
                self._assign(key, value)

    def _changed_keys(self, current: Mapping[Any, Any]) -> State:
        synced, rejected = self._synced, self._rejected
        changed: State = {}
        for key, value in current.items():
            if (
                key.startswith(self.prefix)
                and not _same(value, synced.get(key, _MISSING))
                and rejected.get(key, _MISSING) is not value
            ):
                changed[key] = value
        return changed

    def _encode(self, changed: State) -> dict[str, str]:
        encoded: dict[str, str] = {}
        for key, value in changed.items():
            try:
                encoded[key] = codec.encode(key, value)
            except UnstorableValueError as error:
                self._rejected[key] = value
                self.status.unstorable[key] = error
            else:
                self._rejected.pop(key, None)
                self.status.unstorable.pop(key, None)
        return encoded

    def _check_size(self, encoded: dict[str, str]) -> None:
        sizes = {**self._sizes, **{key: len(text) for key, text in encoded.items()}}
        total = sum(sizes.values())
        if total > self.max_bytes:
            biggest = sorted(sizes.items(), key=lambda item: item[1], reverse=True)[:3]
            raise ProcessTooLargeError(total, self.max_bytes, biggest)

    def _merge_remote(self) -> None:
        assert self.process is not None
        snapshot = self.store.read_process(self.process)
        if snapshot is None:
            self.status.gone = True
            return
        state, synced = self.state, self._synced
        for key, remote in snapshot.state.items():
            known = synced.get(key, _MISSING)
            if _same(remote, known):
                continue
            local = state.get(key, _MISSING)
            if local is _MISSING or _same(local, known):
                self._assign(key, remote)
            self._accept(key, remote)
        for key in [key for key in synced if key not in snapshot.state]:
            if _same(state.get(key, _MISSING), synced[key]):
                state.pop(key, None)
            del synced[key]
            self._sizes.pop(key, None)
        self._revision = snapshot.revision


# -- Streamlit wiring --------------------------------------------------------------------


class ProcessCatalog:
    """The process list shared by every session of one server, re-read at most every ``ttl`` s."""

    def __init__(self, store: StorageInterface, ttl: float = 2.0) -> None:
        self._store = store
        self._ttl = ttl
        self._listed: list[ProcessInfo] = []
        self._read_at = float("-inf")

    def processes(self) -> list[ProcessInfo]:
        if time.monotonic() - self._read_at > self._ttl:
            self._listed = self._store.list_processes()
            self._read_at = time.monotonic()
        return self._listed

    def invalidate(self) -> None:
        self._read_at = float("-inf")


@st.cache_resource(show_spinner=False)
def server_storage() -> StorageInterface:
    """One store (and connection pool) per server process, shared by every session."""
    return open_storage()


@st.cache_resource(show_spinner=False)
def storage_for(owner: str | None) -> tuple[StorageInterface, ProcessCatalog]:
    """The store a session works on (all processes, or one user's) and its process list."""
    store: StorageInterface = server_storage()
    if owner is not None:
        store = ScopedStorage(store, owner)
    return store, ProcessCatalog(store)


def persisted(name: str) -> str:
    """The session-state key under which ``name`` is saved: ``persisted("owner")`` is
    ``"persist_owner"`` with the default prefix."""
    return get_settings().key_prefix + name


class LoginRequiredError(PersistenceError):
    """``process_scope = "per_user"`` and nobody is signed in: no process may be read."""


def signed_in_owner() -> str | None:
    """The identity processes are scoped to: ``None`` when everyone shares every process."""
    if get_settings().process_scope != "per_user":
        return None
    user = st.user
    identity = (user.get("email") or user.get("sub")) if user.get("is_logged_in") else None
    if not identity:
        raise LoginRequiredError("Sign in to see your processes.")
    return str(identity)


def get_session() -> PersistentSession:
    """This browser session's ``PersistentSession``, created on first use (and again when
    a different user signs in within the same browser session)."""
    owner = signed_in_owner()
    session = st.session_state.get(SESSION_KEY)
    if isinstance(session, PersistentSession) and session.owner == owner:
        return session
    if isinstance(session, PersistentSession):
        session.close()  # another user: nothing of the previous one may stay on screen
    settings = get_settings()
    store, _ = storage_for(owner)
    session = PersistentSession(
        store,
        st.session_state,
        prefix=settings.key_prefix,
        max_bytes=settings.max_process_bytes,
        owner=owner,
    )
    st.session_state[SESSION_KEY] = session
    return session


def open_process(session: PersistentSession, name: str) -> None:
    """Open ``name`` and mirror it in the URL so a reload or a shared link reopens it."""
    session.open(name)
    st.query_params[QUERY_PARAM] = name


def _follow_url(session: PersistentSession) -> None:
    wanted = st.query_params.get(QUERY_PARAM)
    if not wanted:
        if session.process is not None:  # page navigation drops query parameters
            st.query_params[QUERY_PARAM] = session.process
        return
    if wanted == session.process:
        return
    try:
        session.open(wanted)
    except PersistenceError as error:
        session.status.error = error
        del st.query_params[QUERY_PARAM]


@contextmanager
def persistent_run() -> Iterator[PersistentSession]:
    """Wrap one script run: restore before the page draws, save after it ran (even on
    ``st.rerun``/``st.stop``, which end a run by raising)."""
    session = get_session()
    _follow_url(session)
    session.begin_run()
    try:
        yield session
    finally:
        session.end_run()
