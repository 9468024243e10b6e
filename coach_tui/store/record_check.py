"""Is every record in a ``coach.json`` image one the domain accepts? Checked before the file is
trusted (and before it may replace the last good backup), so a hand edit that is valid JSON but
a broken record (a client without a name, a session ``started: "yesterday"``, a set with
``reps: "lots"``) is refused at once, naming the record, instead of failing later mid-command."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from coach_tui.domain.abtest import ABTest
from coach_tui.domain.calibration import Calibration
from coach_tui.domain.client import Client
from coach_tui.domain.placement import Placement
from coach_tui.domain.session import Session, SetRecord


def _placements(doc: Mapping[str, Any]) -> None:
    placements = doc.get("placements")
    if not isinstance(placements, list):
        raise ValueError(f"'placements' must be a list, got {placements!r}")
    for placement in placements:
        if not isinstance(placement, Mapping):
            raise ValueError(f"each placement must be an object, got {placement!r}")
        Placement.from_dict(placement)


#: Table → what a document of it must rebuild as, and what a trainer calls one.
CHECKS: dict[str, tuple[Callable[[Mapping[str, Any]], object], str]] = {
    "clients": (Client.from_dict, "client"),
    "calibrations": (Calibration.from_dict, "calibration"),
    "sessions": (Session.from_dict, "session"),
    "sets": (SetRecord.from_dict, "set"),
    "placements": (_placements, "placements of client"),
    "abtests": (ABTest.from_dict, "A/B test"),
}


def check_records(data: Mapping[str, Mapping[str, Any]]) -> str | None:
    """The first record of a known table that the domain refuses, as "what, which, why", or None.
    Tables it does not know are left to their owners."""
    for table, (rebuild, what) in CHECKS.items():
        for key, doc in (data.get(table) or {}).items():
            try:
                rebuild(doc)
            except (KeyError, TypeError, ValueError, AttributeError) as error:
                return f"the {what} {key!r} (table {table!r}) is not valid: {error}"
    return None
