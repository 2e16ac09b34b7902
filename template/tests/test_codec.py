from __future__ import annotations

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
