"""Silent-link detection: a connected sensor that stopped notifying is treated like a disconnected one."""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class SilentLinkWatchdog:
    """The link is silent after ``max(min_silence_s, intervals × expected_interval_s)`` without data.

    ``expected_interval_s`` is the time between packets the profile promises (or the clock
    measured). Before the first packet, pass the time streaming was started as the last packet time.
    """

    expected_interval_s: float
    intervals: float = 20.0
    min_silence_s: float = 1.0

    def __post_init__(self) -> None:
        for name in ("expected_interval_s", "intervals", "min_silence_s"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value > 0):
                raise ValueError(
                    f"{name} must be a positive finite number, got {value!r}"
                )

    @property
    def silence_limit_s(self) -> float:
        """Seconds without a packet after which the link counts as silent."""
        return max(self.min_silence_s, self.intervals * self.expected_interval_s)

    def deadline(self, last_packet_at: float) -> float:
        """Host time at which the link becomes silent if nothing arrives (to schedule the check)."""
        return last_packet_at + self.silence_limit_s

    def is_silent(self, last_packet_at: float, now: float) -> bool:
        """Whether nothing has arrived for the silence limit or longer."""
        return now >= self.deadline(last_packet_at)
