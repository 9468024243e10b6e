"""Settings objects from TOML-style tables: the one typed check for ``config.toml`` and for the
settings a recording stores.

Every settings object is a frozen dataclass whose defaults are the reference values; a table may
give any of its fields. Unknown keys, wrongly typed values and negative numbers are refused with
the source, the key, the value and what is allowed; the dataclass's own ``__post_init__`` checks
ranges. Types are checked by msgspec, as the domain's records are (``serialization.py``).
"""

from __future__ import annotations

import re
from dataclasses import fields, replace


class SettingsError(ValueError):
    """Settings that cannot be used; the message names the source, the key and what is allowed."""


def build(source: str, section: str, cls: type, table: dict):
    """A ``cls`` from a table, refusing unknown keys and wrongly typed or negative values.

    The typed conversion is msgspec's (strict: a number is never read from a string); a whole
    number given where a string is expected (``mains = 50``) is taken as its text.
    """
    import msgspec

    if not isinstance(table, dict):
        raise SettingsError(f"{source}: {section} = {table!r}: must be a table ([{section}])")
    defaults = {f.name: getattr(cls(), f.name) for f in fields(cls)}
    unknown = sorted(set(table) - set(defaults))
    if unknown:
        raise SettingsError(f"{source}: unknown key {section}.{unknown[0]}; allowed: {', '.join(sorted(defaults))}")
    for name, value in table.items():
        numbers = value if isinstance(value, list) else [value]
        if any(isinstance(v, int | float) and not isinstance(v, bool) and v < 0 for v in numbers):
            raise SettingsError(f"{source}: {section}.{name} = {value!r}: must not be negative")
    table = {name: str(value) if isinstance(defaults[name], str) and type(value) is int else value
             for name, value in table.items()}
    try:
        return msgspec.convert(table, cls)
    except msgspec.ValidationError as error:
        raise SettingsError(_explain(source, section, str(error), table, defaults)) from None


def _explain(source: str, section: str, text: str, table: dict, defaults: dict) -> str:
    """msgspec's message as ours: the key, the value given and what is allowed."""
    message, _, at = text.partition(" - at `$")
    path = at.rstrip("`").lstrip(".")
    expected = re.fullmatch(r"Expected `(.+?)`(?: of length \d+)?, got .*", message)
    if not path or expected is None:  # the dataclass's own range checks
        return f"{source}: [{section}]: {message}"
    name, _, index = path.partition("[")
    value = table[name][int(index.rstrip("]"))] if index and isinstance(table[name], list) else table[name]
    default = defaults[name]
    if isinstance(default, tuple) and not index:
        wanted = f"a list of {len(default)} numbers"
    else:
        wanted = {"int": "a whole number", "bool": "true or false", "str": "a string"}.get(
            expected.group(1).split(" | ")[0], "a number")
    return f"{source}: {section}.{name} = {value!r}: must be {wanted}"


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
