"""Which muscle and side each recorded column is."""

from __future__ import annotations

from dataclasses import dataclass

SIDES = ("L", "R")


@dataclass(frozen=True, slots=True)
class ChannelAssignment:
    """A column's muscle and side ("L", "R" or None when the muscle is not paired)."""

    muscle: str
    side: str | None = None

    @property
    def key(self) -> str:
        """``muscle:side`` (or just ``muscle``), as used for MVC references."""
        return f"{self.muscle}:{self.side}" if self.side else self.muscle

    @property
    def label(self) -> str:
        """How a trainer says it: "left biceps"."""
        side = {"L": "left ", "R": "right "}.get(self.side or "", "")
        return f"{side}{self.muscle.replace('_', ' ')}"


def parse_channel_spec(spec: str, n_columns: int) -> list[ChannelAssignment | None]:
    """Parse ``"biceps:R,triceps:R,skip,..."``: one entry per column, ``None`` for ``skip``."""
    entries = [entry.strip() for entry in spec.split(",")]
    if len(entries) != n_columns:
        raise ValueError(f"--channels names {len(entries)} columns but the recording has {n_columns}")
    assignments: list[ChannelAssignment | None] = []
    for column, entry in enumerate(entries):
        if entry == "skip":
            assignments.append(None)
            continue
        muscle, _, side = entry.partition(":")
        side = side.strip().upper() or None
        if not muscle.strip() or (side is not None and side not in SIDES):
            raise ValueError(f"--channels entry {column} is {entry!r}: use muscle, muscle:L, muscle:R or skip")
        assignments.append(ChannelAssignment(muscle.strip(), side))
    return assignments
