"""The process sidebar: pick, rename, duplicate and delete processes, and see whether work
is saved."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime

import streamlit as st
from streamlit.delta_generator import DeltaGenerator

from persistence.binding import GUEST_PREFIX, PersistentSession, get_session, persistent_run
from persistence.errors import PersistenceError, StorageUnavailableError
from persistence.history import Change
from persistence.live import watch
from persistence.migrations import AppMigrations
from persistence.settings import get_settings
from persistence.ui.login import require_login
from persistence.ui.strings import describe, t

SELECTOR_KEY = "active_process"
SEARCH_KEY = "process_search"
RENAME_KEY = "rename_process_name"
COPY_KEY = "copy_process_name"
HISTORY_KEY = "show_history"
# The history lists this many of the open process's latest changes.
SHOWN_CHANGES = 10
SHOWN_ARRIVALS = 3  # the colleagues' changes the status names at once
# The selector offers this many processes, most recently updated first; with more, a search
# box finds the others. Each rerun sends the options to the browser: keep them few.
SHOWN_PROCESSES = 50
_CONFIRM_DELETE = "_confirm_delete_process"
_COPY_TO = "_copy_process_to"  # the copy's name, asked for in a callback, made after the save
_ERROR = "_process_error"


def short_time(moment: datetime) -> str:
    """``moment`` in the server's local time, compact enough for a sidebar."""
    return moment.astimezone().strftime("%Y-%m-%d %H:%M")


def report_error(error: PersistenceError, slot: str = _ERROR) -> None:
    """Keep ``error`` for ``show_error(slot)`` on the next render: callbacks draw nothing useful."""
    st.session_state[slot] = describe(error)


def show_error(slot: str = _ERROR) -> None:
    if message := st.session_state.pop(slot, None):
        st.error(message)


def _on_select(session: PersistentSession) -> None:
    name = st.session_state.get(SELECTOR_KEY)
    if not name or name == session.process:
        return
    try:
        session.open(name)
    except PersistenceError as error:
        report_error(error)
        st.session_state[SELECTOR_KEY] = session.process


def _on_rename(session: PersistentSession) -> None:
    try:
        session.rename(str(st.session_state.get(RENAME_KEY, "")))
    except PersistenceError as error:
        report_error(error)
        return
    st.session_state[RENAME_KEY] = ""
    st.session_state[SELECTOR_KEY] = session.process
    st.toast(t("toast.renamed", name=session.process))


def _on_copy(session: PersistentSession) -> None:
    typed = str(st.session_state.get(COPY_KEY, "")).strip()
    st.session_state[_COPY_TO] = typed or t("sidebar.copy_default", name=session.process)
    st.session_state[COPY_KEY] = ""


def _copy_when_asked(session: PersistentSession) -> None:
    """Make the copy asked for in this run, now that the run has saved (so the copy holds
    the edit sent with the click), and rerun: the next run opens the copy, or says why
    there is none."""
    target = st.session_state.pop(_COPY_TO, None)
    if target is None:
        return
    try:
        name = session.copy(target)
    except PersistenceError as error:
        report_error(error)
    else:
        if name is not None:
            st.toast(t("toast.copied", name=name))
    st.rerun()


def _on_revert(session: PersistentSession, kind: str, change_id: str) -> None:
    try:
        change = session.undo(change_id) if kind == "undo" else session.restore(change_id)
    except PersistenceError as error:
        report_error(error)
        return
    st.toast(t(f"toast.{kind}" if change is not None else "toast.unchanged"))


def describe_change(change: Change, prefix: str) -> str:
    """``change`` in one line for the sidebar: time, who, what, in the UI language."""
    what = t(f"history.{change.kind}", keys=key_names(change, prefix))
    return t("history.entry", time=short_time(change.at), who=author_name(change.by), what=what)


def key_names(change: Change, prefix: str) -> str:
    """The keys ``change`` wrote, as the app names them (without the prefix)."""
    return ", ".join(key.removeprefix(prefix) for key in change.keys)


def author_name(author: str) -> str:
    """Whom a change entry names, for the UI: an e-mail as it is, a guest in words."""
    if author.startswith(GUEST_PREFIX):
        return t("history.guest", tag=author.removeprefix(GUEST_PREFIX))
    return author


def _history(session: PersistentSession) -> None:
    """The open process's latest changes, newest first, each with its undo and restore.
    Behind a toggle: a closed one is the only widget it adds to a rerun."""
    if not st.toggle(t("sidebar.history"), key=HISTORY_KEY):
        return
    changes = session.changes[:SHOWN_CHANGES]
    if not changes:
        st.caption(t("history.none"))
    prefix = get_settings().key_prefix
    for change in changes:
        st.caption(describe_change(change, prefix))
        left, right = st.columns(2)
        for column, kind in ((left, "undo"), (right, "restore")):
            column.button(
                t(f"history.{kind}_button"),
                key=f"{kind}_change_{change.id}",
                on_click=_on_revert,
                args=(session, kind, change.id),
            )


def _on_delete(session: PersistentSession) -> None:
    st.session_state[_CONFIRM_DELETE] = False
    try:
        name = session.delete()
    except PersistenceError as error:
        report_error(error)
        return
    if name is not None:
        st.session_state[SELECTOR_KEY] = None
        st.toast(t("toast.deleted", name=name))


def _status_line(session: PersistentSession) -> None:
    status = session.status
    if status.gone and session.process is not None:
        st.error(describe(status.error) if status.error else t("status.gone"))
    elif status.unavailable:
        st.warning(t("status.unavailable", detail=status.unavailable.detail))
    elif status.error:
        st.error(describe(status.error))
    elif session.has_unsaved_changes:
        st.caption(t("status.unsaved"))
    elif status.saved_at is not None:
        st.caption(t("status.saved", time=status.saved_at.astimezone().strftime("%H:%M:%S")))
    prefix = get_settings().key_prefix
    for change in status.changed_by[:SHOWN_ARRIVALS]:
        when = change.at.astimezone().strftime("%H:%M:%S")
        who = author_name(change.by)
        st.caption(t("status.changed_by", who=who, keys=key_names(change, prefix), time=when))
    if status.changed_elsewhere_at is not None and not status.changed_by:
        when = status.changed_elsewhere_at.astimezone().strftime("%H:%M:%S")
        st.caption(t("status.changed_elsewhere", time=when))
    for key, change in status.overwritten.items():
        name = key.removeprefix(prefix)
        st.warning(t("status.overwritten", who=author_name(change.by), name=name))
    for error in status.unstorable.values():
        st.warning(t("status.unstorable", detail=describe(error)))
    for key in status.misfit:
        st.warning(t("status.misfit", name=key))


@contextmanager
def persistent_app(migrations: AppMigrations | None = None) -> Iterator[PersistentSession]:
    """Run one script run of a persistent app: restore, draw the sidebar, run the page,
    save, then show the save status (after the save, so it is never one run behind).

    ``migrations`` (``load_migrations(<the app's folder>)``) migrate each process of this
    app's when it is opened (``persistence.migrations``)."""
    require_login()
    if not get_settings().enabled:  # the binding off: the page alone, no sidebar
        with persistent_run() as session:
            yield session
        return
    _require_storage(migrations)
    status_slot: DeltaGenerator | None = None
    try:
        with persistent_run(migrations) as session:
            status_slot = process_sidebar(session)
            _watch_for_changes(session)
            yield session
        _copy_when_asked(session)
    finally:
        if status_slot is not None:
            with status_slot:
                _status_line(session)


def _watch_for_changes(session: PersistentSession) -> None:
    """Live updates every ``live_update_seconds``: the server's watcher (``persistence.live``)
    reads the open process's revision once for all the tabs that show it and starts a full
    run where a colleague saved (the run merges their keys; a half-typed, uncommitted text
    stays: only the keys that changed are put into the widgets). After runs overlapped, a
    fragment also checks what the browser shows until it finds it saved (a committed value
    that no save stored: the full run it starts saves it). Where the server's watcher cannot
    work, that fragment does both, in every tab."""
    seconds = get_settings().live_update_seconds
    if seconds <= 0 or session.process is None:
        return
    watched = watch(session, seconds)
    if not watched or session.sync.screen_unverified:
        session.screen_check_drawn = True
        with st.sidebar:
            st.fragment(_check_screen, run_every=seconds)(session, watched)


def _check_screen(session: PersistentSession, watched: bool) -> None:
    """A full run saves an edit on screen that no save stored; without the server's watcher
    it also merges a colleague's save. Once the screen is found saved, the full run drops
    this fragment, and with it the browser's timer."""
    if not watched and session.changed_elsewhere():
        st.rerun(scope="app")
    if session.shows_unsaved_values() or (watched and not session.sync.screen_unverified):
        st.rerun(scope="app")


def _require_storage(migrations: AppMigrations | None) -> None:
    """A storage URL that cannot work (unknown scheme, unwritable folder, newer schema) stops
    the app with its message instead of a traceback; every rerun tries again."""
    try:
        get_session(migrations)
    except PersistenceError as error:
        st.title(get_settings().app_title)
        st.error(describe(error))
        st.stop()


def process_sidebar(session: PersistentSession) -> DeltaGenerator:
    """Draw the sidebar; return the slot where the save status goes."""
    with st.sidebar:
        st.header(t("sidebar.title"))
        show_error()
        try:
            total = len(session.processes())
            query = ""
            if total > SHOWN_PROCESSES:
                query = st.text_input(
                    t("sidebar.search"), key=SEARCH_KEY, placeholder=t("sidebar.search_hint")
                )
            shown, matching = session.find_processes(query, SHOWN_PROCESSES)
            current = None if session.process is None else session.process_info(session.process)
        except PersistenceError as error:
            detail = error.detail if isinstance(error, StorageUnavailableError) else describe(error)
            st.warning(t("status.unavailable", detail=detail))
            total, query, shown, matching, current = 0, "", [], 0, None
        updated = {info.name: info.updated_at for info in shown}
        names = list(updated)
        if session.process is not None and session.process not in updated:
            names.insert(0, session.process)  # the open process stays selectable
            if current is not None:
                updated[current.name] = current.updated_at
        if not total and session.process is None:
            st.info(t("sidebar.none"))
        if st.session_state.get(SELECTOR_KEY) != session.process:
            st.session_state[SELECTOR_KEY] = session.process
        # The options are the names, shown as they are: Streamlit sends a selectbox's value
        # to the browser and back as its label, so a label with the update time in it would
        # come back as a name that does not exist once that minute has passed.
        st.selectbox(
            t("sidebar.select"),
            names,
            index=None,
            key=SELECTOR_KEY,
            placeholder=t("sidebar.placeholder"),
            on_change=_on_select,
            args=(session,),
        )
        if (when := updated.get(session.process or "")) is not None:
            st.caption(t("sidebar.updated", when=short_time(when)))
        if query.strip() and not matching:
            st.caption(t("sidebar.no_match", query=query.strip()))
        elif query.strip() and matching > len(shown):
            st.caption(t("sidebar.matches", count=matching, shown=len(shown)))
        elif matching > len(shown):
            st.caption(t("sidebar.more", total=total, shown=len(shown)))
        status_slot = st.container()
        if session.process is not None:
            _history(session)
            _manage(session)
    return status_slot


def _manage(session: PersistentSession) -> None:
    with st.expander(t("sidebar.manage")):
        st.text_input(t("sidebar.rename_label"), key=RENAME_KEY)
        st.button(
            t("sidebar.rename_button"), key="rename_process", on_click=_on_rename, args=(session,)
        )
        st.text_input(
            t("sidebar.copy_label"),
            key=COPY_KEY,
            placeholder=t("sidebar.copy_default", name=session.process),
        )
        st.button(
            t("sidebar.copy_button"),
            key="copy_process",
            help=t("sidebar.copy_help"),
            on_click=_on_copy,
            args=(session,),
        )
        if not st.session_state.get(_CONFIRM_DELETE):
            if st.button(t("sidebar.delete_button"), key="delete_process"):
                st.session_state[_CONFIRM_DELETE] = True
                st.rerun()
            return
        st.warning(t("sidebar.delete_confirm", name=session.process))
        left, right = st.columns(2)
        left.button(
            t("sidebar.delete_yes"),
            key="confirm_delete_process",
            type="primary",
            on_click=_on_delete,
            args=(session,),
        )
        if right.button(t("sidebar.delete_no"), key="cancel_delete_process"):
            st.session_state[_CONFIRM_DELETE] = False
            st.rerun()
