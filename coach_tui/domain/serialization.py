"""JSON round trip for the domain's frozen dataclasses, written once for all of them.

``to_dict(record)`` gives a JSON-safe dict: nested dataclasses become dicts, tuples become lists,
datetimes become ISO 8601 strings (with their UTC offset). ``from_dict(cls, data)`` rebuilds the
record from the field annotations: it refuses a missing required field or a value of the wrong type
with a ``ValueError`` naming the field (``"Calibration: missing required field 'placement.sensor_id'"``)
and ignores keys it does not know, so a newer file still loads in an older version.

Handled annotations: ``str``, ``int``, ``float``, ``bool``, ``datetime``, ``X | None``,
``tuple[X, ...]``, ``tuple[X, Y]``, ``list[X]``, ``dict[str, X]``, ``Any`` and nested dataclasses.
Domain classes inherit :class:`Record` to get ``to_dict()`` and ``from_dict()``.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Mapping
from datetime import datetime
from functools import cache
from typing import Any, TypeVar, Union

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


def from_dict(cls: type[R], data: Any, *, _root: str | None = None, _path: str = "") -> R:
    """Build ``cls`` from a dict made by :func:`to_dict` (see the module docstring)."""
    root = _root or cls.__name__
    if not isinstance(data, Mapping):
        raise ValueError(f"{root}: {_field(_path) if _path else 'data'} must be an object, got {_show(data)}")
    hints = _hints(cls)
    kwargs: dict[str, Any] = {}
    for f in dataclasses.fields(cls):
        if not f.init:
            continue
        path = f"{_path}.{f.name}" if _path else f.name
        if f.name not in data:
            if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
                raise ValueError(f"{root}: missing required field {path!r}")
            continue
        kwargs[f.name] = _convert(hints[f.name], data[f.name], root, path)
    if not _path:
        return cls(**kwargs)
    try:
        return cls(**kwargs)
    except ValueError as exc:
        raise ValueError(f"{root}: {_field(_path)}: {exc}") from exc


@cache
def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _field(path: str) -> str:
    return f"field {path!r}"


def _show(value: Any) -> str:
    if value is None:
        return "null"
    text = repr(value)
    if len(text) > 60:
        text = text[:57] + "..."
    return f"{text} ({type(value).__name__})"


def _wrong(root: str, path: str, expected: str, value: Any) -> ValueError:
    return ValueError(f"{root}: {_field(path)} must be {expected}, got {_show(value)}")


def _convert(tp: Any, value: Any, root: str, path: str) -> Any:
    """``value`` (from JSON) as the annotation ``tp`` says, or ``ValueError`` naming ``path``."""
    if tp is Any:
        try:
            return to_json(value, path)
        except TypeError as exc:
            raise ValueError(f"{root}: {exc}") from exc
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin is Union or origin is types.UnionType:
        options = [a for a in args if a is not type(None)]
        if value is None:
            if len(options) < len(args):
                return None
            raise _wrong(root, path, _expected(tp), value)
        errors: list[ValueError] = []
        for option in options:
            try:
                return _convert(option, value, root, path)
            except ValueError as exc:
                errors.append(exc)
        if len(errors) == 1:
            raise errors[0]
        raise _wrong(root, path, _expected(tp), value)
    if dataclasses.is_dataclass(tp):
        return from_dict(tp, value, _root=root, _path=path)
    if tp is datetime:
        if isinstance(value, datetime):
            return value
        if isinstance(value, str):
            try:
                return datetime.fromisoformat(value)
            except ValueError:
                pass
        raise _wrong(root, path, _expected(tp), value)
    if tp is bool:
        if isinstance(value, bool):
            return value
        raise _wrong(root, path, _expected(tp), value)
    if tp is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        raise _wrong(root, path, _expected(tp), value)
    if tp is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        raise _wrong(root, path, _expected(tp), value)
    if tp is str:
        if isinstance(value, str):
            return value
        raise _wrong(root, path, _expected(tp), value)
    if origin in (tuple, list) or tp in (tuple, list):
        if not isinstance(value, (list, tuple)):
            raise _wrong(root, path, _expected(tp), value)
        if not args or (len(args) == 2 and args[1] is Ellipsis) or origin is list:
            item_tp = args[0] if args else Any
            items = [_convert(item_tp, v, root, f"{path}[{i}]") for i, v in enumerate(value)]
        else:
            if len(value) != len(args):
                raise _wrong(root, path, f"a list of {len(args)} items", value)
            items = [_convert(t, v, root, f"{path}[{i}]") for i, (t, v) in enumerate(zip(args, value))]
        return list(items) if (origin is list or tp is list) else tuple(items)
    if origin is dict or tp is dict:
        if not isinstance(value, Mapping):
            raise _wrong(root, path, _expected(tp), value)
        value_tp = args[1] if args else Any
        out = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise _wrong(root, path, "an object with string keys", value)
            out[key] = _convert(value_tp, item, root, f"{path}.{key}")
        return out
    raise TypeError(f"serialization does not handle the annotation {tp!r} of {root}.{path}")


def _expected(tp: Any) -> str:
    """What a trainer-facing (well, developer-facing) message calls a type."""
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin is Union or origin is types.UnionType:
        names = [_expected(a) for a in args if a is not type(None)]
        text = " or ".join(names)
        return f"{text} or null" if type(None) in args else text
    if dataclasses.is_dataclass(tp):
        return f"an object ({tp.__name__})"
    return {
        datetime: "an ISO 8601 date-time string",
        bool: "true or false",
        int: "an integer",
        float: "a number",
        str: "a string",
    }.get(tp) or ("an object" if (origin is dict or tp is dict) else "a list")
