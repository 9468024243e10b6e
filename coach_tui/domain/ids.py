"""Record ids that sort by creation date: ``"c-20261121-3f9a2b"``."""

from __future__ import annotations

import re
import secrets
from datetime import UTC, datetime

_PREFIX = re.compile(r"[a-z][a-z0-9]*")


def now_utc() -> datetime:
    """The current time, timezone-aware (the domain refuses naive datetimes)."""
    return datetime.now(UTC)


def new_id(prefix: str, when: datetime | None = None) -> str:
    """``prefix-YYYYMMDD-xxxxxx``: the UTC date (of ``when``, default now) and 6 random hex digits.

    Ids with the same prefix sort by date; the random part keeps ids made the same day apart.
    """
    if not _PREFIX.fullmatch(prefix):
        raise ValueError(f"id prefix must be lower-case letters and digits, starting with a letter, got {prefix!r}")
    when = now_utc() if when is None else when
    if when.tzinfo is not None:
        when = when.astimezone(UTC)
    return f"{prefix}-{when:%Y%m%d}-{secrets.token_hex(3)}"
