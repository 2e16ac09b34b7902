"""Tables and bytes in the codec: encode then decode is the identity, dtypes included, and
the engine compares frames as frames."""

from __future__ import annotations

import copy
import datetime as dt
import json
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import pandas as hpd
from pandas.testing import assert_frame_equal, assert_series_equal

from persistence import codec
from persistence.errors import UnstorableValueError
from persistence.storage import StorageInterface
from persistence.sync import StateSync
from tests.conftest import hang_guard

pytestmark = pytest.mark.persistence

ZONES = ["UTC", "Asia/Tokyo", "America/New_York"]
# Instants pandas can hold at nanosecond precision (1677-2262), as nanoseconds since 1970.
INSTANTS = st.integers(min_value=-(2**62), max_value=2**62)
STRICT: dict[str, Any] = {
    "check_exact": True,
    "check_index_type": True,  # a RangeIndex is not an Index of int64
    "check_column_type": True,
    "check_categorical": True,
    "check_freq": True,
}
SERIES_STRICT = {k: v for k, v in STRICT.items() if k != "check_column_type"}
PROPERTY = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def round_trip(value: Any) -> Any:
    return codec.loads(codec.encode("persist_table", value))


def assert_stored_exactly(frame: pd.DataFrame) -> None:
    back = round_trip(frame)
    assert_frame_equal(back, frame, **STRICT)
    assert type(back.index) is type(frame.index)
    assert codec.same_value(back, frame)
    assert codec.encode("k", back) == codec.encode("k", frame)


# -- strategies: hypothesis.extra.pandas for numpy columns, the rest built on top ------------
NUMPY_COLUMNS = [
    hpd.column("int", dtype="int64"),
    hpd.column("float", dtype="float64", elements=st.floats(allow_nan=True, allow_infinity=True)),
    hpd.column("flag", dtype=bool),
    hpd.column("text", dtype=object, elements=st.text(max_size=6)),
    hpd.column("when", dtype="datetime64[ns]"),
    hpd.column("span", dtype="timedelta64[ns]"),
]
INDEXES = st.one_of(
    hpd.range_indexes(max_size=6),
    hpd.indexes(dtype="int64", max_size=6, unique=True),
    hpd.indexes(elements=st.text(max_size=4), max_size=6, unique=True),
    hpd.indexes(dtype="datetime64[ns]", max_size=6),
)
OBJECT_CELLS = st.one_of(
    st.none(),
    st.text(max_size=4),
    st.integers(),
    st.booleans(),
    st.floats(allow_nan=True, allow_infinity=True),
    st.dates(),
    st.tuples(st.integers(), st.text(max_size=2)),
)


def maybe(elements: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.one_of(st.none(), elements)


@st.composite
def extension_columns(draw: st.DrawFn, rows: int) -> dict[str, Any]:
    """Columns of every other supported dtype, ``rows`` long, with missing values."""

    def values(elements: st.SearchStrategy[Any]) -> list[Any]:
        return draw(st.lists(elements, min_size=rows, max_size=rows))

    floats = np.array(values(st.floats(allow_nan=True, allow_infinity=True)), dtype="float64")
    categories = draw(st.lists(st.text(min_size=1, max_size=3), unique=True, max_size=4))
    instants = values(maybe(INSTANTS))
    return {
        "string": pd.array(values(maybe(st.text(max_size=5))), dtype="string"),
        "str": pd.array(values(maybe(st.text(max_size=5))), dtype="str"),
        "Int64": pd.array(values(maybe(st.integers(-(2**63), 2**63 - 1))), dtype="Int64"),
        "boolean": pd.array(values(maybe(st.booleans())), dtype="boolean"),
        # NaN and NA are different values in a Float64 column: both must come back as such.
        "Float64": pd.arrays.FloatingArray(floats, np.array(values(st.booleans()), dtype=bool)),
        "category": pd.Categorical(
            values(maybe(st.sampled_from(categories))) if categories else [None] * rows,
            categories=categories,
            ordered=draw(st.booleans()),
        ),
        "aware": pd.to_datetime(pd.array(instants, dtype="Int64"), unit="ns", utc=True).tz_convert(
            draw(st.sampled_from(ZONES))
        ),
        "mixed": pd.array(values(OBJECT_CELLS), dtype=object),
    }


@st.composite
def frames(draw: st.DrawFn) -> pd.DataFrame:
    base = draw(hpd.data_frames(columns=NUMPY_COLUMNS, index=INDEXES))
    extra = draw(extension_columns(len(base)))
    for name, column in extra.items():
        base[name] = pd.Series(column, index=base.index)
    chosen = draw(st.permutations(list(base.columns)))
    frame = base[chosen[: draw(st.integers(0, len(chosen)))]]
    if draw(st.booleans()):
        frame.index = frame.index.rename(draw(st.sampled_from(["row", 0, None])))
    if draw(st.booleans()):
        frame.columns = pd.RangeIndex(len(frame.columns))
    return frame


# -- properties -------------------------------------------------------------------------------
@PROPERTY
@pytest.mark.slow
@given(frames())
def test_a_frame_comes_back_exactly(frame: pd.DataFrame) -> None:
    assert_stored_exactly(frame)


@PROPERTY
@pytest.mark.slow
@given(frames(), st.data())
def test_a_series_comes_back_exactly(frame: pd.DataFrame, data: st.DataObject) -> None:
    if frame.empty and not len(frame.columns):
        return
    series = frame.iloc[:, data.draw(st.integers(0, len(frame.columns) - 1))]
    back = round_trip(series)
    assert_series_equal(back, series, **SERIES_STRICT)
    assert codec.same_value(back, series)


@given(st.binary(max_size=2048))
def test_bytes_come_back_exactly(value: bytes) -> None:
    back = round_trip(value)
    assert back == value and type(back) is bytes


@PROPERTY
@pytest.mark.slow
@given(frames())
def test_a_changed_cell_is_a_different_value(frame: pd.DataFrame) -> None:
    if "int" not in frame.columns or frame.empty:
        return
    changed = frame.copy()
    changed.iloc[0, list(frame.columns).index("int")] ^= 1
    assert not codec.same_value(changed, frame)


def strictly_equal(left: pd.DataFrame, right: pd.DataFrame) -> bool:
    """What ``same_value`` must say, the slow way: pandas' strictest comparison (``NaN``
    equals ``NaN``, ``0.0`` equals ``-0.0``) plus the cell types of ``object`` columns."""
    try:
        assert_frame_equal(left, right, **STRICT)
    except AssertionError:
        return False
    return all(
        list(map(type, left.iloc[:, i])) == list(map(type, right.iloc[:, i]))
        for i in range(left.shape[1])
        if left.dtypes.iloc[i] == np.dtype(object)
    )


@PROPERTY
@pytest.mark.slow
@given(frames(), st.data())
def test_a_copy_is_the_same_and_a_cell_copied_from_another_row_is_compared_exactly(
    frame: pd.DataFrame, data: st.DataObject
) -> None:
    assert codec.same_value(copy.deepcopy(frame), frame)
    if len(frame) < 2 or frame.shape[1] == 0:
        return
    column = data.draw(st.integers(0, frame.shape[1] - 1))
    row, source = data.draw(st.permutations(range(len(frame))))[:2]
    changed = frame.copy()
    changed.iloc[row, column] = frame.iloc[source, column]
    # A change is never taken for the same value, and what is stored the same is the same
    # (no needless save). pandas' strictest comparison is no exact oracle: it takes -0.0 for
    # 0.0, which the codec keeps apart.
    same = codec.same_value(changed, frame)
    if not strictly_equal(changed, frame):
        assert not same
    if codec.encode("k", changed) == codec.encode("k", frame):
        assert same


@pytest.mark.parametrize(
    ("column", "cell"),
    [
        ("int", 7),
        ("float", float("nan")),
        ("text", "edited"),
        ("when", pd.Timestamp("2030-01-01")),
        ("str", "edited"),
        ("Int64", pd.NA),
        ("category", "y"),
        ("object", 1),  # it held True: 1 == True, but not the same value
    ],
)
def test_an_edit_in_place_of_any_column_is_noticed(column: str, cell: Any) -> None:
    frame = pd.DataFrame(
        {
            "int": np.arange(3),
            "float": [0.5, 1.5, 2.5],
            "text": pd.Series(["a", "b", "c"], dtype=object),
            "when": pd.date_range("2025-01-01", periods=3),
            "str": pd.array(["a", "b", "c"], dtype="str"),
            "Int64": pd.array([1, 2, 3], dtype="Int64"),
            "category": pd.Categorical(["x", "y", "x"]),
            "object": pd.Series([True, None, dt.date(2025, 1, 6)], dtype=object),
        }
    )
    synced = copy.deepcopy(frame)  # what the engine keeps
    assert codec.same_value(frame, synced)
    frame.loc[0, column] = cell
    assert not codec.same_value(frame, synced)


def test_equal_values_with_other_bits_are_the_same() -> None:
    frame = pd.DataFrame({"x": [0.0, float("nan")]})
    other = pd.DataFrame({"x": [-0.0, -float("nan")]})
    assert codec.same_value(other, frame)
    text = pd.DataFrame({"t": pd.Series(["ab", "c"], dtype=object)})
    rebuilt = pd.DataFrame({"t": pd.Series(["".join("ab"), "c"], dtype=object)})  # new objects
    assert codec.same_value(rebuilt, text)


# -- examples -------------------------------------------------------------------------------
def test_the_stored_form_is_readable_json() -> None:
    frame = pd.DataFrame(
        {"item": ["会場", None], "amount": pd.array([120_000, None], dtype="Int64")},
        index=pd.RangeIndex(0, 2, name="row"),
    )
    stored = json.loads(codec.encode("persist_budget", frame))
    assert stored["$type"] == "DataFrame"
    item, amount = stored["v"]["columns"]
    assert item["name"] == "item" and item["values"] == ["会場", None]
    assert amount == {"name": "amount", "dtype": "Int64", "values": [120000, None]}
    assert stored["v"]["index"] == {"name": "row", "range": [0, 2, 1]}


@pytest.mark.parametrize(
    "frame",
    [
        pd.DataFrame(),
        pd.DataFrame(index=pd.RangeIndex(3, 12, 3)),
        pd.DataFrame({"a": [1.0, float("nan"), -float("inf"), -0.0]}),
        pd.DataFrame({"a": [1, 2]}, index=pd.Index(["x", "y"], dtype=object)),
        pd.DataFrame([[1, 2]], columns=["same", "same"]),
        pd.DataFrame({"a": [1, 2, 3]}, index=pd.date_range("2025-01-06", periods=3, freq="W-MON")),
        pd.DataFrame({"n": [1, 2]}, index=pd.CategoricalIndex(["b", "a"], categories=["b", "a"])),
        pd.DataFrame({"at": pd.to_datetime(["2025-01-06T09:00:00.000000001", None])}).apply(
            lambda column: column.dt.tz_localize("Asia/Tokyo")
        ),
        pd.DataFrame({"d": [dt.date(2025, 1, 6), {"$type": "x"}, [1, (2,)], pd.NA, pd.NaT]}),
        pd.DataFrame({"u8": np.array([0, 255], dtype="uint8"), "f32": np.array([1.5, 0.1], "f4")}),
    ],
    ids=[
        "empty",
        "only-an-index",
        "floats",
        "object-index",
        "duplicate-labels",
        "weekly-dates",
        "categorical-index",
        "tokyo-nanoseconds",
        "object-cells",
        "small-numbers",
    ],
)
def test_examples_come_back_exactly(frame: pd.DataFrame) -> None:
    assert_stored_exactly(frame)


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        (pd.DataFrame({"a": [1]}, index=pd.MultiIndex.from_tuples([(1, 2)])), "MultiIndex"),
        (pd.DataFrame({"p": pd.period_range("2025-01", periods=2, freq="M")}), "column 'p'"),
        (pd.DataFrame({"c": [1 + 2j]}), "complex"),
        (pd.DataFrame({"o": [object()]}), "object"),
        (pd.Timestamp("2025-01-06"), "Timestamp"),
    ],
    ids=["multiindex", "period", "complex", "object-cell", "timestamp"],
)
def test_what_cannot_be_stored_names_the_key(value: Any, reason: str) -> None:
    with pytest.raises(UnstorableValueError, match=f"persist_table.*{reason}"):
        codec.encode("persist_table", value)


def test_an_unreadable_table_is_a_value_error() -> None:
    text = codec.encode("k", pd.DataFrame({"a": [1, 2]}))
    broken = text.replace('"int64"', '"no such dtype"')
    with pytest.raises(ValueError, match="DataFrame"):
        codec.loads(broken)


@pytest.mark.parametrize(
    "change",
    [
        lambda f: f.astype({"a": "float64"}),
        lambda f: f.set_axis(pd.Index([0, 1, 2]), axis=0),  # same labels, not a RangeIndex
        lambda f: f[["b", "a"]],
        lambda f: f.rename_axis("row"),
        lambda f: f.assign(b=pd.Categorical(["x", "y", "x"], categories=["y", "x"])),
        lambda f: f.assign(o=[1, True, None]),  # 1 == True for ==, not for storage
    ],
    ids=["dtype", "index-type", "column-order", "index-name", "category-order", "object-type"],
)
def test_frames_that_would_be_stored_differently_are_not_the_same(change: Any) -> None:
    frame = pd.DataFrame(
        {"a": [1, 2, 3], "b": pd.Categorical(["x", "y", "x"], categories=["x", "y"])}
    ).assign(o=[True, True, None])
    assert codec.same_value(frame, frame.copy())
    assert not codec.same_value(change(frame), frame)


def test_a_series_named_nan_is_the_same_as_its_copy() -> None:
    series = pd.Series([1.0], name=float("nan"))
    assert codec.same_value(series, series.copy())
    assert codec.same_value(round_trip(series), series)


def test_containers_of_frames_compare_by_content() -> None:
    frame = pd.DataFrame({"a": [1.0, float("nan")]})
    assert codec.same_value([frame], [frame.copy()])
    assert codec.same_value({"t": frame}, {"t": frame.copy()})
    assert not codec.same_value([frame], [frame.fillna(0)])


# -- the engine -------------------------------------------------------------------------------
def test_the_engine_saves_a_frame_once_and_notices_an_in_place_edit(
    store: StorageInterface,
) -> None:
    store.create_process("p")
    sync = StateSync(store, {}, prefix="persist_", max_bytes=1 << 20)
    sync.open("p")
    frame = pd.DataFrame({"item": ["a", "b"], "amount": [1.5, float("nan")]})
    sync.state["persist_table"] = frame
    sync.end_run(sync.begin_run())
    revision = store.process_revision("p")
    for _ in range(3):  # NaN equals NaN: an unchanged table writes nothing
        sync.end_run(sync.begin_run())
    assert store.process_revision("p") == revision
    frame.loc[1, "amount"] = 2.0
    sync.end_run(sync.begin_run())
    saved = store.load_process("p")
    assert saved is not None
    assert_frame_equal(saved["persist_table"], frame, **STRICT)


def nested_categories(levels: int) -> dict[str, Any]:
    """A series of categories whose categories are categories, ``levels`` deep: a few KB of
    JSON that decoding each level's categories twice took 2 ** levels steps to read."""
    described: dict[str, Any] = {"dtype": "int64", "values": [1, 2]}
    for _ in range(levels):
        described = {
            "dtype": "category",
            "ordered": False,
            "categories": described,
            "values": [1, 2],
        }
    payload = {"name": None, **described, "index": {"name": None, "range": [0, 2, 1]}}
    return {"$type": "Series", "v": payload}


def test_nested_categories_decode_in_linear_time_and_deep_ones_are_refused() -> None:
    with hang_guard(60):
        series = codec.from_jsonable(nested_categories(80))  # 2 ** 80 steps before
        assert list(series) == [1, 2]
        assert codec.loads(json.dumps(nested_categories(80))).equals(series)
        for levels in (150, 300):
            text = json.dumps(nested_categories(levels))
            with pytest.raises(ValueError, match="nested deeper"):
                codec.loads(text)
            with pytest.raises(ValueError, match="nested deeper"):
                codec.from_jsonable(json.loads(text))


@pytest.mark.parametrize(
    "series",
    [
        pd.Series(pd.period_range("2025-01-01", periods=3, freq="D")),
        pd.Series(pd.interval_range(0, 3)),
    ],
    ids=["period", "interval"],
)
def test_period_and_interval_columns_are_refused_both_ways(series: pd.Series) -> None:
    with pytest.raises(UnstorableValueError, match="persist_t"):
        codec.encode("persist_t", series)
    with pytest.raises(UnstorableValueError, match="persist_t"):
        codec.encode("persist_t", series.to_frame())
    # an export naming such a dtype would come back as object: refused instead
    payload = {
        "name": None,
        "dtype": str(series.dtype),
        "values": [str(item) for item in series],
        "index": {"name": None, "range": [0, 3, 1]},
    }
    with pytest.raises(ValueError, match="cannot be read"):
        codec.from_jsonable({"$type": "Series", "v": payload})


def test_a_frame_nested_in_cells_is_bounded() -> None:
    value: Any = 0
    for _ in range(30):  # a frame in an object cell of a frame ... five levels each
        value = pd.DataFrame({"a": pd.Series([value], dtype=object)})
    with pytest.raises(UnstorableValueError, match="nested deeper"):
        codec.encode("persist_t", value)
