"""Properties of `persist`: whatever export document or storage URL it is given, it exits 0
or a documented status with a one-line message, never a traceback, never a partial import.

Hypothesis generates export documents (valid ones, then mutated: keys dropped, values
replaced by any JSON, the text cut or garbled) and storage URLs (schemes, credentials,
hosts, ports, databases and options, most of them wrong). The odd classes are generated on
purpose: text with lone surrogates (in keys and values), nesting of every container type, of
categories and of a frame's metadata around the depth limit and past it, and bad ports on
every server scheme. Every example runs under ``hang_guard``: a decoder that takes
exponential time fails the test instead of hanging it.
"""

from __future__ import annotations

import functools
import json
import string
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from persistence import codec
from persistence import settings as persistence_settings
from persistence.cli import EXIT_CODES, EXPORT_FORMAT, EXPORT_VERSION
from persistence.models import ProcessSnapshot
from tests.conftest import PROJECT_ROOT, StoreFactory, hang_guard
from tests.test_cli import contents, run_persist

pytestmark = pytest.mark.persistence

EXAMPLES = settings(
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
NOW = datetime.now(UTC)

ANY_JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()
    | st.text(max_size=8)
    | st.sampled_from(["date", "tuple", "dict", "$type", "v", "2025-01-31"]),
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(st.sampled_from(["$type", "v", "name", "state", "x"]), inner, max_size=3)
    ),
    max_leaves=8,
)
STORABLE = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=8)
    | st.dates()
    | st.times()
    | st.datetimes(timezones=st.none() | st.just(UTC)),
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.tuples(inner, inner)
        | st.dictionaries(st.text(max_size=4), inner, max_size=3)
    ),
    max_leaves=6,
)
NAMES = (
    st.sampled_from(["seed", "週次レポート", "a", "b"])
    | st.text(st.characters(exclude_categories=["Cc", "Cs", "Zl", "Zp"]), min_size=1, max_size=12)
    | st.text(max_size=12)  # empty, blank, control characters: invalid names too
)
TIMES = st.sampled_from(
    [
        None,
        (NOW - timedelta(hours=1)).isoformat(),
        (NOW - timedelta(minutes=5)).isoformat(),
        (NOW - timedelta(days=1)).astimezone(timezone(timedelta(hours=9))).isoformat(),
        (NOW - timedelta(days=400)).isoformat(),  # past any retention window: skipped
        (NOW + timedelta(days=400)).isoformat(),  # in the future: counts as now
        "2025-01-06T09:30:00",  # no UTC offset
        "0001-01-01T00:00:00+01:00",  # before the first representable UTC moment
        "yesterday",
    ]
)


# A few seconds is what the slowest example needs; the guard only stops a hang.
CASE_LIMIT_SECONDS = 60
SURROGATES = st.characters(categories=["Cs"])
DEPTHS = st.sampled_from([3, 60, 94, 96, 98, 99, 100, 101, 150, 300])


def _deep(kind: str, depth: int) -> Any:
    """An encoded value ``depth`` containers deep (``kind``: how each level is made)."""
    value: Any = 0
    for _ in range(depth):
        if kind == "list":
            value = [value]
        elif kind == "dict":
            value = {"k": value}
        elif kind == "tuple":
            value = {"$type": "tuple", "v": [value]}
        else:  # a dict with a "$type" key of its own
            value = {"$type": "dict", "v": [["$type", value]]}
    return value


def _categories(depth: int) -> Any:
    """A series of categories of categories ... ``depth`` levels."""
    described: dict[str, Any] = {"dtype": "int64", "values": [1, 2]}
    for _ in range(depth):
        described = {
            "dtype": "category",
            "ordered": False,
            "categories": described,
            "values": [1, 2],
        }
    return {"$type": "Series", "v": {"name": None, **described, "index": _range_index(None)}}


def _range_index(name: Any) -> dict[str, Any]:
    return {"name": name, "range": [0, 2, 1]}


def _frame_meta(where: str, depth: int) -> Any:
    """A frame whose index name, column label or cell is a tuple nested ``depth`` deep."""
    deep = _deep("tuple", depth)
    column = {"name": deep if where == "label" else "a", "dtype": "object", "values": [1, 2]}
    if where == "cell":
        column["values"] = [deep, 2]
    payload = {
        "columns": [column],
        "index": _range_index(deep if where == "index" else None),
        "column_labels": {"name": None, "dtype": "object"},
    }
    return {"$type": "DataFrame", "v": payload}


@st.composite
def odd_values(draw: st.DrawFn) -> Any:
    """An encoded value of the odd classes: deep, or holding lone surrogates."""
    depth = draw(DEPTHS)
    kind = draw(st.sampled_from(["list", "dict", "tuple", "tagged", "categories", "frame"]))
    if kind == "categories":
        return _categories(depth)
    if kind == "frame":
        return _frame_meta(draw(st.sampled_from(["index", "label", "cell"])), depth)
    if draw(st.booleans()):
        text = draw(st.text(max_size=3)) + draw(SURROGATES) + draw(st.text(max_size=3))
        return draw(st.sampled_from([text, [text], {text: 1}, {"$type": "tuple", "v": [text]}]))
    return _deep(kind, depth)


@st.composite
def odd_states(draw: st.DrawFn) -> dict[str, Any]:
    """An encoded state with one odd value, or a key with a lone surrogate or a NUL."""
    state = codec.to_jsonable(draw(st.dictionaries(st.text(max_size=8), STORABLE, max_size=2)))
    if draw(st.booleans()):
        state["persist_" + draw(SURROGATES | st.just("\x00"))] = 1
    else:
        state["persist_odd"] = draw(odd_values())
    return dict(state)


@st.composite
def processes(draw: st.DrawFn) -> dict[str, Any]:
    if draw(st.integers(0, 3)) == 0:
        encoded = draw(odd_states())
    else:
        encoded = codec.to_jsonable(
            draw(st.dictionaries(st.text(max_size=8), STORABLE, max_size=4))
        )
    entry: dict[str, Any] = {"name": draw(NAMES), "state": encoded}
    updated_at = draw(TIMES)
    if updated_at is not None:
        entry["updated_at"] = updated_at
    return entry


@st.composite
def export_texts(draw: st.DrawFn) -> bytes:
    """An export document, valid or mutated, as the bytes of a file."""
    document: Any = {
        "format": EXPORT_FORMAT,
        "version": EXPORT_VERSION,
        "processes": draw(st.lists(processes(), max_size=4)),
    }
    for _ in range(draw(st.sampled_from([0, 0, 0, 1, 2, 3]))):
        document = draw(mutated(document))
    text = json.dumps(document, ensure_ascii=draw(st.booleans()))
    damage = draw(st.sampled_from(["none"] * 6 + ["cut", "insert", "latin-1"]))
    if damage == "cut":
        text = text[: draw(st.integers(0, len(text)))]
    elif damage == "insert":
        at = draw(st.integers(0, len(text)))
        text = text[:at] + draw(st.text(min_size=1, max_size=3)) + text[at:]
    # A lone surrogate, unless escaped, becomes the bytes ED A0 80 ..., which json.loads lets
    # through: as a hand-edited file or another tool could hold it.
    raw = text.encode("utf-8", "surrogatepass")
    encoded = text.encode("latin-1", "replace") if damage == "latin-1" else raw
    return encoded


def mutated(document: Any) -> st.SearchStrategy[Any]:
    """One change somewhere in the document: a value replaced, a key dropped, an entry
    doubled."""
    options: list[st.SearchStrategy[Any]] = [ANY_JSON]  # the whole document replaced
    if isinstance(document, dict):
        for key in ("format", "version", "processes"):
            options.append(st.just({k: v for k, v in document.items() if k != key}))
            options.append(ANY_JSON.map(functools.partial(_with, document, key)))
        versions = st.integers(-2, EXPORT_VERSION + 1)
        options.append(versions.map(functools.partial(_with, document, "version")))
        entries = document.get("processes")
        if isinstance(entries, list) and entries:
            options.append(st.just({**document, "processes": [*entries, entries[0]]}))
            changes = st.tuples(
                st.integers(0, len(entries) - 1),
                st.sampled_from(["name", "state", "updated_at"]),
                ANY_JSON,
                st.booleans(),
            )
            options.append(
                changes.map(lambda change: _with(document, "processes", _change(entries, *change)))
            )
    return st.one_of(options)


def _with(document: dict[str, Any], key: str, value: Any) -> dict[str, Any]:
    return {**document, key: value}


def _change(entries: list[Any], index: int, key: str, value: Any, drop: bool) -> list[Any]:
    changed = list(entries)
    entry = changed[index]
    if isinstance(entry, dict):
        changed[index] = {k: v for k, v in entry.items() if k != key}
        if not drop:
            changed[index][key] = value
    else:
        changed[index] = value
    return changed


def assert_one_line(status: int, out: str, err: str) -> None:
    assert status in EXIT_CODES, (status, err)
    if status == 0:
        assert err == "", err
    else:
        assert out == "", out
        assert err.startswith("persist: ") and err.endswith("\n"), err
        assert err.count("\n") == 1, err
        assert "Traceback" not in err


@pytest.fixture
def seeded(make_store: StoreFactory) -> StoreFactory:
    make_store().save_process("seed", {"persist_owner": "山田", "persist_n": 1})
    return make_store


def same_contents(
    left: dict[str, ProcessSnapshot | None], right: dict[str, ProcessSnapshot | None]
) -> bool:
    """Whether two readings of a store are the same: a frame's ``==`` is elementwise, so
    states compare as the codec compares them."""

    def same(one: ProcessSnapshot | None, other: ProcessSnapshot | None) -> bool:
        if one is None or other is None:
            return one is other
        return (one.name, one.revision, one.updated_at) == (
            other.name,
            other.revision,
            other.updated_at,
        ) and codec.same_value(one.state, other.state)

    return left.keys() == right.keys() and all(same(left[k], right[k]) for k in left)


@EXAMPLES
@pytest.mark.slow
@given(text=export_texts())
def test_import_is_whole_or_nothing_and_never_a_traceback(
    seeded: StoreFactory, tmp_path: Path, text: bytes
) -> None:
    before = contents(seeded)
    dump = tmp_path / "dump.json"
    dump.write_bytes(text)
    with hang_guard(CASE_LIMIT_SECONDS):
        status, out, err = run_persist(seeded, "import", str(dump))
    event(f"exit {status}")
    assert_one_line(status, out, err)
    after = contents(seeded)
    if status != 0:
        assert same_contents(after, before), "a failed import changed the store"
        return
    assert status == 0
    entries = json.loads(text)["processes"]
    named = {entry["name"] for entry in entries}
    assert same_contents(
        {name: after.get(name) for name in before if name not in named},
        {name: snapshot for name, snapshot in before.items() if name not in named},
    )
    for entry in entries:
        if f"skipped {entry['name']}:" in out:
            continue
        snapshot = after[entry["name"]]
        assert snapshot is not None
        # Value by value, as the import reads them: the state around them is no level of theirs.
        imported = {key: codec.from_jsonable(value) for key, value in entry["state"].items()}
        assert codec.same_value(snapshot.state, imported)


SERVER_PARTS = st.tuples(
    st.sampled_from(
        [
            "redis",
            "rediss",
            "unix",
            "REDIS",
            "redis+tls",
            "",
            "postgresql",
            "postgres",
            "PostgreSQL",
        ]
    ),
    st.sampled_from(["", ":wrong@", "user:pw@", ":@", "%zz@", "a@b@"]),
    st.sampled_from(["127.0.0.1", "localhost", "", "[::1]", "[::1", "::1"]),
    st.sampled_from(
        ["", ":6379", ":5432", ":1", ":notaport", ":abc", ":99999", ":65536", ":-1", ":", ":0"]
    ),
    st.sampled_from(["", "/", "/0", "/15", "/abc", "/99", "/0/1", "/-1", "/\u0661", "/%00"]),
    st.sampled_from(["", "?db=abc", "?db=1", "?socket_timeout=x", "?no_such=1", "?db="]),
)
SEGMENT = st.text(
    alphabet=string.ascii_letters + string.digits + "-_ %:@?#[]~\x00\n\u00e9\u9031", max_size=10
)


@st.composite
def storage_urls(draw: st.DrawFn, folder: str) -> str:
    """A storage URL of any shape; a path always stays inside ``folder`` (absolute) or the
    project root (relative, patched to a temporary folder)."""
    kind = draw(st.sampled_from(["server", "file", "file", "bare"]))
    if kind == "server":
        scheme, user, host, port, path, query = draw(SERVER_PARTS)
        return f"{scheme}://{user}{host}{port}{path}{query}"
    segments = draw(st.lists(SEGMENT.filter(lambda s: s not in {"", ".", ".."}), max_size=3))
    tail = "/".join(segments)
    if kind == "bare":
        return tail or "data"
    scheme = draw(st.sampled_from(["json", "sqlite", "file", "JSON", "mongodb"]))
    absolute = draw(st.booleans())
    return f"{scheme}:///{folder}/{tail}" if absolute else f"{scheme}:///{tail}"


@EXAMPLES
@pytest.mark.slow
@given(data=st.data())
def test_any_storage_url_is_a_status_and_one_line(
    make_store: StoreFactory,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    data: st.DataObject,
) -> None:
    root = tmp_path / "project"
    root.mkdir(exist_ok=True)
    monkeypatch.setattr(persistence_settings, "project_root", lambda: root)
    url = data.draw(storage_urls(str(tmp_path / "absolute")), label="url")
    command = data.draw(st.sampled_from([["list"], ["show", "seed"], ["delete", "nothing"]]))
    project_data = sorted((PROJECT_ROOT / "data").rglob("*"))
    with hang_guard(CASE_LIMIT_SECONDS):
        status, out, err = run_persist(make_store, *command, url=url)
    event(f"exit {status}")
    assert_one_line(status, out, err)
    assert "pw@" not in err and ":wrong@" not in err  # a password never reaches a message
    assert sorted((PROJECT_ROOT / "data").rglob("*")) == project_data  # relative: the tmp root
