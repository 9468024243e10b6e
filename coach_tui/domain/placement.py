"""Where a sensor sits on the client: muscle, side, which sensor and channel."""

from __future__ import annotations

from dataclasses import dataclass

from coach_tui.domain.channels import ChannelAssignment
from coach_tui.domain.serialization import Record
from coach_tui.domain.validation import (
    require_int,
    require_side,
    require_str,
    require_text,
)


@dataclass(frozen=True, slots=True)
class Placement(Record):
    """A sensor (``sensor_id``, ``channel`` of a multi-channel sensor) on a muscle and side.

    ``muscle`` is usually a key of ``MUSCLES`` but any name is accepted (sensor config and foreign
    recordings use their own). ``location_note`` is the trainer's own words on the exact spot
    ("2 cm above the marker line").
    """

    muscle: str
    side: str | None
    sensor_id: str
    channel: int = 0
    location_note: str = ""

    def __post_init__(self) -> None:
        require_text("Placement", "muscle", self.muscle)
        require_side("Placement", "side", self.side)
        require_text("Placement", "sensor_id", self.sensor_id)
        require_int("Placement", "channel", self.channel, low=0)
        require_str("Placement", "location_note", self.location_note)

    @property
    def assignment(self) -> ChannelAssignment:
        """The muscle and side as the dsp layer names a channel."""
        return ChannelAssignment(self.muscle, self.side)

    @property
    def label(self) -> str:
        """"left glute max"."""
        return self.assignment.label

    def same_site(self, other: Placement) -> bool:
        """Whether ``other`` is the same muscle, side, sensor, channel and noted spot."""
        return (
            self.muscle == other.muscle
            and self.side == other.side
            and self.sensor_id == other.sensor_id
            and self.channel == other.channel
            and self.location_note.strip() == other.location_note.strip()
        )

    def changes_to(self, other: Placement) -> list[str]:
        """What differs from this placement to ``other``, in a trainer's words (empty when the same site)."""
        changes = []
        if (self.muscle, self.side) != (other.muscle, other.side):
            changes.append(f"muscle changed from {self.label} to {other.label}")
        if self.sensor_id != other.sensor_id:
            changes.append(f"sensor moved from {self.sensor_id} to {other.sensor_id}")
        if self.channel != other.channel:
            changes.append(f"channel changed from {self.channel} to {other.channel}")
        if self.location_note.strip() != other.location_note.strip():
            changes.append(f"location note changed from {self.location_note.strip()!r} to {other.location_note.strip()!r}")
        return changes
