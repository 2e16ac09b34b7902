"""Session-state values to JSON text and back, losslessly, without pickle.

JSON types pass through; ``date``, ``datetime``, ``time`` and ``tuple`` are tagged as
``{"$type": ..., "v": ...}`` so they come back as the same Python types (a restored
``st.date_input`` needs a real ``date``). ``bytes`` are tagged base64 text. Values of
another package's types are stored by a module that registers them (``register``): pandas
``DataFrame`` and ``Series`` are tagged objects with their columns, dtypes and index
(``persistence.frames``, which the package declares with ``provide``, so it is imported
only when a value needs it). A user dict that itself has
a ``"$type"`` key is wrapped, so no stored value can be mistaken for a tag.

``same_value`` is the equality the sync engine compares values with: what would be stored
the same is the same (two frames compare as frames, not cell by cell).

``encode`` and ``encode_once`` take what a caller encoded already (``known``, an
``Encoded``): the engine encodes each changed value to check its size and hands those
encodings to the store with the write (``update_process(..., encoded=...)``), which uses
one only for the very same value object instead of encoding again (a table of 10,000 rows
takes tens of milliseconds).
"""

from __future__ import annotations

import base64
import binascii
import importlib
import json
import re
from collections.abc import Iterable, Mapping
from datetime import date, datetime, time
from typing import Any, NamedTuple, Protocol

from persistence.errors import UnstorableValueError

TYPE_TAG = "$type"
_SCALARS = (str, int, float, bool, type(None))
# Values whose ``==`` is a plain yes or no: the engine's hot path.
_PLAIN = frozenset({str, int, float, bool, type(None), date, datetime, time, bytes})
# JSON containers (objects, arrays) inside each other in a value's stored form. Encoding
# refuses a deeper value and decoding a deeper text, so what is stored can always be read
# back (whatever the stack depth of the thread that reads it) and no decoder recurses
# without bound.
MAX_DEPTH = 100
_TOO_DEEP = f"it is nested deeper than {MAX_DEPTH} levels"
# What is left of JSON text once strings and everything but brackets are taken out.
_NOT_BRACKETS = re.compile(r'"(?:[^"\\]|\\.)*"|[^\[\]{}"]+')
_NOT_BRACKETS_BYTES = re.compile(rb'"(?:[^"\\]|\\.)*"|[^\[\]{}"]+')
_EMPTY_PAIR = re.compile(r"\[\]|\{\}")


class ValueType(Protocol):
    """How the values of one package's types are stored (pandas: ``persistence.frames``)."""

    def to_jsonable(self, value: Any, depth: int) -> Any:
        """As ``to_jsonable``; ``TypeError`` for a value of the package it cannot store."""

    def from_tagged(self, tag: str, payload: Any) -> Any:
        """The value a tag this type was provided for, with its payload, stands for."""

    def same(self, left: Any, right: Any) -> bool | None:
        """Whether two values of one of its types are the same value for storage; ``None``
        to compare them as any other value."""

    def mergeable(self, value: Any) -> bool:
        """Whether two sessions' changes of ``value`` are merged part by part."""

    def merge_edits(self, base: Any, ours: Any, theirs: Any) -> Any:
        """``theirs`` with the parts ``ours`` changed from ``base``; ``None`` when they
        cannot be merged part by part."""


_REGISTERED: dict[str, ValueType] = {}  # top-level package of the types -> how to store them
_PROVIDERS: dict[str, str] = {}  # package -> the module that registers it, once imported
_TAG_PACKAGES: dict[str, str] = {}  # tag -> the package whose values are stored with it


def provide(package: str, module: str, tags: Iterable[str]) -> None:
    """Values of ``package``'s types, stored with ``tags``, are stored by ``module``, which
    calls ``register`` as it is imported: on the first such value, so a plain value never
    imports the package."""
    _PROVIDERS[package] = module
    for tag in tags:
        _TAG_PACKAGES[tag] = package


def register(package: str, value_type: ValueType) -> None:
    """Store the values of ``package``'s types (``pandas``) as ``value_type`` says."""
    _REGISTERED[package] = value_type


def _value_type(package: str) -> ValueType | None:
    found = _REGISTERED.get(package)
    if found is None and package in _PROVIDERS:
        importlib.import_module(_PROVIDERS[package])  # registers itself
        found = _REGISTERED.get(package)
    return found


def _package_of(kind: type) -> str:
    return kind.__module__.partition(".")[0]


def to_jsonable(value: Any, depth: int = 1) -> Any:
    """Return a structure of plain JSON types that ``from_jsonable`` turns back into ``value``.

    ``depth``: the level at which ``value`` sits in the value being encoded (1: it is that
    value). Raises ``TypeError`` or ``ValueError`` for a value that cannot be stored, also one
    nested deeper than ``MAX_DEPTH``.
    """
    kind = type(value)
    if kind in _SCALARS:
        if kind is float and value - value != 0:
            raise ValueError(f"{value!r} is not a finite number")
        return value
    if depth > MAX_DEPTH - (kind is tuple):  # a tuple is an object holding an array
        raise ValueError(_TOO_DEEP)
    if kind is list:
        return [to_jsonable(item, depth + 1) for item in value]
    if kind is tuple:
        return {TYPE_TAG: "tuple", "v": [to_jsonable(item, depth + 2) for item in value]}
    if kind is dict:
        return _dict_to_jsonable(value, depth)
    if kind is datetime:
        return {TYPE_TAG: "datetime", "v": value.isoformat()}
    if kind is date:
        return {TYPE_TAG: "date", "v": value.isoformat()}
    if kind is time:
        return {TYPE_TAG: "time", "v": value.isoformat()}
    if kind is bytes:
        return {TYPE_TAG: "bytes", "v": base64.b64encode(value).decode("ascii")}
    value_type = _value_type(_package_of(kind))
    if value_type is not None:
        return value_type.to_jsonable(value, depth)
    raise TypeError(f"values of type {kind.__name__} cannot be stored")


def _dict_to_jsonable(value: dict[Any, Any], depth: int) -> Any:
    for key in value:
        if type(key) is not str:
            raise TypeError(f"dictionary keys must be strings, not {type(key).__name__}")
    if TYPE_TAG in value:  # {"$type": "dict", "v": [[key, item], ...]}: two levels more
        if depth + 2 > MAX_DEPTH:
            raise ValueError(_TOO_DEEP)
        pairs = [[key, to_jsonable(item, depth + 3)] for key, item in value.items()]
        return {TYPE_TAG: "dict", "v": pairs}
    return {key: to_jsonable(item, depth + 1) for key, item in value.items()}


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
    if tag == "bytes":
        try:
            return base64.b64decode(payload, validate=True)
        except (binascii.Error, TypeError) as error:
            raise ValueError(f"unreadable bytes: {error}") from None
    if tag == "float":  # NaN, Infinity, -Infinity in a frame's object column
        return float(payload)
    package = _TAG_PACKAGES.get(tag)
    value_type = None if package is None else _value_type(package)
    if value_type is not None:
        return value_type.from_tagged(tag, payload)
    return obj


def from_jsonable(obj: Any, depth: int = 1) -> Any:
    """Inverse of ``to_jsonable`` for a structure that came from ``json.loads`` without a hook;
    ``ValueError`` for one nested deeper than ``MAX_DEPTH``."""
    kind = type(obj)
    if kind is not dict and kind is not list:
        return obj
    if depth > MAX_DEPTH:
        raise ValueError(_TOO_DEEP)
    if kind is dict:
        return _from_tagged({key: from_jsonable(item, depth + 1) for key, item in obj.items()})
    return [from_jsonable(item, depth + 1) for item in obj]


def same_value(left: Any, right: Any) -> bool:
    """Whether ``left`` and ``right`` are the same value for storage: identical, or of the same
    type and equal. Frames and series compare as wholes (``NaN`` equals ``NaN``); a list or
    dict that holds one compares by its encoding."""
    if left is right:
        return True
    kind = type(left)
    if kind is not type(right):
        return False
    if kind in _PLAIN:
        return bool(left == right)
    if kind is not list and kind is not dict and kind is not tuple:
        value_type = _value_type(_package_of(kind))
        same = None if value_type is None else value_type.same(left, right)
        if same is not None:
            return same
    try:
        return bool(left == right)
    except (TypeError, ValueError):  # a frame inside a container: its == is elementwise
        try:
            return bool(to_jsonable(left) == to_jsonable(right))
        except (TypeError, ValueError, RecursionError):
            return False


def _registered_type(value: Any) -> ValueType | None:
    kind = type(value)
    if kind in _PLAIN or kind is list or kind is dict or kind is tuple:
        return None
    return _value_type(_package_of(kind))


def mergeable(value: Any) -> bool:
    """Whether two sessions' changes of ``value`` are merged part by part (``merge_edits``):
    as its type registered says (a table is, cell by cell)."""
    value_type = _registered_type(value)
    return value_type is not None and value_type.mergeable(value)


def merge_edits(base: Any, ours: Any, theirs: Any) -> Any:
    """One value that two sessions changed from ``base`` at once, merged part by part where
    its type allows (a table, cell by cell: ``frames.merge_cells``); ``None`` otherwise."""
    value_type = _registered_type(ours)
    if value_type is None or not value_type.mergeable(ours):
        return None
    return value_type.merge_edits(base, ours, theirs)


def dumps(obj: Any) -> str:
    """Compact JSON text for a structure of plain JSON types."""
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"), allow_nan=False)


def loads(text: str | bytes) -> Any:
    """Parse JSON text written by ``dumps``/``encode`` and rebuild tagged values;
    ``ValueError`` for text that is no such value, also one nested deeper than ``MAX_DEPTH``."""
    if _too_deep(text):
        raise ValueError(_TOO_DEEP)
    try:
        return json.loads(text, object_hook=_from_tagged)
    except RecursionError:  # not reached by a balanced text that passed the check above
        raise ValueError(_TOO_DEEP) from None


def _too_deep(text: str | bytes) -> bool:
    """Whether JSON ``text`` nests containers deeper than ``MAX_DEPTH``, in time linear in
    the text: the brackets outside strings are kept, and each pass of one regular
    expression takes out the innermost empty pairs, one level per pass."""
    if isinstance(text, bytes):
        if text.count(b"[") + text.count(b"{") <= MAX_DEPTH:
            return False  # most values: no scan at all
        brackets = _NOT_BRACKETS_BYTES.sub(b"", text).decode("ascii", "replace")
    else:
        if text.count("[") + text.count("{") <= MAX_DEPTH:
            return False
        brackets = _NOT_BRACKETS.sub("", text)
    for _ in range(MAX_DEPTH):
        if not brackets:
            return False
        brackets = _EMPTY_PAIR.sub("", brackets)
    return bool(brackets)


def check_key(key: str) -> None:
    """``UnstorableValueError`` for a key that would not come back the same from every
    backend: one with a NUL character (PostgreSQL's text cannot hold it, so no backend takes
    it) or a lone surrogate (no UTF-8 text holds it)."""
    if "\x00" in key:
        raise UnstorableValueError(key, "a key must not contain a NUL character")
    if not key.isascii():
        try:
            key.encode("utf-8")
        except UnicodeEncodeError:
            raise UnstorableValueError(key, _NOT_UNICODE.format(what="the key")) from None


_NOT_UNICODE = "{what} holds text that is not valid Unicode (a lone surrogate)"


def checked_jsonable(key: str, value: Any) -> Any:
    """``to_jsonable`` whose failure is an ``UnstorableValueError`` naming ``key``."""
    check_key(key)
    try:
        return to_jsonable(value)
    except (TypeError, ValueError, RecursionError) as error:
        raise UnstorableValueError(key, str(error)) from None


def encode(key: str, value: Any, known: Encoded | None = None) -> str:
    """One session-state value as JSON text; ``UnstorableValueError`` names ``key`` on failure.
    ``known``: what was encoded of this very value already, if anything (``reused``)."""
    if known is not None:
        return known.text
    return _checked_text(key, checked_jsonable(key, value))[0]


def _checked_text(key: str, jsonable: Any) -> tuple[str, int]:
    """The JSON text of ``jsonable`` and its size in UTF-8 bytes; ``UnstorableValueError``
    when a text in it holds a lone surrogate, which no backend can write (and JSON text of
    an export would carry as an escape no other tool reads back the same)."""
    text = dumps(jsonable)
    if text.isascii():
        return text, len(text)
    try:
        return text, len(text.encode("utf-8"))
    except UnicodeEncodeError:
        raise UnstorableValueError(key, _NOT_UNICODE.format(what="the value")) from None


def byte_size(text: str) -> int:
    """The length of ``text`` in UTF-8 bytes (checking for ASCII-only text costs nothing);
    a lone surrogate counts as the three bytes it takes in a text that allows it."""
    return len(text) if text.isascii() else len(text.encode("utf-8", "surrogatepass"))


NOT_KEPT: Any = object()
"""``Encoded.jsonable`` of a result that kept only its text."""


class Encoded(NamedTuple):
    """A value, what ``checked_jsonable`` and ``encode`` made of it, and its size in bytes."""

    value: Any
    jsonable: Any
    text: str
    size: int

    def text_only(self) -> Encoded:
        """The same without the structure, which takes more memory than the text."""
        return self._replace(jsonable=NOT_KEPT)


def encode_once(key: str, value: Any, known: Encoded | None = None) -> Encoded:
    """``value`` encoded, keeping the structure and the text; ``known`` (what was encoded
    of this very value already, if anything: ``reused``) when it kept its structure."""
    if known is not None and known.jsonable is not NOT_KEPT:
        return known
    jsonable = checked_jsonable(key, value)
    text, size = _checked_text(key, jsonable)
    return Encoded(value, jsonable, text, size)


def reused(encoded: Mapping[str, Encoded] | None, key: str, value: Any) -> Encoded | None:
    """What ``encoded`` holds for ``key`` when it is an encoding of the very object
    ``value`` (``is``, not ``==``: an equal value may still be another object's copy)."""
    if not encoded:
        return None
    known = encoded.get(key)
    return known if known is not None and known.value is value else None
