"""Delays between reconnect attempts: capped exponential backoff with full jitter.

"Full jitter" from Marc Brooker, "Exponential Backoff And Jitter", AWS Architecture Blog, 2015
(https://aws.amazon.com/blogs/architecture/exponential-backoff-and-jitter/):
``sleep = random_between(0, min(cap, base * 2 ** attempt))``, here with ``multiplier`` in place of 2.
The randomness spreads the retries of sensors that dropped together (an adapter reset drops them
all) so their scans and connects, serialised per adapter, do not collide in lockstep.
"""

from __future__ import annotations

import math
import random


class Backoff:
    """Delay before attempt ``n`` (0-based since ``reset``): uniform in [0, min(cap, base × multiplier^n)]."""

    def __init__(
        self,
        base_s: float = 0.5,
        cap_s: float = 30.0,
        multiplier: float = 2.0,
        rng: random.Random | None = None,
    ):
        if not (math.isfinite(base_s) and base_s > 0):
            raise ValueError(
                f"base_s must be a positive finite number of seconds, got {base_s!r}"
            )
        if not (math.isfinite(cap_s) and cap_s >= base_s):
            raise ValueError(
                f"cap_s must be finite and at least base_s ({base_s}), got {cap_s!r}"
            )
        if not (math.isfinite(multiplier) and multiplier >= 1):
            raise ValueError(
                f"multiplier must be finite and at least 1, got {multiplier!r}"
            )
        self.base_s = float(base_s)
        self.cap_s = float(cap_s)
        self.multiplier = float(multiplier)
        self._rng = rng if rng is not None else random.Random()
        self.reset()

    @property
    def attempt(self) -> int:
        """Delays handed out since the last reset."""
        return self._attempt

    @property
    def ceiling_s(self) -> float:
        """Upper bound of the next delay."""
        return self._ceiling_s

    def next_delay(self) -> float:
        """Seconds to wait before the next attempt; each call raises the ceiling up to the cap."""
        delay = self._rng.uniform(0.0, self._ceiling_s)
        self._attempt += 1
        self._ceiling_s = min(self.cap_s, self._ceiling_s * self.multiplier)
        return delay

    def reset(self) -> None:
        """Back to the first delay; call after a good streaming period, not on connect alone."""
        self._attempt = 0
        self._ceiling_s = self.base_s
