"""Silent-link detection: a connected sensor that stopped notifying is treated like a disconnected one.

Silence is counted only over time the host was listening. The watchdog looks every
``LOOK_EVERY_S``; a look that comes ``HELD_UP_S`` or more late means the host itself was held up
(the event loop blocked by a first import of scipy on a Raspberry Pi, a busy machine), and what the
sensor sent meanwhile is still waiting to be read: the silence is counted again from that moment.
"""

from __future__ import annotations

import math
from dataclasses import dataclass


#: How often the watchdog looks (so it can tell when the host was held up).
LOOK_EVERY_S = 0.25
#: A look this much later than asked for means the host was held up, not the link silent.
HELD_UP_S = 0.25


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
