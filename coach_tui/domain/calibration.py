"""An MVC calibration: one muscle and side's reference level, and when it can no longer be trusted."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from coach_tui.domain.channels import ChannelAssignment
from coach_tui.domain.placement import Placement
from coach_tui.domain.serialization import Record
from coach_tui.domain.validation import (
    as_tuple,
    require_aware,
    require_number,
    require_side,
    require_text,
)

SECONDS_PER_DAY = 86400.0


@dataclass(frozen=True, slots=True)
class Calibration(Record):
    """The MVC reference of one muscle and side for a client, from a guided protocol.

    ``reference`` is the highest mean envelope over a 500 ms window across trials, in ``units`` (the
    envelope's units, e.g. "µV"); ``trial_bests`` are each trial's best window; ``rest_mean`` and
    ``rest_sd`` are the rest baseline (for onsets). ``repeat_trial`` says the trials disagreed by more
    than the configured tolerance; ``familiarisation`` says the first trial was much lower than the
    later ones (expected). ``placement`` is where the sensor was, so reuse after a move is caught.
    """

    id: str
    client_id: str
    muscle: str
    side: str | None
    reference: float
    units: str
    trial_bests: tuple[float, ...]
    rest_mean: float
    rest_sd: float
    recorded: datetime
    placement: Placement
    repeat_trial: bool = False
    familiarisation: bool = False

    def __post_init__(self) -> None:
        require_text("Calibration", "id", self.id)
        require_text("Calibration", "client_id", self.client_id)
        require_text("Calibration", "muscle", self.muscle)
        require_side("Calibration", "side", self.side)
        require_number("Calibration", "reference", self.reference, low=0.0, low_open=True)
        require_text("Calibration", "units", self.units)
        for best in as_tuple(self, "trial_bests"):
            require_number("Calibration", "trial_bests[]", best, low=0.0)
        require_number("Calibration", "rest_mean", self.rest_mean, low=0.0)
        require_number("Calibration", "rest_sd", self.rest_sd, low=0.0)
        require_aware("Calibration", "recorded", self.recorded)
        if not isinstance(self.placement, Placement):
            raise ValueError(f"Calibration.placement must be a Placement, got {self.placement!r}")
        if (self.placement.muscle, self.placement.side) != (self.muscle, self.side):
            raise ValueError(
                f"Calibration of {self.label} has a placement on {self.placement.label}: muscle and side must match"
            )
        for flag in ("repeat_trial", "familiarisation"):
            if not isinstance(getattr(self, flag), bool):
                raise ValueError(f"Calibration.{flag} must be True or False, got {getattr(self, flag)!r}")

    @property
    def key(self) -> str:
        """``muscle:side`` as MVC references are keyed in dsp ("glute_max:L")."""
        return ChannelAssignment(self.muscle, self.side).key

    @property
    def label(self) -> str:
        """"left glute max"."""
        return ChannelAssignment(self.muscle, self.side).label

    def age_days(self, now: datetime) -> float:
        """Days from ``recorded`` to ``now`` (timezone-aware)."""
        require_aware("Calibration.age_days", "now", now)
        return (now - self.recorded).total_seconds() / SECONDS_PER_DAY

    def staleness(self, now: datetime, current_placement: Placement | None, max_age_days: float) -> str | None:
        """Why this calibration should not be reused now, in a trainer's words, or None when it is fine.

        Stale when the sensor's current placement differs from the calibrated one ("placement changed
        since calibration (sensor moved from s1 to s2)") or it is older than ``max_age_days``
        ("calibrated 40 days ago (limit 28)"); both reasons are joined with "; ". A ``None`` placement
        means not known, and is not checked.
        """
        require_number("Calibration.staleness", "max_age_days", max_age_days, low=0.0, low_open=True)
        reasons = []
        if current_placement is not None:
            changes = self.placement.changes_to(current_placement)
            if changes:
                reasons.append(f"placement changed since calibration ({'; '.join(changes)})")
        age = self.age_days(now)
        if age > max_age_days:
            whole = int(age)
            days = str(whole) if whole > max_age_days else f"{age:.1f}"
            reasons.append(f"calibrated {days} day{'' if days == '1' else 's'} ago (limit {max_age_days:g})")
        return "; ".join(reasons) or None
