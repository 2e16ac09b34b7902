from __future__ import annotations

import json
from datetime import date, datetime, time, timedelta, timezone
from typing import Any

import pytest

from persistence import codec
from persistence.errors import UnstorableValueError

pytestmark = pytest.mark.persistence


@pytest.mark.parametrize(
    "value",
    [
        "テキスト",
        0,
        -1.5,
        True,
        None,
        [1, [2, (3, 4)]],
        (),
        {"a": {"b": [date(2025, 1, 1)]}},
        {"$type": "date", "v": "2025-01-01"},
        datetime(2025, 1, 1, 12, 0, tzinfo=timezone(timedelta(hours=9))),
        time(23, 59, 59, 999999),
        b"\x00\xffbytes",
        b"",
    ],
)
def test_values_round_trip_with_their_types(value: Any) -> None:
    restored = codec.loads(codec.encode("persist_x", value))
    assert restored == value
    assert type(restored) is type(value)


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        (object(), "object"),
        ({1: "a"}, "keys must be strings"),
        (float("nan"), "finite"),
        ({1, 2}, "set"),
        (bytearray(b"bytes"), "bytearray"),
    ],
)
def test_unstorable_values_name_the_key_and_the_reason(value: Any, reason: str) -> None:
    with pytest.raises(UnstorableValueError, match=f"persist_x.*{reason}"):
        codec.encode("persist_x", value)


def nested(depth: int, wrap: Any) -> Any:
    """A value ``depth`` containers deep, each one made by ``wrap``."""
    value: Any = 0
    for _ in range(depth):
        value = wrap(value)
    return value


WRAPS = {
    "list": lambda inner: [inner],
    "tuple": lambda inner: (inner,),
    "dict": lambda inner: {"k": inner},
    "tagged dict": lambda inner: {"$type": inner},
}


@pytest.mark.parametrize("kind", WRAPS)
def test_nesting_is_bounded_on_encode_and_decode(kind: str) -> None:
    wrap = WRAPS[kind]
    shallow = nested(30, wrap)
    assert codec.loads(codec.encode("k", shallow)) == shallow
    deep = nested(codec.MAX_DEPTH + 1, wrap)
    with pytest.raises(UnstorableValueError, match="nested deeper than 100 levels"):
        codec.encode("k", deep)
    # what a hand edit or another tool could hand the decoder
    text = "[" * 5000 + "]" * 5000
    with pytest.raises(ValueError, match="nested deeper"):
        codec.loads(text)
    with pytest.raises(ValueError, match="nested deeper"):
        codec.loads(text.encode())
    with pytest.raises(ValueError, match="nested deeper"):
        codec.from_jsonable(nested(codec.MAX_DEPTH + 1, lambda inner: [inner]))


def test_brackets_inside_text_are_not_nesting() -> None:
    value = ["[" * 500, {"{" * 300: ']\\"' * 50}]
    assert codec.loads(codec.encode("k", value)) == value


def test_every_encoded_value_decodes_at_the_limit() -> None:
    for wrap in WRAPS.values():
        depth = codec.MAX_DEPTH
        while True:
            try:
                text = codec.encode("k", nested(depth, wrap))
                break
            except UnstorableValueError:
                depth -= 1
        assert codec.loads(text) == nested(depth, wrap)
        assert codec.from_jsonable(json.loads(text)) == nested(depth, wrap)


@pytest.mark.parametrize(
    ("key", "value"),
    [("k\x00", 1), ("k\ud800", 1), ("k", "\ud800"), ("k", {"\udc00": 1}), ("k", ("a\udfff",))],
)
def test_what_no_backend_stores_exactly_is_refused_by_key(key: str, value: Any) -> None:
    with pytest.raises(UnstorableValueError) as refused:
        codec.encode(key, value)
    assert refused.value.key == key
    with pytest.raises(UnstorableValueError):
        codec.encode_once(key, value)
