"""Small checks shared by the domain records' ``__post_init__`` (each raises ``ValueError``)."""

from __future__ import annotations

import math
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from coach_tui.domain.channels import SIDES


def require_text(owner: str, name: str, value: Any) -> None:
    """A non-blank string."""
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{owner}.{name} must be a non-empty string, got {value!r}")


def require_str(owner: str, name: str, value: Any) -> None:
    """A string (may be empty)."""
    if not isinstance(value, str):
        raise ValueError(f"{owner}.{name} must be a string, got {value!r}")


def require_side(owner: str, name: str, value: Any) -> None:
    """"L", "R" or None (a muscle that is not paired, or a side not known)."""
    if value is not None and value not in SIDES:
        raise ValueError(f"{owner}.{name} must be 'L', 'R' or None, got {value!r}")


def require_aware(owner: str, name: str, value: Any, *, optional: bool = False) -> None:
    """A timezone-aware datetime (naive ones cannot be compared with aware ones or stored unambiguously)."""
    if optional and value is None:
        return
    if not isinstance(value, datetime):
        raise ValueError(f"{owner}.{name} must be a datetime, got {value!r}")
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(
            f"{owner}.{name} must be timezone-aware (e.g. datetime.now(timezone.utc)), got {value.isoformat()}"
        )


def require_number(
    owner: str,
    name: str,
    value: Any,
    *,
    low: float | None = None,
    high: float | None = None,
    low_open: bool = False,
    high_open: bool = False,
    optional: bool = False,
) -> None:
    """A finite real number (not a bool) within the given bounds."""
    if optional and value is None:
        return
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ValueError(f"{owner}.{name} must be a finite number, got {value!r}")
    too_low = low is not None and (value <= low if low_open else value < low)
    too_high = high is not None and (value >= high if high_open else value > high)
    if too_low or too_high:
        left = "" if low is None else f"{'(' if low_open else '['}{low:g}"
        right = "" if high is None else f"{high:g}{')' if high_open else ']'}"
        bounds = f"in {left}, {right}" if low is not None and high is not None else (
            f"{'>' if low_open else '≥'} {low:g}" if low is not None else f"{'<' if high_open else '≤'} {high:g}"
        )
        raise ValueError(f"{owner}.{name} must be {bounds}, got {value!r}")


def require_int(owner: str, name: str, value: Any, *, low: int | None = None, high: int | None = None,
                optional: bool = False) -> None:
    """An int (not a bool) within ``[low, high]``."""
    if optional and value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{owner}.{name} must be an integer, got {value!r}")
    if (low is not None and value < low) or (high is not None and value > high):
        span = f"{low}–{high}" if low is not None and high is not None else (f"≥ {low}" if low is not None else f"≤ {high}")
        raise ValueError(f"{owner}.{name} must be {span}, got {value!r}")


def as_tuple(record: Any, name: str, items: Iterable[Any] | None = None) -> tuple[Any, ...]:
    """Freeze a sequence field in place (a list passed by a caller becomes a tuple) and return it."""
    value = getattr(record, name) if items is None else items
    if isinstance(value, (str, bytes)) or not isinstance(value, Iterable):
        raise ValueError(f"{type(record).__name__}.{name} must be a sequence, got {value!r}")
    frozen = tuple(value)
    object.__setattr__(record, name, frozen)
    return frozen
