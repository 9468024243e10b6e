"""The progression gate: is an exercise "ready to progress" for this client, and if not, what is missing.

Rule: the last ``sets`` sets of the exercise (sets with at least one rep, newest last) each reach
``target_pct`` %MVC on the target muscle (the set's mean of per-rep peaks) with left/right asymmetry
at most ``max_asymmetry_pct`` (the set's mean of per-rep asymmetry). A set measured in µV (target
not calibrated) cannot show it reached the target. A %MVC set without an asymmetry (one side
measured) does not block the gate; the gate says so.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from coach_tui.domain.hysteresis_alert import AlertRule
from coach_tui.domain.validation import require_int, require_number

FORMULA = ("ready to progress = in {sets} the target's peak %MVC (mean of per-rep peaks) "
           "≥ {target:g} and asymmetry (mean of per-rep asymmetry) ≤ {asym:g} %")


@dataclass(frozen=True, slots=True)
class ProgressionSettings:
    """The gate's thresholds; ``max_asymmetry_pct`` defaults to the asymmetry alert's raise level."""

    target_pct: float = 70.0
    sets: int = 3
    max_asymmetry_pct: float = AlertRule().raise_pct

    def __post_init__(self) -> None:
        require_number("ProgressionSettings", "target_pct", self.target_pct, low=0.0, low_open=True)
        require_int("ProgressionSettings", "sets", self.sets, low=1)
        require_number("ProgressionSettings", "max_asymmetry_pct", self.max_asymmetry_pct, low=0.0, high=100.0)

    @property
    def formula(self) -> str:
        """The rule in words, with these thresholds."""
        sets = "the last set" if self.sets == 1 else f"each of the last {self.sets} sets"
        return FORMULA.format(sets=sets, target=self.target_pct, asym=self.max_asymmetry_pct)


@dataclass(frozen=True, slots=True)
class SetEvidence:
    """What the gate reads from one set: when, the target's peak %MVC (None: not in %MVC) and asymmetry."""

    started: datetime
    peak_pct: float | None
    asymmetry_pct: float | None


@dataclass(frozen=True, slots=True)
class Gate:
    """The gate of one exercise: ``ready``, what is ``missing`` (in words), ``notes`` that do not block,
    and the sets it judged (``evidence``, oldest first)."""

    exercise: str
    ready: bool
    missing: tuple[str, ...]
    notes: tuple[str, ...]
    evidence: tuple[SetEvidence, ...]
    settings: ProgressionSettings

    @property
    def summary(self) -> str:
        """"ready to progress (…)" or "not yet: …", with the numbers."""
        if self.ready:
            peaks = ", ".join(f"{e.peak_pct:.0f}" for e in self.evidence)
            asymmetry = ", ".join("—" if e.asymmetry_pct is None else f"{e.asymmetry_pct:.0f}" for e in self.evidence)
            judged = "last set" if len(self.evidence) == 1 else f"last {len(self.evidence)} sets"
            return (f"ready to progress ({judged}: {peaks} %MVC, "
                    f"target {self.settings.target_pct:g}; asymmetry {asymmetry} %, limit {self.settings.max_asymmetry_pct:g})")
        return "not yet: " + "; ".join(self.missing)


def _numbers(values: Sequence[float], unit: str, threshold: float) -> str:
    """Whole numbers, one decimal where rounding would show the threshold itself (69.6 → "69.6", not "70")."""
    return ", ".join(f"{v:.1f}" if round(v) == threshold else f"{v:.0f}" for v in values) + f" {unit}"


def _of_last(count: int, total: int) -> str:
    """"2 of the last 3 sets", or "the last set" when there is one."""
    return "the last set" if total == 1 else f"{count} of the last {total} sets"


def progression_gate(exercise: str, sets: Sequence[SetEvidence], settings: ProgressionSettings) -> Gate:
    """The gate of ``exercise`` from its sets with reps, in any order (the newest ``settings.sets`` count)."""
    last = tuple(sorted(sets, key=lambda e: e.started)[-settings.sets:])
    n, target, limit = settings.sets, settings.target_pct, settings.max_asymmetry_pct
    missing: list[str] = []
    notes: list[str] = []
    if len(last) < n:
        more = n - len(last)
        missing.append(f"{len(last)} of {n} sets recorded — {more} more set{'s' if more > 1 else ''} needed")
    uncalibrated = [e for e in last if e.peak_pct is None]
    if uncalibrated:
        missing.append(f"{_of_last(len(uncalibrated), len(last))} not in %MVC (calibrate the target muscle)")
    low = [e.peak_pct for e in last if e.peak_pct is not None and e.peak_pct < target]
    if low:
        missing.append(f"target {target:g} %MVC not reached in {_of_last(len(low), len(last))} "
                       f"({_numbers(low, '%MVC', target)})")
    uneven = [e.asymmetry_pct for e in last if e.asymmetry_pct is not None and e.asymmetry_pct > limit]
    if uneven:
        missing.append(f"asymmetry above {limit:g} % in {_of_last(len(uneven), len(last))} "
                       f"({_numbers(uneven, '%', limit)})")
    unmeasured = sum(e.asymmetry_pct is None and e.peak_pct is not None for e in last)
    if unmeasured:
        notes.append(f"asymmetry not measured in {_of_last(unmeasured, len(last))} "
                     "(one side, or below the noise floor)")
    return Gate(exercise, not missing, tuple(missing), tuple(notes), last, settings)
