"""Settings objects from TOML-style tables: the one typed check for ``config.toml`` and for the
settings a recording stores.

Every settings object is a frozen dataclass whose defaults are the reference values; a table may
give any of its fields. Unknown keys, wrongly typed values and negative numbers are refused with
the source, the key, the value and what is allowed; the dataclass's own ``__post_init__`` checks
ranges.
"""

from __future__ import annotations

import types
import typing
from dataclasses import fields, replace


class SettingsError(ValueError):
    """Settings that cannot be used; the message names the source, the key and what is allowed."""


def _coerce(source: str, key: str, value, annotation, default):
    """Check one value against its field's type; return it in that type."""
    where = f"{source}: {key} = {value!r}"
    if isinstance(default, bool) or annotation is bool:
        if isinstance(value, bool):
            return value
        raise SettingsError(f"{where}: must be true or false")
    if isinstance(default, tuple):
        if not (isinstance(value, list) and len(value) == len(default)):
            raise SettingsError(f"{where}: must be a list of {len(default)} numbers")
        return tuple(_coerce(source, key, v, type(d), d) for v, d in zip(value, default, strict=True))
    if isinstance(default, str):
        if not isinstance(value, str | int) or isinstance(value, bool):
            raise SettingsError(f"{where}: must be a string")
        return str(value)
    if isinstance(default, int) and not isinstance(default, bool):
        if not isinstance(value, int) or isinstance(value, bool):
            raise SettingsError(f"{where}: must be a whole number")
        return value
    if isinstance(default, float) or _is_optional_float(annotation):
        if not isinstance(value, int | float) or isinstance(value, bool):
            raise SettingsError(f"{where}: must be a number")
        return float(value)
    raise SettingsError(f"{where}: unsupported value")


def _is_optional_float(annotation) -> bool:
    return isinstance(annotation, types.UnionType) and float in typing.get_args(annotation)


def build(source: str, section: str, cls: type, table: dict):
    """A ``cls`` from a table, refusing unknown keys and wrongly typed or negative values."""
    if not isinstance(table, dict):
        raise SettingsError(f"{source}: {section} = {table!r}: must be a table ([{section}])")
    known = {f.name: f for f in fields(cls)}
    unknown = sorted(set(table) - set(known))
    if unknown:
        raise SettingsError(f"{source}: unknown key {section}.{unknown[0]}; allowed: {', '.join(sorted(known))}")
    hints = typing.get_type_hints(cls)
    defaults = cls()
    values = {
        name: _coerce(source, f"{section}.{name}", value, hints[name], getattr(defaults, name))
        for name, value in table.items()
    }
    for name, value in values.items():
        numbers = value if isinstance(value, tuple) else (value,)
        if any(isinstance(v, int | float) and not isinstance(v, bool) and v < 0 for v in numbers):
            raise SettingsError(f"{source}: {section}.{name} = {table[name]!r}: must not be negative")
    try:
        return cls(**values)
    except ValueError as error:  # the dataclass's own range checks
        raise SettingsError(f"{source}: [{section}]: {error}") from None


def to_table(settings) -> dict:
    """A settings object's fields as a TOML-style table (tuples as lists)."""
    return {f.name: list(v) if isinstance(v := getattr(settings, f.name), tuple) else v for f in fields(settings)}


def replace_in(obj, where: tuple[str, ...], value):
    """``obj`` with the nested field at ``where`` (attribute names) replaced by ``value``."""
    if not where:
        return value
    head, rest = where[0], where[1:]
    return replace(obj, **{head: replace_in(getattr(obj, head), rest, value)})


def refuse_broken(source: str, rules: list[tuple[str, object, bool, str]]) -> None:
    """Raise for the first rule ``(key, value, ok, allowed)`` that does not hold."""
    for key, value, ok, allowed in rules:
        if not ok:
            raise SettingsError(f"{source}: {key} = {value!r}: allowed {allowed}")
