"""JSON round trip for the domain's frozen dataclasses, written once for all of them.

``to_dict(record)`` gives a JSON-safe dict: nested dataclasses become dicts, tuples become lists,
datetimes become ISO 8601 strings (with their UTC offset). ``from_dict(cls, data)`` rebuilds the
record from the field annotations: it refuses a missing required field or a value of the wrong type
with a ``ValueError`` naming the field (``"Calibration: missing required field 'placement.sensor_id'"``)
and ignores keys it does not know, so a newer file still loads in an older version.

Handled annotations: ``str``, ``int``, ``float``, ``bool``, ``datetime``, ``X | None``,
``tuple[X, ...]``, ``tuple[X, Y]``, ``list[X]``, ``dict[str, X]``, ``Any`` and nested dataclasses.
Domain classes inherit :class:`Record` to get ``to_dict()`` and ``from_dict()``. The typed
conversion is msgspec's (``msgspec.convert``: strict, no guessing a number from a string); its
messages are put in our words here.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any, TypeVar

R = TypeVar("R")


class Record:
    """Mixin giving a dataclass ``to_dict()`` and ``from_dict()`` (see the module docstring)."""

    __slots__ = ()

    def to_dict(self) -> dict[str, Any]:
        """This record as a JSON-safe dict."""
        return to_dict(self)

    @classmethod
    def from_dict(cls: type[R], data: Mapping[str, Any]) -> R:
        """Rebuild from :meth:`to_dict` output; ``ValueError`` naming the field when it does not fit."""
        return from_dict(cls, data)


def to_dict(record: Any) -> dict[str, Any]:
    """A dataclass instance as a JSON-safe dict, field by field."""
    if not dataclasses.is_dataclass(record) or isinstance(record, type):
        raise TypeError(f"to_dict expects a dataclass instance, got {type(record).__name__}")
    return {f.name: to_json(getattr(record, f.name), f.name) for f in dataclasses.fields(record)}


def to_json(value: Any, where: str = "value") -> Any:
    """``value`` as JSON-safe data (dicts with string keys, lists, str, int, float, bool, None).

    numpy scalars and arrays are accepted through their ``tolist()``; anything else unknown is a
    ``TypeError`` naming ``where``.
    """
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, datetime):
        return value.isoformat()
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return to_dict(value)
    if isinstance(value, Mapping):
        out = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise TypeError(f"{where}: keys must be strings, got {key!r}")
            out[key] = to_json(item, f"{where}.{key}")
        return out
    if isinstance(value, (list, tuple)):
        return [to_json(item, f"{where}[{i}]") for i, item in enumerate(value)]
    tolist = getattr(value, "tolist", None)
    if callable(tolist):
        return to_json(tolist(), where)
    raise TypeError(f"{where}: {type(value).__name__} is not JSON-safe")


def from_dict(cls: type[R], data: Any) -> R:
    """Build ``cls`` from a dict made by :func:`to_dict` (see the module docstring)."""
    import msgspec

    try:
        return msgspec.convert(data, cls)
    except msgspec.ValidationError as error:
        raise ValueError(explain(cls.__name__, error, data)) from None


def explain(root: str, error: Exception, data: Any) -> str:
    """msgspec's validation message in our words: what is wrong, at which field, with the value."""
    text, _, at = str(error).partition(" - at `$")
    path = at.rstrip("`").lstrip(".")
    missing = re.fullmatch(r"Object missing required field `(.+)`", text)
    if missing:
        name = f"{path}.{missing.group(1)}" if path else missing.group(1)
        return f"{root}: missing required field {name!r}"
    expected = re.fullmatch(r"Expected `(.+?)`(?: of length (\d+))?, got `?(\w+)`?", text)
    if expected is None:  # a record's own check (its __post_init__)
        return f"{root}: {_field(path)}: {text}" if path else text
    if not path:
        return f"{root}: data must be an object, got {_show(data)}"
    kind, length = expected.group(1), expected.group(2)
    wanted = f"a list of {length} items" if length else _EXPECTED.get(kind.split(" | ")[0], kind)
    if kind.endswith(" | null"):
        wanted += " or null"
    return f"{root}: {_field(path)} must be {wanted}, got {_show(_at(data, path))}"


_EXPECTED = {
    "datetime": "an ISO 8601 date-time string",
    "bool": "true or false",
    "int": "an integer",
    "float": "a number",
    "str": "a string",
    "object": "an object",
    "array": "a list",
}


def _at(data: Any, path: str) -> Any:
    """The value at a msgspec path such as ``reps[1].peak`` (None when it cannot be followed)."""
    for part in re.findall(r"[^.\[\]]+|\[\d+\]", path):
        try:
            data = data[int(part[1:-1])] if part.startswith("[") else data[part]
        except (KeyError, IndexError, TypeError, ValueError):
            return None
    return data


def _field(path: str) -> str:
    return f"field {path!r}"


def _show(value: Any) -> str:
    if value is None:
        return "null"
    text = repr(value)
    if len(text) > 60:
        text = text[:57] + "..."
    return f"{text} ({type(value).__name__})"
