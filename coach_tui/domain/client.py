"""A trainer's client."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from coach_tui.domain.serialization import Record
from coach_tui.domain.validation import (
    as_tuple,
    require_aware,
    require_side,
    require_str,
    require_text,
)


@dataclass(frozen=True, slots=True)
class Client(Record):
    """A person being coached.

    ``dominant_side`` is "L", "R" or None (not known); ``conditions`` are free-text notes a trainer
    keeps in mind ("left knee pain", "post ACL reconstruction 2025"). ``created`` is keyword-only
    and must be timezone-aware: ``Client(new_id("c"), "Ana", created=now_utc())``.
    """

    id: str
    name: str
    dominant_side: str | None = None
    notes: str = ""
    conditions: tuple[str, ...] = ()
    created: datetime = field(kw_only=True)

    def __post_init__(self) -> None:
        require_text("Client", "id", self.id)
        require_text("Client", "name", self.name)
        require_side("Client", "dominant_side", self.dominant_side)
        require_str("Client", "notes", self.notes)
        for condition in as_tuple(self, "conditions"):
            require_text("Client", "conditions[]", condition)
        require_aware("Client", "created", self.created)
