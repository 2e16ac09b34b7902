"""Streamlit wiring: one ``PersistentSession`` per browser session, on ``st.session_state``.

The session owns everything a process's life touches: the store call, the shared process
list, the ``?process=`` query parameter, the name limit and the sync engine
(``persistence.sync``) that keeps the prefixed keys in step with the open process. The UI
only draws and calls ``create``, ``open``, ``rename``, ``delete`` and ``close``.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import cache

import streamlit as st
from streamlit.errors import StreamlitAPIException
from streamlit.runtime.scriptrunner import get_script_run_ctx

from persistence.browser import StreamlitBrowser, keep_superseded_widget_states
from persistence.dev_login import development_user
from persistence.errors import LoginRequiredError, PersistenceError, StorageUnavailableError
from persistence.expiry import start_expiry
from persistence.history import Change, HistoryStore
from persistence.logs import ensure_logging
from persistence.metrics import server_metrics
from persistence.migrations import AppMigrations, MigratingStorage
from persistence.models import ProcessInfo, State
from persistence.names import check_name_length, validate_process_name
from persistence.settings import get_settings
from persistence.status import SaveStatus
from persistence.storage import StorageInterface, open_storage, utc_now
from persistence.storage.observed import ObservedStorage, StoreHealth
from persistence.storage.scoped import ScopedStorage
from persistence.sync import StateSync

SESSION_KEY = "_persistence_session"
QUERY_PARAM = "process"
GUEST_PREFIX = "guest:"  # an author who is not signed in: a tag of the browser session

_Revert = Callable[..., Change | None]  # HistoryStore.undo or HistoryStore.restore


class _Listing:
    """One reading of the process list and what was worked out from it (sessions read it
    from several threads, so a new reading is a new object, never a changed one)."""

    def __init__(self, processes: list[ProcessInfo]) -> None:
        self.processes = processes
        self.found: dict[tuple[str, int], tuple[list[ProcessInfo], int]] = {}
        self.folded: list[str] | None = None
        self.by_name: dict[str, ProcessInfo] | None = None


class ProcessCatalog:
    """The process list shared by every session of one server, re-read at most every ``ttl`` s.

    A search (``find``) is worked out once per query and listing, then shared: a rerun that
    draws the sidebar copies at most ``limit`` processes, however many there are.
    """

    _MAX_QUERIES = 64

    def __init__(self, store: StorageInterface, ttl: float = 2.0) -> None:
        self._store = store
        self._ttl = ttl
        self._listing = _Listing([])
        self._read_at = float("-inf")

    def _current(self) -> _Listing:
        if time.monotonic() - self._read_at > self._ttl:
            self._listing = _Listing(self._store.list_processes())
            self._read_at = time.monotonic()
        return self._listing

    def processes(self) -> list[ProcessInfo]:
        return self._current().processes

    def find(self, query: str, limit: int) -> tuple[list[ProcessInfo], int]:
        """The ``limit`` most recently updated processes whose name contains ``query``
        (ignoring case; every process when it is blank), and how many processes match."""
        listing = self._current()
        wanted = query.strip().casefold()
        found = listing.found.get((wanted, limit))
        if found is None:
            matches = listing.processes
            if wanted:
                if listing.folded is None:
                    listing.folded = [info.name.casefold() for info in matches]
                pairs = zip(matches, listing.folded, strict=True)
                matches = [info for info, name in pairs if wanted in name]
            found = (matches[:limit], len(matches))
            if len(listing.found) >= self._MAX_QUERIES:
                listing.found = {}
            listing.found[(wanted, limit)] = found
        return found

    def info(self, name: str) -> ProcessInfo | None:
        """``name``'s entry in the list, or ``None`` when it is not listed."""
        listing = self._current()
        if listing.by_name is None:
            listing.by_name = {info.name: info for info in listing.processes}
        return listing.by_name.get(name)

    def invalidate(self) -> None:
        self._read_at = float("-inf")


@st.cache_resource(show_spinner=False)
def server_storage() -> StorageInterface:
    """One store (and connection pool) per server process, shared by every session, and the
    thread that purges its expired processes at most once an hour (``persistence.expiry``):
    never part of a rerun. Its outages are logged and its saves counted
    (``persistence.storage.observed``); the server's logging is configured here, once."""
    ensure_logging()
    health = server_health()
    try:
        opened = open_storage()
    except StorageUnavailableError as error:  # the app says so; every rerun tries again
        health.unavailable(error)
        raise
    # Opened is not answered (a pool connects later): the first call that reaches it is.
    store = ObservedStorage(opened, health)
    start_expiry(store)
    return store


@cache
def server_health() -> StoreHealth:
    """Whether this server process's store answers (its outages are logged once each)."""
    return StoreHealth(get_settings().backend, server_metrics())


@st.cache_resource(show_spinner=False)
def storage_for(owner: str | None) -> tuple[StorageInterface, ProcessCatalog]:
    """The store a session works on (all processes, or one user's) and its process list."""
    store: StorageInterface = server_storage()
    if owner is not None:
        store = ScopedStorage(store, owner)
    return store, ProcessCatalog(store)


class PersistentSession:
    """One browser session's processes: which one is open, and its life from create to delete."""

    def __init__(
        self,
        store: StorageInterface,
        sync: StateSync,
        catalog: ProcessCatalog,
        *,
        owner: str | None = None,
    ) -> None:
        self.store = store  # the one ``sync`` works on: creates, renames and deletes go here
        self.sync = sync
        self.catalog = catalog
        self.owner = owner
        # Counts the runs that started on another page than the run before: a browser
        # unmounts a page's widgets when it leaves it, even when Streamlit then runs the
        # same page again (a link clicked while a grid sends an edit), so a widget that
        # keeps state of its own (the data editor) starts again in a new visit.
        self.page_visit = 0
        self._page: str | None = None
        # Whether this run drew the check of the browser's screen (``needs_screen_check``).
        self.screen_check_drawn = False
        self.ran_at = float("-inf")  # when the last full run began (time.monotonic)
        self._pending_edits: dict[str, Callable[[], None]] = {}

    @property
    def process(self) -> str | None:
        return self.sync.process

    @property
    def status(self) -> SaveStatus:
        return self.sync.status

    @property
    def has_unsaved_changes(self) -> bool:
        return self.sync.has_unsaved_changes

    def persisted_state(self) -> State:
        """The prefixed keys as they are in session state now."""
        return self.sync.persisted_state()

    def changed_elsewhere(self) -> bool:
        """Whether a colleague saved to the open process since this session last synced."""
        return self.sync.changed_elsewhere()

    def shows_unsaved_values(self) -> bool:
        """Whether the browser shows a value of the open process that no save has stored."""
        return self.sync.shows_unsaved_values()

    def needs_screen_check(self) -> bool:
        """Whether runs overlapped since the screen was last checked and no check is on it:
        a full run then draws one (the server's live-update watcher starts that run)."""
        sync = self.sync
        return sync.screen_unverified and not self.screen_check_drawn and not sync.in_run

    @property
    def max_name_length(self) -> int:
        """The longest process name this session's store takes."""
        return self.store.max_name_length

    def process_info(self, name: str) -> ProcessInfo | None:
        """``name`` as the process list has it (its last update), or ``None``."""
        return self.catalog.info(name)

    def processes(self) -> list[ProcessInfo]:
        """The processes this session may open, most recently updated first."""
        return self.catalog.processes()

    def find_processes(self, query: str, limit: int) -> tuple[list[ProcessInfo], int]:
        """At most ``limit`` of them whose name contains ``query``, most recent first, and how
        many match."""
        return self.catalog.find(query, limit)

    # -- a process's life
    def create(self, name: str) -> None:
        """Create ``name`` and open it; ``PersistenceError`` says why not."""
        name = self._valid_name(name)
        self.store.create_process(name)
        self.catalog.invalidate()
        self.open(name)

    def open(self, name: str) -> None:
        """Open ``name`` and mirror it in the URL, so a reload or a shared link reopens it."""
        self._switch_to(name)
        st.query_params[QUERY_PARAM] = name

    def _switch_to(self, name: str) -> None:
        with self.sync.lock:
            self._take_pending_edits()
            self.sync.open(name)

    def rename(self, new: str) -> None:
        """Rename the open process to ``new``, keeping its state."""
        old = self.process
        if old is None:
            return
        new = self._valid_name(new)
        self.store.rename_process(old, new)
        self.catalog.invalidate()
        self.open(new)

    def copy(self, new: str) -> str | None:
        """Copy the open process, as stored, under ``new`` and name the copy in the URL, so
        the next run opens it (this run's widgets are drawn: their keys cannot change now);
        return the copy's name. Called once the run has saved, the copy holds every edit
        the run brought."""
        source = self.process
        if source is None:
            return None
        new = self._valid_name(new)
        self.store.copy_process(source, new)
        self.catalog.invalidate()
        st.query_params[QUERY_PARAM] = new
        return new

    # -- its history
    @property
    def changes(self) -> list[Change]:
        """The open process's change entries, newest first."""
        return self.sync.history

    def undo(self, change_id: str) -> Change | None:
        """Put the keys change ``change_id`` wrote back to what they held before it: a
        change of its own, which this run merges as a colleague's (so do the other open
        sessions); ``None`` when there was nothing to change."""
        return self._revert(HistoryStore.undo, change_id)

    def restore(self, change_id: str) -> Change | None:
        """Make the open process as it was right after change ``change_id``."""
        return self._revert(HistoryStore.restore, change_id)

    def _revert(self, how: _Revert, change_id: str) -> Change | None:
        if self.process is None:
            return None
        history = HistoryStore(self.store, get_settings().history)
        change = how(history, self.process, change_id, by=self.sync.author, at=utc_now())
        if change is not None:
            self.sync.remember(change)
        return change

    def delete(self) -> str | None:
        """Delete the open process and close it; return its name."""
        name = self.process
        if name is not None:
            self.store.delete_process(name)
            self.catalog.invalidate()
            self.close()
        return name

    def close(self) -> None:
        self.sync.close()
        st.query_params.pop(QUERY_PARAM, None)

    def forget(self, key: str) -> None:
        """Delete ``key`` from session state and from the open process, on purpose."""
        self.sync.forget(key)

    # -- once per script run
    def begin_run(self) -> int:
        context = get_script_run_ctx()
        page = None if context is None else context.page_script_hash
        left_page = page != self._page
        if left_page:
            self._page = page
            self.page_visit += 1
        self.screen_check_drawn = False
        self.ran_at = time.monotonic()
        with self.sync.lock:
            if left_page:
                # A grid's edits that came with this request but not to its on_change (a
                # newer request stopped the run that had them inside its callbacks): the
                # grid will not draw to take them.
                self._take_pending_edits()
            self._follow_url()
            return self.sync.begin_run()

    def end_run(self, run: int) -> None:
        self.sync.end_run(run)

    def keep_pending_edits(self, widget: str, take: Callable[[], None]) -> None:
        """Have ``take`` put into session state, before another process opens, the edits
        ``widget`` (one with state of its own, such as the data editor) was sent with the
        request that opens it: they belong to the process they were made in."""
        self._pending_edits[widget] = take

    def _take_pending_edits(self) -> None:
        for take in list(self._pending_edits.values()):
            take()

    def _follow_url(self) -> None:
        wanted = st.query_params.get(QUERY_PARAM)
        if not wanted:
            if self.process is not None:  # page navigation drops query parameters
                st.query_params[QUERY_PARAM] = self.process
            return
        if wanted == self.process:
            return
        try:
            self._switch_to(wanted)
        except PersistenceError as error:
            self.status.error = error
            del st.query_params[QUERY_PARAM]

    def _valid_name(self, name: str) -> str:
        name = validate_process_name(name.strip())
        check_name_length(name, self.store.max_name_length)
        return name


def persisted(name: str) -> str:
    """The session-state key under which ``name`` is saved: ``persisted("owner")`` is
    ``"persist_owner"`` with the default prefix."""
    return get_settings().key_prefix + name


def signed_in_owner() -> str | None:
    """The identity processes are scoped to: ``None`` when everyone shares every process."""
    if get_settings().process_scope != "per_user":
        return None
    developer = development_user()  # PERSIST_DEV_USER, on a loopback address only
    if developer is not None:
        return developer
    user = st.user
    identity = (user.get("email") or user.get("sub")) if user.get("is_logged_in") else None
    if not identity:
        raise LoginRequiredError("Sign in to see your processes.")
    return str(identity)


def author_label() -> str:
    """Whom this session's change entries name: the signed-in user's e-mail (else name);
    without sign-in, ``guest:`` and a tag of the browser session, the same for its life."""
    user = st.user
    if user.get("is_logged_in"):
        identity = user.get("email") or user.get("name")
        if identity:
            return str(identity)
    context = get_script_run_ctx()
    session_id = "" if context is None else context.session_id
    return GUEST_PREFIX + hashlib.sha256(session_id.encode("utf-8")).hexdigest()[:6]


def get_session(migrations: AppMigrations | None = None) -> PersistentSession:
    """This browser session's ``PersistentSession``, created on first use (and again when
    a different user signs in within the same browser session). ``migrations``: the app's,
    applied to each process it opens (``persistent_app`` passes them)."""
    owner = signed_in_owner()
    session = st.session_state.get(SESSION_KEY)
    if isinstance(session, PersistentSession) and session.owner == owner:
        return session
    if isinstance(session, PersistentSession):
        session.close()  # another user: nothing of the previous one may stay on screen
    keep_superseded_widget_states()
    settings = get_settings()
    store, catalog = storage_for(owner)
    if migrations is not None:
        store = MigratingStorage(store, migrations)
    sync = StateSync(
        store,
        st.session_state,
        prefix=settings.key_prefix,
        max_bytes=settings.max_process_bytes,
        max_value_bytes=settings.max_value_bytes,
        browser=StreamlitBrowser(),
        refused=(StreamlitAPIException,),
        history=settings.history,
        author=author_label(),
    )
    session = PersistentSession(store, sync, catalog, owner=owner)
    st.session_state[SESSION_KEY] = session
    return session


@contextmanager
def persistent_run(migrations: AppMigrations | None = None) -> Iterator[PersistentSession]:
    """Wrap one script run: restore before the page draws, save after it ran (even on
    ``st.rerun``/``st.stop``, which end a run by raising)."""
    session = get_session(migrations)
    if not get_settings().enabled:
        # The binding off (`make load`'s baseline): the page draws the process the URL
        # names, and nothing is read or saved.
        session.sync.process = st.query_params.get(QUERY_PARAM) or None
        yield session
        return
    run = session.begin_run()
    try:
        yield session
    finally:
        session.end_run(run)
