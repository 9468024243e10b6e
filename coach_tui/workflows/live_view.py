"""What a live screen shows at one instant (``LiveMonitor.view()``): a bar per muscle side, left
against right per muscle, whether a set is recording and for how long, its reps, the alerts in
words and, after a set, its fatigue verdicts."""

from __future__ import annotations

from dataclasses import dataclass, field

from coach_tui.domain.channels import ChannelAssignment
from coach_tui.domain.session import RepMetrics


@dataclass(frozen=True, slots=True)
class ChannelView:
    """One bar: a muscle side's current value, recent peak, units, whether its sensor streams (False:
    lost, reconnecting), and whether its electrode just popped."""

    assignment: ChannelAssignment
    value: float
    peak: float
    units: str
    streaming: bool
    pop: bool = False


@dataclass(frozen=True, slots=True)
class PairView:
    """Left and right of one muscle: asymmetry (%; None: inconclusive, both sides at the noise floor,
    or a side lost), the weaker side, and the alert state."""

    muscle: str
    asymmetry_pct: float | None
    weaker_side: str | None
    alert: bool


@dataclass(frozen=True, slots=True)
class LiveView:
    """Everything a live screen shows, at one instant."""

    channels: list[ChannelView]
    pairs: list[PairView]
    recording: bool
    set_seconds: float
    reps: list[RepMetrics] = field(default_factory=list)
    alerts: list[str] = field(default_factory=list)
    #: After a set: its fatigue verdicts in words (``dsp.fatigue.set_fatigue``).
    fatigue: list[str] = field(default_factory=list)
