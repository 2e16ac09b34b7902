"""Session-state values to JSON text and back, losslessly, without pickle.

JSON types pass through; ``date``, ``datetime``, ``time`` and ``tuple`` are tagged as
``{"$type": ..., "v": ...}`` so they come back as the same Python types (a restored
``st.date_input`` needs a real ``date``). A user dict that itself has a ``"$type"`` key is
wrapped, so no stored value can be mistaken for a tag.
"""

from __future__ import annotations

import json
from datetime import date, datetime, time
from typing import Any

from persistence.errors import UnstorableValueError

TYPE_TAG = "$type"
_SCALARS = (str, int, float, bool, type(None))


def to_jsonable(value: Any) -> Any:
    """Return a structure of plain JSON types that ``from_jsonable`` turns back into ``value``.

    Raises ``TypeError`` or ``ValueError`` for a value that cannot be stored.
    """
    kind = type(value)
    if kind in _SCALARS:
        if kind is float and value - value != 0:
            raise ValueError(f"{value!r} is not a finite number")
        return value
    if kind is list:
        return [to_jsonable(item) for item in value]
    if kind is tuple:
        return {TYPE_TAG: "tuple", "v": [to_jsonable(item) for item in value]}
    if kind is dict:
        return _dict_to_jsonable(value)
    if kind is datetime:
        return {TYPE_TAG: "datetime", "v": value.isoformat()}
    if kind is date:
        return {TYPE_TAG: "date", "v": value.isoformat()}
    if kind is time:
        return {TYPE_TAG: "time", "v": value.isoformat()}
    raise TypeError(f"values of type {kind.__name__} cannot be stored")


def _dict_to_jsonable(value: dict[Any, Any]) -> Any:
    for key in value:
        if type(key) is not str:
            raise TypeError(f"dictionary keys must be strings, not {type(key).__name__}")
    items = {key: to_jsonable(item) for key, item in value.items()}
    if TYPE_TAG in items:
        return {TYPE_TAG: "dict", "v": [[key, item] for key, item in items.items()]}
    return items


def _from_tagged(obj: dict[str, Any]) -> Any:
    tag = obj.get(TYPE_TAG)
    if tag is None or len(obj) != 2 or "v" not in obj:
        return obj
    payload = obj["v"]
    if tag == "tuple":
        return tuple(payload)
    if tag == "date":
        return date.fromisoformat(payload)
    if tag == "datetime":
        return datetime.fromisoformat(payload)
    if tag == "time":
        return time.fromisoformat(payload)
    if tag == "dict":
        return {key: item for key, item in payload}
    return obj


def from_jsonable(obj: Any) -> Any:
    """Inverse of ``to_jsonable`` for a structure that came from ``json.loads`` without a hook."""
    if type(obj) is dict:
        return _from_tagged({key: from_jsonable(item) for key, item in obj.items()})
    if type(obj) is list:
        return [from_jsonable(item) for item in obj]
    return obj


def dumps(obj: Any) -> str:
    """Compact JSON text for a structure of plain JSON types."""
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"), allow_nan=False)


def loads(text: str | bytes) -> Any:
    """Parse JSON text written by ``dumps``/``encode`` and rebuild tagged values."""
    return json.loads(text, object_hook=_from_tagged)


def checked_jsonable(key: str, value: Any) -> Any:
    """``to_jsonable`` whose failure is an ``UnstorableValueError`` naming ``key``."""
    try:
        return to_jsonable(value)
    except (TypeError, ValueError, RecursionError) as error:
        raise UnstorableValueError(key, str(error)) from None


def encode(key: str, value: Any) -> str:
    """One session-state value as JSON text; ``UnstorableValueError`` names ``key`` on failure."""
    return dumps(checked_jsonable(key, value))
