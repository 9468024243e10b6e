"""What the trainer set for a client's next sets — exercise, load, cue — kept until changed."""

from __future__ import annotations

from dataclasses import dataclass

from coach_tui.domain.serialization import Record
from coach_tui.domain.validation import require_number, require_str


@dataclass(frozen=True, slots=True)
class SetChoices(Record):
    """The exercise (a library key; "" for the console's default), the load in kg (None: bodyweight
    or not entered) and the cue of a client's next sets."""

    exercise: str = ""
    load_kg: float | None = None
    cue: str = ""

    def __post_init__(self) -> None:
        require_str("SetChoices", "exercise", self.exercise)
        require_number("SetChoices", "load_kg", self.load_kg, low=0.0, optional=True)
        require_str("SetChoices", "cue", self.cue)
