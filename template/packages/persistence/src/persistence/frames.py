"""pandas ``DataFrame`` and ``Series`` as plain JSON structures, losslessly, and their equality.

This module registers itself with the codec (``persistence.codec``) for pandas values as
it is imported, which the codec does on the first pandas value (``codec.provide`` in the
package's ``__init__``): the ``persist`` command and plain values never import pandas. A
frame is a tagged object a person can read in ``persist show``: one entry per column with
its label, dtype and values, then the index::

    {"$type": "DataFrame", "v": {
        "columns": [
            {"name": "item", "dtype": "str[pyarrow]", "values": ["Venue", null]},
            {"name": "amount", "dtype": "Int64", "values": [120000, null]}],
        "index": {"name": null, "range": [0, 2, 1]},
        "column_labels": {"name": null, "dtype": "str[pyarrow]"}}}

Values are written the way their dtype needs them to come back exactly:

* integers, booleans and text as JSON numbers, booleans and strings; a missing value
  (``None``, ``NA``, ``NaN`` of a text column) as ``null``;
* floats as numbers, and ``NaN``, ``Infinity``, ``-Infinity`` as those strings;
* nullable ``Int64``/``Float64``/``boolean``: ``null`` is ``NA``, so a ``NaN`` that is not
  ``NA`` stays a ``NaN``;
* ``datetime64[unit]`` as ISO text at that unit; with a time zone, as UTC (``...Z``), the
  zone being in the dtype; ``timedelta64[unit]`` as an integer count of the unit; ``NaT`` as
  ``null``;
* ``category``: the categories (an array of their own dtype), ``ordered``, and each value
  as its category (``null`` for a missing one);
* ``object`` cells through the codec (``date``, ``tuple`` ... tagged as usual), a
  non-finite float, ``NA`` and ``NaT`` with tags of their own.

A default ``RangeIndex`` stays a ``RangeIndex`` (``range``: start, stop, step); another
index is an array like a column, with its ``name`` (and ``freq`` for a dated one). The
column labels are an index too: their values are the columns' ``name`` s. What this module
cannot write exactly (a ``MultiIndex``, ``Period``, ``Interval``, ``Sparse``, pyarrow-backed
columns other than text, complex numbers, subclasses ...) raises ``TypeError``, and the
engine shows its usual "cannot be stored" warning for that key.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from persistence import codec

TYPE_TAG = codec.TYPE_TAG
_NAT_INT = np.iinfo(np.int64).min
_FRAME_LEVELS = 5
_STRING_NAME = re.compile(r"(string|str)\[(\w+)\]")
_MASKED = (
    pd.BooleanDtype,
    pd.Int8Dtype,
    pd.Int16Dtype,
    pd.Int32Dtype,
    pd.Int64Dtype,
    pd.UInt8Dtype,
    pd.UInt16Dtype,
    pd.UInt32Dtype,
    pd.UInt64Dtype,
    pd.Float32Dtype,
    pd.Float64Dtype,
)


# -- the codec's entry points ----------------------------------------------------------------
def to_jsonable(value: Any, depth: int = 1) -> Any:
    """The tagged structure of a ``DataFrame`` or ``Series`` (``depth``: the level it sits at,
    as in ``codec.to_jsonable``); ``TypeError`` for anything else."""
    kind = type(value)
    # A cell or a label sits at most _FRAME_LEVELS below the frame (its tag, "v", "columns",
    # a column, its "values"); each level of categories of categories adds one.
    cells = depth + _FRAME_LEVELS
    if cells > codec.MAX_DEPTH:
        raise ValueError(f"it is nested deeper than {codec.MAX_DEPTH} levels")
    if kind is pd.DataFrame:
        return {TYPE_TAG: "DataFrame", "v": _frame_out(value, cells)}
    if kind is pd.Series:
        return {TYPE_TAG: "Series", "v": _series_out(value, cells)}
    raise TypeError(f"values of type {kind.__name__} cannot be stored")


def from_tagged(tag: str, payload: Any) -> Any:
    """The value of a tag this module wrote; ``ValueError`` for a payload it cannot read."""
    try:
        if tag == "DataFrame":
            return _frame_in(payload)
        if tag == "Series":
            return _series_in(payload)
        if tag == "NA":
            return pd.NA
        if tag == "NaT":
            return pd.NaT
    except (KeyError, TypeError, ValueError, OverflowError, AttributeError, IndexError) as error:
        raise ValueError(f"unreadable {tag}: {error}") from None
    raise ValueError(f"unknown tag {tag!r}")


def same(left: Any, right: Any) -> bool:
    """Whether two frames (or two series) of the same type would be stored the same.

    Cheaper than comparing encodings, and cheapest for what an unchanged rerun compares (a
    value with the engine's copy of it): shape, labels and dtypes first, then column by
    column the raw values: the same bits (for ``object`` cells, the very same objects) are
    the same value. Only a column that differs there is compared as pandas' ``equals`` does
    (``NaN`` equals ``NaN``, ``0.0`` equals ``-0.0``) plus the cell types of ``object``
    columns, which ``equals`` compares with ``==`` (``1 == True``).
    """
    if isinstance(left, pd.DataFrame):
        return (
            left.shape == right.shape
            and _same_index(left.index, right.index)
            and _same_index(left.columns, right.columns)
            and all(
                _same_values(_column_values(left, i), _column_values(right, i))
                for i in range(left.shape[1])
            )
        )
    return (
        _same_label(left.name, right.name)
        and _same_index(left.index, right.index)
        and _same_values(_values(left), _values(right))
    )


def merge_cells(base: Any, ours: Any, theirs: Any) -> pd.DataFrame | None:
    """``theirs`` with the cells that ``ours`` changed from ``base``: one table that two
    sessions edited from the same ``base``, merged cell by cell (a cell both changed takes
    ``ours``). Rows are matched by position; rows added at the end by one side are kept.
    ``None`` when the tables cannot be merged cell by cell: not all three frames, columns or
    dtypes not the same in all three, rows deleted, or rows added on both sides."""
    tables = (base, ours, theirs)
    if not all(type(table) is pd.DataFrame for table in tables) or not base.columns.is_unique:
        return None
    if not all(
        table.columns.equals(base.columns) and table.dtypes.equals(base.dtypes) for table in tables
    ):
        return None
    rows = len(base)
    if min(len(ours), len(theirs)) != rows:
        return None  # rows deleted somewhere, or added on both sides
    if not (ours.index[:rows].equals(base.index) and theirs.index[:rows].equals(base.index)):
        return None
    merged = theirs.copy(deep=True)
    for position in range(base.shape[1]):
        changed = np.flatnonzero(_changed_cells(base.iloc[:, position], ours.iloc[:rows, position]))
        if changed.size:
            merged.iloc[changed, position] = ours.iloc[changed, position].array
    if len(ours) > rows:
        merged = pd.concat([merged, ours.iloc[rows:]])
    return merged


def _changed_cells(before: pd.Series, after: pd.Series) -> Any:
    """Per row, whether ``after`` holds another value than ``before`` (missing equals missing)."""
    try:
        equal = before.eq(after).fillna(False).to_numpy(dtype=bool)
        missing = (before.isna() & after.isna()).to_numpy(dtype=bool)
    except (TypeError, ValueError):  # cells pandas cannot compare at once (lists, say)
        return np.array(
            [not codec.same_value(old, new) for old, new in zip(before, after, strict=True)],
            dtype=bool,
        )
    return ~(equal | missing)


# -- equality -------------------------------------------------------------------------------
def _same_label(left: Any, right: Any) -> bool:
    if left is right:
        return True
    if type(left) is not type(right):
        return False
    try:
        return bool(left == right) or (left != left and right != right)  # NaN is NaN
    except (TypeError, ValueError):
        return False


def _same_index(left: pd.Index, right: pd.Index) -> bool:
    return (
        type(left) is type(right)
        and left.dtype == right.dtype
        and len(left.names) == len(right.names)
        and all(_same_label(a, b) for a, b in zip(left.names, right.names, strict=True))
        and getattr(left, "freq", None) == getattr(right, "freq", None)
        and (
            bool(left.equals(right))  # start, stop and step
            if type(left) is pd.RangeIndex
            else _same_values(_values(left), _values(right))
        )
    )


def _values(data: pd.Series | pd.Index) -> Any:
    """The array behind a series or an index, not copied: numpy's, or an extension array."""
    return data.to_numpy(copy=False) if isinstance(data.dtype, np.dtype) else data.array


def _column_values(frame: pd.DataFrame, position: int) -> Any:
    """The array of the column at ``position``, not copied. pandas' own accessor builds no
    ``Series`` (``iloc`` takes about 50 µs a column, most of an unchanged table's cost)."""
    get = getattr(frame, "_get_column_array", None)
    if get is not None:
        try:
            values = get(position)
        except (AttributeError, IndexError, TypeError):
            pass
        else:  # numpy's array, a datetime or timedelta array (numpy's inside), or another
            return np.asarray(values) if isinstance(values.dtype, np.dtype) else values
    return _values(frame.iloc[:, position])


def _same_values(left: Any, right: Any) -> bool:
    """Same dtype (and categories in the same order) and the same values, ``object`` cells
    of the same types: what ``same`` says of one column, an index or a series."""
    dtype = left.dtype
    if dtype != right.dtype:
        return False
    if not isinstance(dtype, np.dtype):
        if isinstance(dtype, pd.CategoricalDtype) and not dtype.categories.equals(
            right.dtype.categories
        ):
            return False
        return bool(left.equals(right))
    # The same bits are the same values; an object array's bits are its cells' addresses,
    # so equal bits are the very same objects.
    if left.tobytes() == right.tobytes():
        return True
    if dtype.kind == "O" and list(map(type, left.tolist())) != list(map(type, right.tolist())):
        return False
    return bool(  # pandas' equals: NaN equals NaN
        pd.Series(left, dtype=dtype, copy=False).equals(pd.Series(right, dtype=dtype, copy=False))
    )


# -- dtypes ---------------------------------------------------------------------------------
def _dtype_name(dtype: Any) -> str:
    """The dtype as text that ``_dtype_from_name`` turns back into an equal dtype."""
    if isinstance(dtype, pd.StringDtype):
        family = "string" if dtype.na_value is pd.NA else "str"
        name = f"{family}[{dtype.storage}]"
    else:
        name = str(dtype)
    try:
        same_back = _dtype_from_name(name) == dtype
    except (TypeError, ValueError):
        same_back = False
    if not same_back:
        raise TypeError(f"columns of dtype {name} cannot be stored")
    return name


def _dtype_from_name(name: str) -> Any:
    match = _STRING_NAME.fullmatch(name)
    if match is None:
        return pd.api.types.pandas_dtype(name)
    family, storage = match.groups()
    if family == "string":
        return pd.StringDtype(storage)
    try:
        return pd.StringDtype(storage, na_value=np.nan)
    except TypeError:  # pandas before 2.3: NaN semantics are the storage "pyarrow_numpy"
        return pd.StringDtype(storage)


# -- arrays: one column, an index, or the categories of a category ------------------------------
def _array_out(values: pd.Series | pd.Index, depth: int) -> dict[str, Any]:
    """``depth``: the level of its cells."""
    dtype = values.dtype
    if isinstance(dtype, pd.CategoricalDtype):
        if depth >= codec.MAX_DEPTH:
            raise ValueError(f"its categories are nested deeper than {codec.MAX_DEPTH} levels")
        categories = _array_out(dtype.categories, depth + 1)
        labels = categories["values"]
        codes = pd.Categorical(values).codes.tolist()
        return {
            "dtype": "category",
            "ordered": bool(dtype.ordered),
            "categories": categories,
            "values": [labels[code] if code >= 0 else None for code in codes],
        }
    return {"dtype": _dtype_name(dtype), "values": _values_out(values, dtype, depth)}


def _values_out(values: pd.Series | pd.Index, dtype: Any, depth: int) -> list[Any]:
    if isinstance(dtype, pd.StringDtype):
        return [None if item is None else str(item) for item in _objects(values)]
    if isinstance(dtype, _MASKED):
        items = _objects(values)
        if dtype.kind == "f":
            return [None if item is None else _float_out(item) for item in items]
        return items
    if isinstance(dtype, pd.DatetimeTZDtype):
        utc = pd.DatetimeIndex(values).tz_convert("UTC").tz_localize(None).to_numpy()
        return [None if text == "NaT" else text + "Z" for text in _iso(utc)]
    if not isinstance(dtype, np.dtype):
        raise TypeError(f"columns of dtype {dtype} cannot be stored")
    array = np.asarray(values)
    kind = dtype.kind
    if kind in "iub":
        return array.tolist()  # type: ignore[no-any-return]
    if kind == "f":
        return [_float_out(item) for item in array.tolist()]
    if kind == "M":
        return [None if text == "NaT" else str(text) for text in _iso(array)]
    if kind == "m":
        return [None if item == _NAT_INT else item for item in array.view("i8").tolist()]
    if kind == "O":
        return [_cell_out(item, depth) for item in array.tolist()]
    raise TypeError(f"columns of dtype {dtype} cannot be stored")


def _objects(values: pd.Series | pd.Index) -> list[Any]:
    """Python scalars, ``None`` for a missing value."""
    return pd.array(values).to_numpy(dtype=object, na_value=None).tolist()  # type: ignore[no-any-return]


def _iso(array: Any) -> Any:
    unit: Any = np.datetime_data(array.dtype)[0]
    return np.datetime_as_string(array, unit=unit)


def _float_out(item: float) -> float | str:
    if math.isfinite(item):
        return item
    return "NaN" if item != item else ("Infinity" if item > 0 else "-Infinity")


def _float_in(item: Any) -> float:
    return float(item)  # also reads "NaN", "Infinity", "-Infinity"


def _cell_out(item: Any, depth: int) -> Any:
    """One ``object`` cell (or a label): the codec's encoding, plus non-finite floats, ``NA``
    and ``NaT``, which a frame holds for a missing value."""
    if item is None:
        return None
    if type(item) is float and not math.isfinite(item):
        return {TYPE_TAG: "float", "v": _float_out(item)}
    if item is pd.NA:
        return {TYPE_TAG: "NA", "v": None}
    if item is pd.NaT:
        return {TYPE_TAG: "NaT", "v": None}
    return codec.to_jsonable(item, depth)


def _array_in(obj: dict[str, Any]) -> Any:
    """The pandas or numpy array of an ``_array_out`` structure."""
    values = obj["values"]
    if not isinstance(values, list):
        raise TypeError("values must be a list")
    return _reader(obj)(values)


def _reader(obj: dict[str, Any]) -> Callable[[list[Any]], Any]:
    """What reads values of the dtype ``obj`` describes, everything about that dtype (the
    categories, at every level) read once: the time is linear in the input, also for
    categories whose categories are categories."""
    name = obj["dtype"]
    if name == "category":
        return _categorical_reader(obj)
    dtype = _dtype_from_name(name)
    reader = _READERS.get(type(dtype))
    if reader is None and not isinstance(dtype, np.dtype):
        raise TypeError(f"columns of dtype {name} cannot be read exactly")  # period, interval
    if reader is None:
        return lambda values: _numpy_in(values, dtype)
    return lambda values: reader(values, dtype)


def _categorical_reader(obj: dict[str, Any]) -> Callable[[list[Any]], Any]:
    """Categories of their own dtype, and each value as its category (``None``: missing)."""
    described = obj["categories"]
    if not isinstance(described.get("values"), list):
        raise TypeError("values must be a list")
    labels_of = _reader(described)
    categories = pd.Index(labels_of(described["values"]))
    dtype = pd.CategoricalDtype(categories, ordered=bool(obj["ordered"]))

    def read(values: list[Any]) -> Any:
        present = [position for position, item in enumerate(values) if item is not None]
        labels = labels_of([values[p] for p in present])
        codes = np.full(len(values), -1, dtype=np.int64)
        codes[present] = categories.get_indexer(labels)
        if (codes[present] < 0).any():
            raise ValueError("a value that is not one of the categories")
        return pd.Categorical.from_codes(codes, dtype=dtype)

    return read


def _string_in(values: list[Any], dtype: Any) -> Any:
    return pd.array(values, dtype=dtype)


def _masked_in(values: list[Any], dtype: Any) -> Any:
    mask = np.array([item is None for item in values], dtype=bool)
    fill = False if dtype.kind == "b" else 0
    convert = _float_in if dtype.kind == "f" else (lambda item: item)
    data = np.array(
        [fill if item is None else convert(item) for item in values], dtype=dtype.numpy_dtype
    )
    return dtype.construct_array_type()(data, mask)


def _datetime_tz_in(values: list[Any], dtype: Any) -> Any:
    text = ["NaT" if item is None else str(item).removesuffix("Z") for item in values]
    utc = np.array(text, dtype=f"datetime64[{dtype.unit}]")
    return pd.DatetimeIndex(utc).tz_localize("UTC").tz_convert(dtype.tz).array


def _numpy_in(values: list[Any], dtype: np.dtype[Any]) -> Any:
    kind = dtype.kind
    if kind in "iub":
        return np.array(values, dtype=dtype)
    if kind == "f":
        return np.array([_float_in(item) for item in values], dtype=dtype)
    if kind == "M":
        return np.array(["NaT" if item is None else item for item in values], dtype=dtype)
    if kind == "m":
        counts = np.array([_NAT_INT if item is None else item for item in values], dtype="i8")
        return counts.view(dtype)
    if kind == "O":
        array = np.empty(len(values), dtype=object)
        for position, item in enumerate(values):
            array[position] = item  # one by one: a list cell stays a list
        return array
    raise TypeError(f"dtype {dtype} cannot be read")


_READERS: dict[type, Callable[[list[Any], Any], Any]] = {
    pd.StringDtype: _string_in,
    pd.DatetimeTZDtype: _datetime_tz_in,
    **{masked: _masked_in for masked in _MASKED},
}


# -- indexes, series, frames ------------------------------------------------------------------
def _index_out(index: pd.Index, depth: int) -> dict[str, Any]:
    if isinstance(index, pd.MultiIndex):
        raise TypeError("a MultiIndex cannot be stored")
    name = _cell_out(index.name, depth)
    if type(index) is pd.RangeIndex:
        return {"name": name, "range": [index.start, index.stop, index.step]}
    out = {"name": name, **_array_out(index, depth)}
    freq = getattr(index, "freqstr", None)
    if freq is not None:
        out["freq"] = freq
    return out


def _index_in(obj: dict[str, Any]) -> pd.Index:
    name = obj["name"]
    if "range" in obj:
        start, stop, step = obj["range"]
        return pd.RangeIndex(start, stop, step, name=name)
    array = _array_in(obj)
    index = pd.Index(array, dtype=array.dtype, name=name)
    freq = obj.get("freq")
    if freq is not None:
        index = type(index)(index, freq=freq)
    return index


def _series_out(series: pd.Series, depth: int) -> dict[str, Any]:
    return {
        "name": _cell_out(series.name, depth),
        **_array_out(series, depth),
        "index": _index_out(series.index, depth),
    }


def _series_in(payload: dict[str, Any]) -> pd.Series:
    return _column(_array_in(payload), _index_in(payload["index"]), payload["name"])


def _column(array: Any, index: pd.Index, name: Any = None) -> pd.Series:
    # The dtype said again: pandas would read an object array of strings as text.
    return pd.Series(array, index=index, dtype=array.dtype, name=name, copy=False)


def _frame_out(frame: pd.DataFrame, depth: int) -> dict[str, Any]:
    labels = _index_out(frame.columns, depth)
    names = labels.pop("values", None)
    if names is None:  # a RangeIndex: the names are its numbers
        names = list(range(*labels["range"]))
    columns = []
    for position, name in enumerate(names):
        try:
            columns.append({"name": name, **_array_out(frame.iloc[:, position], depth)})
        except (TypeError, ValueError) as error:
            raise type(error)(f"column {frame.columns[position]!r}: {error}") from None
    return {"columns": columns, "index": _index_out(frame.index, depth), "column_labels": labels}


def _frame_in(payload: dict[str, Any]) -> pd.DataFrame:
    columns = payload["columns"]
    labels_obj = payload["column_labels"]
    if "range" in labels_obj:
        labels = _index_in(labels_obj)
    else:
        labels = _index_in({**labels_obj, "values": [column["name"] for column in columns]})
    if len(labels) != len(columns):
        raise ValueError("column labels and columns differ in number")
    index = _index_in(payload["index"])
    frame = pd.DataFrame(
        {position: _column(_array_in(column), index) for position, column in enumerate(columns)},
        index=index,
    )
    frame.columns = labels
    return frame


class _Pandas:
    """pandas values for the codec: each call looks up this module's function, so what
    replaces one (a test counting encodings) is what the codec calls."""

    def to_jsonable(self, value: Any, depth: int) -> Any:
        return to_jsonable(value, depth)

    def from_tagged(self, tag: str, payload: Any) -> Any:
        return from_tagged(tag, payload)

    def same(self, left: Any, right: Any) -> bool | None:
        if type(left) is not pd.DataFrame and type(left) is not pd.Series:
            return None  # a scalar such as NA: compared as any value
        return same(left, right)

    def mergeable(self, value: Any) -> bool:
        return type(value) is pd.DataFrame

    def merge_edits(self, base: Any, ours: Any, theirs: Any) -> Any:
        return merge_cells(base, ours, theirs)


codec.register("pandas", _Pandas())
