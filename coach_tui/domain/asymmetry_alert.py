"""When a left/right asymmetry becomes an alert: a threshold held over consecutive reps, with hysteresis."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class AsymmetryAlertRule:
    """Alert at ``raise_pct`` for ``consecutive`` reps (or windows); clear below ``clear_pct``."""

    raise_pct: float = 15.0
    clear_pct: float = 10.0
    consecutive: int = 2


class AsymmetryAlert:
    """Alert state fed one asymmetry per rep or window; ``None`` means inconclusive (never an alert)."""

    def __init__(self, rule: AsymmetryAlertRule | None = None):
        self.rule = rule or AsymmetryAlertRule()
        self.active = False
        self.ever_raised = False
        self._streak = 0

    def update(self, pct: float | None) -> bool:
        """Take the next rep's asymmetry (%), return whether the alert is on."""
        if pct is None:
            self._streak = 0
            self.active = False
            return False
        self._streak = self._streak + 1 if pct >= self.rule.raise_pct else 0
        if self._streak >= self.rule.consecutive:
            self.active = True
            self.ever_raised = True
        elif pct < self.rule.clear_pct:
            self.active = False
        return self.active
