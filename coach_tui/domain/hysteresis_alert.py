"""When a per-rep measure becomes an alert: a level held over consecutive reps, with hysteresis.

One rule serves every alert of the live screen: left/right asymmetry (%), co-contraction (Winter
index, %), and compensation (how many points the target share falls short of the exercise's
expected share).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class AlertRule:
    """Raise at ``raise_pct`` or more for ``consecutive`` reps (or windows); clear below ``clear_pct``."""

    raise_pct: float = 15.0
    clear_pct: float = 10.0
    consecutive: int = 2


class HysteresisAlert:
    """Alert state fed one value per rep or window; ``None`` means inconclusive (never an alert)."""

    def __init__(self, rule: AlertRule | None = None):
        self.rule = rule or AlertRule()
        self.active = False
        self.ever_raised = False
        self._streak = 0

    def update(self, value: float | None) -> bool:
        """Take the next rep's value, return whether the alert is on."""
        if value is None:
            self._streak = 0
            self.active = False
            return False
        self._streak = self._streak + 1 if value >= self.rule.raise_pct else 0
        if self._streak >= self.rule.consecutive:
            self.active = True
            self.ever_raised = True
        elif value < self.rule.clear_pct:
            self.active = False
        return self.active
