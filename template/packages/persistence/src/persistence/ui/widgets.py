"""Persistent versions of two widgets Streamlit cannot restore through session state.

``st.data_editor`` and ``st.file_uploader`` refuse values put into session state, so a
``persist_`` key cannot be bound to them directly. Each call below keeps the value itself
under the prefixed key (the table as a ``DataFrame``; the file as its name, MIME type and
bytes) and draws the Streamlit widget under a key of its own that never starts with the
prefix. The sync engine then saves and restores the value like any other.

**The data editor.** ``st.data_editor`` returns its ``data`` with the edits the browser made
applied; the edits are kept by the browser relative to that ``data``. Feeding the edited
result back as ``data`` loses edits: the widget starts over on new data, and an edit made
before the new grid was drawn is dropped ("every second change reverts"). So the frame
passed as ``data`` (the *base*) stays the same while the edits accumulate. What the user
changed since the last run (the new part of the widget's ``edited_rows``, ``added_rows``,
``deleted_rows``) is applied to the table the key holds now, never the whole returned
frame: cells the user did not touch keep what is stored (a colleague's save, an edit the
grid has since dropped). The editor is started again (a new widget key, with the stored
frame as its base) whenever the grid could show something else than the store: a new
session, a process switch, a colleague's save, a new visit of the page, a grid that no
longer reports the edits in the table, app code assigning the key, or other editor
arguments. An edit can also arrive with a run that never draws the grid (a page link or a
process switch clicked meanwhile supersedes it): the edits are therefore taken in the
editor's ``on_change``, before any of the run's code, and again before another process
opens (``_take_pending_edits``).
"""

from __future__ import annotations

import json
import secrets
import warnings
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import pandas as pd
import streamlit as st

from persistence import codec
from persistence.binding import get_session, persisted
from persistence.browser import StreamlitBrowser, edited_frame
from persistence.codec import same_value
from persistence.settings import get_settings
from persistence.ui.strings import t

# Keys of their own, never starting with the prefix (it starts with a letter). The editor:
# container _table_<name> (CSS class .st-key-_table_<name>), widget _table_<name>_<n>, its
# bookkeeping _table_<name>_state. The upload: container _upload_<name>, uploader
# _upload_<name>_<n>, remove button _upload_<name>_remove.
_EDITOR = "_table_{name}"
_UPLOAD = "_upload_{name}"


# -- the data editor --------------------------------------------------------------------------
Delta = dict[str, Any]  # the widget's edit state, JSON-normalised: edited_rows keys are text


@dataclass
class _EditorState:
    """One editor in one session. Kept in session state under a key without the prefix."""

    base: pd.DataFrame  # passed as ``data``: the same while the edits accumulate
    shown: pd.DataFrame  # what the grid shows: the base with the browser's edits applied
    generation: int  # part of the widget key: a new one starts the widget afresh
    process: str | None  # the process the base came from
    signature: str  # the editor's other arguments: when they change, so does the widget
    visit: int  # the session's page visit that drew it (``PersistentSession.page_visit``)
    applied: Delta = field(default_factory=dict)  # the edit state already in the table
    stale: bool = False  # the grid is out of step with the table: start again on it

    def widget_key(self, slot: str) -> str:
        return f"{slot}_{self.generation}"


def _delta(value: Any) -> Delta | None:
    """The widget's edit state (edited, added and deleted rows) as comparable JSON data."""
    if value is None:
        return None
    loaded: Delta = json.loads(json.dumps(value, sort_keys=True, default=str))
    return loaded


def _rows_edited(delta: Delta) -> dict[str, dict[str, Any]]:
    edited: dict[str, dict[str, Any]] = delta.get("edited_rows") or {}
    return edited


def _lost_edits(delta: Delta, applied: Delta) -> bool:
    """Whether the grid no longer holds edits already in the table (a cell edit or a
    deleted row it reported before): the browser drew a new grid without them (it left the
    page, or a page switch that did not happen remounted it)."""
    edited = _rows_edited(delta)
    deleted = {str(row) for row in delta.get("deleted_rows") or []}
    for row, cells in _rows_edited(applied).items():
        dropped = any(edited.get(row, {}).get(col, _MISSING) != cells[col] for col in cells)
        if dropped and row not in deleted:
            return True
    return not set(applied.get("deleted_rows") or []) <= set(delta.get("deleted_rows") or [])


_MISSING: Any = object()


def _signature(kwargs: dict[str, Any]) -> str:
    """The arguments that make up the widget's identity in Streamlit, as text (callbacks and
    their arguments do not; objects count by their type, never by their address)."""
    identity = {k: v for k, v in kwargs.items() if k not in {"on_change", "args", "kwargs"}}
    return json.dumps(identity, sort_keys=True, default=lambda obj: type(obj).__qualname__)


def _like(returned: pd.DataFrame, base: pd.DataFrame) -> pd.DataFrame:
    """The editor's result in the base's shape where rows added or deleted changed it: a
    ``RangeIndex`` numbered again from 0, and nullable (extension) dtypes that pandas
    turned into ``object`` for an added row (pandas 2) given back, when that loses
    nothing."""
    if isinstance(base.index, pd.RangeIndex) and not isinstance(returned.index, pd.RangeIndex):
        returned = returned.reset_index(drop=True)
    if not base.columns.is_unique or not returned.columns.equals(base.columns):
        return returned
    for label, dtype in base.dtypes.items():
        column = returned[label]
        if not isinstance(dtype, pd.api.extensions.ExtensionDtype) or column.dtype == dtype:
            continue
        try:
            with warnings.catch_warnings():  # pandas warns before it starts refusing a cast
                warnings.simplefilter("ignore")
                cast = column.astype(dtype)
        except (TypeError, ValueError):
            continue  # the edited values no longer fit the dtype: keep pandas' choice
        if cast.isna().equals(column.isna()):  # no value lost (a category it lacks, say)
            returned[label] = cast
    return returned


def _apply_edits(
    stored: pd.DataFrame,
    grid: pd.DataFrame,
    base_rows: int,
    delta: Delta,
    applied: Delta,
    *,
    lost: bool,
) -> pd.DataFrame:
    """``stored`` with what the user changed since ``applied`` (the edit state already in
    it), the values taken from ``grid`` (the base with all of ``delta`` applied, converted
    by Streamlit). Cells the user did not touch keep what ``stored`` holds, whoever wrote
    them; rows are matched by their position in the base. ``lost``: the grid dropped the
    ``applied`` edits, which stay in ``stored``; its added rows are all new."""
    was_deleted = {int(row) for row in applied.get("deleted_rows") or []}
    now_deleted = {int(row) for row in delta.get("deleted_rows") or []}
    kept_before = [row for row in range(base_rows) if row not in was_deleted]
    kept_now = [row for row in range(base_rows) if row not in now_deleted]
    before_at = {row: at for at, row in enumerate(kept_before)}  # base row -> row in stored
    now_at = {row: at for at, row in enumerate(kept_now)}  # base row -> row in grid
    result = stored.copy(deep=True)
    old_cells = {} if lost else _rows_edited(applied)
    for row, cells in _rows_edited(delta).items():
        base_row = int(row)
        if base_row not in now_at or before_at.get(base_row, len(result)) >= len(result):
            continue  # deleted since, or no longer in the stored table
        for column, value in cells.items():
            if column not in result.columns or column not in grid.columns:
                continue
            if old_cells.get(row, {}).get(column, _MISSING) == value:
                continue  # already in the table: a colleague may have changed it since
            result.iat[before_at[base_row], result.columns.get_loc(column)] = grid.iat[
                now_at[base_row], grid.columns.get_loc(column)
            ]
    old_added = [] if lost else list(applied.get("added_rows") or [])
    added = list(delta.get("added_rows") or [])
    gone = [before_at[row] for row in now_deleted - was_deleted if row in before_at]
    result = result.drop(result.index[[at for at in gone if at < len(result)]])
    if added != old_added:  # the added rows sit at the end: replace those the grid had
        tail = len(old_added)
        result = pd.concat([result.iloc[: len(result) - tail], grid.iloc[len(kept_now) :]])
    return _like(result, stored)


def persistent_data_editor(
    name: str, default: pd.DataFrame, **data_editor_kwargs: Any
) -> pd.DataFrame:
    """``st.data_editor`` over the frame saved under ``persisted(name)``; returns the edited
    frame (a copy of what the key holds: changing it changes nothing saved).

    ``default`` is the table of a process that has none yet. Every edit is written to the
    key and saved at the end of the run; added and deleted rows too (pass
    ``num_rows="dynamic"``). Other keyword arguments go to ``st.data_editor`` (``key`` is
    chosen here). A table with a ``RangeIndex`` keeps one: rows added or deleted are
    numbered again from 0.
    """
    if "key" in data_editor_kwargs:
        raise TypeError("persistent_data_editor chooses the editor's key: pass a name instead")
    key = persisted(name)
    state = st.session_state
    current = _stored_table(key, default)  # the one place the stored table is read
    slot = _EDITOR.format(name=name)
    editor: _EditorState | None = state.get(f"{slot}_state")
    session = get_session()
    process, visit = session.process, session.page_visit
    signature = _signature(data_editor_kwargs)
    delta = None if editor is None else _delta(state.get(editor.widget_key(slot)))
    edited_now = editor is not None and delta is not None and delta != editor.applied
    left = editor is not None and editor.visit != visit  # the browser dropped the grid
    if (
        editor is None
        or editor.stale
        or delta is None  # a new widget, or its state went with a page switch
        or editor.process != process
        or editor.signature != signature
        or (not edited_now and (left or not _grid_holds(editor, slot)))
        or not (edited_now or same_value(current, editor.shown))
    ):
        editor = _start(current, editor, process, signature, visit)
        state[f"{slot}_state"] = editor
        delta = None
    widget_key = editor.widget_key(slot)
    session.keep_pending_edits(slot, partial(_take_pending_edits, name))
    editor_kwargs = {**data_editor_kwargs, **_taking_edits(name, data_editor_kwargs)}
    with st.container(key=slot):
        returned = st.data_editor(editor.base, key=widget_key, **editor_kwargs)
    after = _delta(state.get(widget_key))
    if delta is not None and after != delta:
        # Streamlit created the widget afresh under the same key (its identity changed):
        # its edits are gone, and what it returned is the bare base. Start again on the
        # stored frame instead of writing that over it.
        editor.stale = True
        st.rerun()
    grid = _like(returned, editor.base)
    if edited_now and delta is not None:
        current = _take_edits(editor, key, current, grid, delta)
        # The grid must show what is stored: when it does not (a colleague's cells, edits
        # the browser dropped), the editor starts again on the stored table.
        # A grid drawn in an earlier visit of the page is gone from the browser: this
        # edit (sent as the page was left) is saved, and the editor starts again.
        editor.stale = left or not same_value(grid, current)
    editor.applied = after or {}
    editor.shown = grid
    if editor.stale:
        st.rerun()
    return current.copy(deep=True)  # the caller's changes to it change nothing saved


def _take_edits(
    editor: _EditorState, key: str, current: pd.DataFrame, grid: pd.DataFrame, delta: Delta
) -> pd.DataFrame:
    """Put under ``key`` the table ``current`` with what the user changed since
    ``editor.applied`` (``grid``: the base with all of ``delta`` applied); return it."""
    lost = _lost_edits(delta, editor.applied)
    table = _apply_edits(current, grid, len(editor.base), delta, editor.applied, lost=lost)
    if same_value(table, current):
        return current
    st.session_state[key] = table
    return table


def _taking_edits(name: str, data_editor_kwargs: dict[str, Any]) -> dict[str, Any]:
    """The editor's ``on_change``: take the edits first, then call the caller's own."""
    on_change = data_editor_kwargs.get("on_change")
    if isinstance(on_change, str):  # "ignore" and the like: no run, nothing to take
        return {}
    args = tuple(data_editor_kwargs.get("args") or ())
    kwargs = dict(data_editor_kwargs.get("kwargs") or {})

    def take_then_call() -> None:
        _take_pending_edits(name)
        if callable(on_change):
            on_change(*args, **kwargs)

    return {"on_change": take_then_call, "args": None, "kwargs": None}


def _take_pending_edits(name: str) -> None:
    """Apply the edits the grid of ``name`` sent with this run's request, as the editor's
    draw would, before any of the run's code: Streamlit calls it as the editor's
    ``on_change``. The run may never draw the editor (a page link or a process switch
    clicked meanwhile supersedes it), and a new page's run drops the grid's state."""
    state = st.session_state
    slot = _EDITOR.format(name=name)
    editor: _EditorState | None = state.get(f"{slot}_state")
    key = persisted(name)
    current = state.get(key)
    if editor is None or editor.stale or type(current) is not pd.DataFrame:
        return
    if editor.process != get_session().process:
        return  # the table of another process: its edits went with it
    delta = _delta(state.get(editor.widget_key(slot)))
    if delta is None or delta == editor.applied:
        return
    edited = edited_frame(editor.base, delta)
    if edited is None:
        return
    grid = _like(edited, editor.base)
    _take_edits(editor, key, current, grid, delta)
    editor.applied, editor.shown = delta, grid


_NUMBERS = frozenset({"integer", "floating", "mixed-integer-float", "decimal", "integer-na"})


def _column_kind(column: pd.Series) -> str:
    """What a column holds, whatever its dtype: an added row may have made a number column
    ``object`` or ``float``; a column with nothing in it is any kind."""
    kind = str(pd.api.types.infer_dtype(column, skipna=True))
    return "number" if kind in _NUMBERS else kind


def _fitting_table(key: str, stored: Any, default: pd.DataFrame) -> Any:
    """``stored``, or ``None`` when it is the saved table and its columns (their names or
    what they hold) are no longer the default's: the editor then shows the default, the
    sidebar names the key, and the saved table stays until the user edits the grid."""
    if type(stored) is not pd.DataFrame or not stored.columns.is_unique:
        return stored
    same_columns = set(stored.columns) == set(default.columns) and all(
        {_column_kind(stored[label]), _column_kind(default[label])} & {"empty"}
        or _column_kind(stored[label]) == _column_kind(default[label])
        for label in default.columns
    )
    sync = get_session().sync
    if same_columns or not sync.is_saved(key, stored):
        return stored
    sync.withhold(key, default)
    return None


def _stored_table(key: str, default: pd.DataFrame) -> pd.DataFrame:
    """The table the key holds, or a copy of ``default`` put there for a process without one
    (or whose saved table no longer fits ``default``: ``_fitting_table``)."""
    state = st.session_state
    stored = _fitting_table(key, state.get(key), default)
    if type(stored) is pd.DataFrame:
        return stored
    current = default.copy(deep=True)
    state[key] = current
    return current


def _grid_holds(editor: _EditorState, slot: str) -> bool:
    """Whether the browser's grid still holds the edits in the table: it reports them with
    every request while it has any. A grid it drew afresh (after leaving the page, say)
    reports none, and shows the bare base; a new base fixes that. Unknown: start again."""
    if not editor.applied or not any(editor.applied.get(part) for part in _PARTS):
        return True
    widget_key = editor.widget_key(slot)
    reported = StreamlitBrowser().reported(widget_key)
    return reported is not None and widget_key in reported


_PARTS = ("edited_rows", "added_rows", "deleted_rows")


def _start(
    current: pd.DataFrame,
    editor: _EditorState | None,
    process: str | None,
    signature: str,
    visit: int,
) -> _EditorState:
    """A new editor on ``current``. The first one of a session takes a random generation: a
    tab that reconnected to a new server still reports the old server's grid, whose edits
    are relative to a table this server never gave it, under that grid's key."""
    generation = secrets.randbelow(1 << 30) if editor is None else editor.generation + 1
    return _EditorState(
        base=current.copy(deep=True),
        shown=current.copy(deep=True),
        generation=generation,
        process=process,
        signature=signature,
        visit=visit,
    )


# -- the file upload -----------------------------------------------------------------------
@dataclass(frozen=True)
class StoredFile:
    """A file kept in the process: what ``st.file_uploader`` gave, without the upload."""

    name: str
    type: str
    data: bytes = field(repr=False)

    @property
    def size(self) -> int:
        return len(self.data)

    def getvalue(self) -> bytes:
        """The bytes, as ``UploadedFile.getvalue()`` gives them."""
        return self.data


def stored_file(value: Any) -> StoredFile | None:
    """The file a ``persistent_file_uploader`` key holds, or ``None``."""
    if not isinstance(value, dict):
        return None
    name, kind, data = value.get("name"), value.get("type"), value.get("data")
    if isinstance(name, str) and isinstance(kind, str) and isinstance(data, bytes):
        return StoredFile(name, kind, data)
    return None


def _escape(text: str) -> str:
    """``text`` shown as it is in Markdown."""
    return "".join(f"\\{char}" if char in _MARKDOWN else char for char in text)


_MARKDOWN = frozenset("\\`*_{}[]<>()#+-.!|~$:")


def _saved_size(key: str, kept: dict[str, Any]) -> int:
    """The bytes ``kept`` takes once saved under ``key``, without encoding its data: the
    encoding of the rest plus the data as base64 (4 characters for every 3 bytes)."""
    data: bytes = kept["data"]
    rest = codec.encode(key, {**kept, "data": b""})
    return codec.byte_size(rest) + (len(data) + 2) // 3 * 4


def _upload_limit() -> int:
    """The most one kept file may take: it is one value, and it must fit in a process."""
    settings = get_settings()
    return min(settings.max_value_bytes, settings.max_process_bytes)


def _take_upload(name: str, generation_key: str, uploader_key: str) -> None:
    uploaded = st.session_state.get(uploader_key)
    if uploaded is None:
        return  # the user cleared the uploader: the kept file stays until Remove
    key = persisted(name)
    kept = {
        "name": uploaded.name,
        "type": uploaded.type or "application/octet-stream",
        "data": uploaded.getvalue(),
    }
    size, limit = _saved_size(key, kept), _upload_limit()
    if size > limit:
        st.session_state[f"{_UPLOAD.format(name=name)}_error"] = t(
            "upload.too_large",
            name=uploaded.name,
            saved_as=key,
            size=f"{size:,}",
            limit=f"{limit:,}",
        )
    else:
        st.session_state[key] = kept
    # A new uploader key: the next run draws an empty uploader under the kept file.
    st.session_state[generation_key] = st.session_state.get(generation_key, 0) + 1


def _allowed_file(key: str, allowed: str | list[str] | None) -> StoredFile | None:
    """The file ``key`` keeps, or ``None`` when it is the saved file and its type is no
    longer among the ``type=`` the uploader allows: the sidebar then names the key, and the
    saved file stays until the user uploads another."""
    value = st.session_state.get(key)
    kept = stored_file(value)
    if kept is None or allowed is None:
        return kept
    suffixes = [allowed] if isinstance(allowed, str) else list(allowed)
    name = kept.name.lower()
    if any(
        name.endswith("." + suffix.lower().lstrip(".")) or kept.type == suffix
        for suffix in suffixes
    ):
        return kept
    sync = get_session().sync
    if not sync.is_saved(key, value):
        return kept
    sync.withhold(key, value)
    return None


def _remove_upload(name: str) -> None:
    st.session_state[persisted(name)] = None


def persistent_file_uploader(
    name: str, label: str, **file_uploader_kwargs: Any
) -> StoredFile | None:
    """``st.file_uploader`` whose file is kept under ``persisted(name)`` (its name, MIME type
    and bytes), so it is still there after a reload; returns that file, or ``None``.

    With a file kept, it is listed with a button that removes it, and the uploader below
    replaces it. One file at a time; other keyword arguments go to ``st.file_uploader``
    (``type=["csv"]``, ``help=`` ...). A file whose saved form (base64: a third more) is
    over ``max_value_bytes`` (or ``max_process_bytes``) is refused with a message naming the
    key.
    """
    for argument in ("key", "on_change", "accept_multiple_files"):
        if argument in file_uploader_kwargs:
            raise TypeError(f"persistent_file_uploader does not take {argument}=")
    slot = _UPLOAD.format(name=name)
    generation_key = f"{slot}_generation"
    uploader_key = f"{slot}_{st.session_state.get(generation_key, 0)}"
    kept = _allowed_file(persisted(name), file_uploader_kwargs.get("type"))
    with st.container(key=slot):
        if message := st.session_state.pop(f"{slot}_error", None):
            st.error(message)
        if kept is not None:
            left, right = st.columns([4, 1], vertical_alignment="center")
            left.markdown(
                t(
                    "upload.kept",
                    name=_escape(kept.name),
                    size=f"{kept.size:,}",
                    type=_escape(kept.type),
                )
            )
            right.button(
                t("upload.remove"), key=f"{slot}_remove", on_click=_remove_upload, args=(name,)
            )
            label = t("upload.replace", label=label)
        st.file_uploader(
            label,
            key=uploader_key,
            on_change=_take_upload,
            args=(name, generation_key, uploader_key),
            **file_uploader_kwargs,
        )
    return kept
