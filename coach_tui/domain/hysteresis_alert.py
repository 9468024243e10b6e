"""When a measure becomes an alert and when it clears again (hysteresis), for the live screen.

``HysteresisAlert`` serves every per-rep alert: left/right asymmetry (%), co-contraction (Winter
index, %), and compensation (how many points the target share falls short of the exercise's
expected share). ``GradeAlert`` (and ``GradeAlerts``, several by key) serves signal quality,
``LinkAlert`` a lost sensor.
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


class GradeAlert:
    """Alert state of a graded status ("ok" < "warn" < "bad"): raised once ``looks`` looks in a row
    grade "bad", held through "warn", cleared once ``looks`` looks in a row grade "ok" — a channel
    hovering at a limit does not flicker. A look without evidence (None, e.g. a rep for a measure
    taken at rest) changes nothing: the state and the run of looks carry over."""

    def __init__(self, looks: int = 1) -> None:
        self.looks = looks
        self.active = False
        self._bad = 0
        self._ok = 0

    def update(self, grade: str | None) -> bool:
        """Take the latest grade (None: no evidence), return whether the alert is on."""
        if grade is None:
            return self.active
        self._bad = self._bad + 1 if grade == "bad" else 0
        self._ok = self._ok + 1 if grade == "ok" else 0
        if self._bad >= self.looks:
            self.active = True
        elif self._ok >= self.looks:
            self.active = False
        return self.active


class GradeAlerts:
    """Several ``GradeAlert``s by key (e.g. a channel and a measure); ``reasons`` lists what to do
    for those that are on: the latest reasons given with a grade that was not ok."""

    def __init__(self) -> None:
        self._alerts: dict[object, GradeAlert] = {}
        self._reasons: dict[object, list[str]] = {}

    def update(self, key: object, grade: str | None, reasons: list[str], looks: int = 1) -> bool:
        """Take the latest grade of ``key`` (None: no evidence), return whether its alert is on."""
        active = self._alerts.setdefault(key, GradeAlert(looks)).update(grade)
        if not active:
            self._reasons.pop(key, None)
        elif grade is not None and grade != "ok":
            self._reasons[key] = list(reasons)
        return active

    @property
    def reasons(self) -> list[str]:
        """What to do, for every alert that is on."""
        return [reason for reasons in self._reasons.values() for reason in reasons]


class LinkAlert:
    """Alert state of a sensor link: raised as soon as it drops, cleared once it has streamed again
    for ``settle_s`` seconds — a flapping link stays flagged."""

    def __init__(self, settle_s: float = 2.0) -> None:
        self.settle_s = settle_s
        self.active = False
        self._back_since: float | None = None

    def update(self, connected: bool, now: float) -> bool:
        """Take the link state at ``now`` (seconds, any monotonic clock), return whether the alert is on."""
        if not connected:
            self.active, self._back_since = True, None
        elif self.active:
            self._back_since = now if self._back_since is None else self._back_since
            if now - self._back_since >= self.settle_s:
                self.active, self._back_since = False, None
        return self.active
