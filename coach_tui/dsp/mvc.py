"""MVC reference from a guided protocol's trials: the basis of every %MVC number."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from coach_tui.dsp.peak import PeakSettings, peak


@dataclass(frozen=True, slots=True)
class MvcSettings:
    """The guided protocol (rest baseline, then trials with rest between) and how trials become a
    reference: each trial's peak (``dsp.peak``, whose longest window is ``window_ms``), trials within
    ``consistency_pct``."""

    window_ms: float = 500.0
    consistency_pct: float = 10.0
    baseline_seconds: float = 3.0
    trials: int = 3
    trial_seconds: float = 5.0
    rest_seconds: float = 5.0


@dataclass(frozen=True, slots=True)
class MvcResult:
    """The reference (envelope units), each trial's best window, and what the trainer should do."""

    reference: float
    trial_bests: tuple[float, ...]
    best_trial: int
    spread_pct: float
    repeat_trial: bool
    familiarisation: bool
    message: str


def trial_peak(envelope: np.ndarray, fs_hz: float, settings: MvcSettings | None = None,
               peak_settings: PeakSettings | None = None) -> float:
    """One trial's peak: the estimator every rep is measured with (``dsp.peak``; by default with the
    reference's ``window_ms`` as its longest window). A trial held 3 s or more above half its peak
    gets exactly that window: its best ``window_ms`` mean."""
    peak_settings = peak_settings or PeakSettings(max_window_ms=(settings or MvcSettings()).window_ms)
    return peak(envelope, fs_hz, peak_settings).value


def _spread_pct(values: list[float]) -> float:
    return (max(values) - min(values)) / max(values) * 100 if max(values) > 0 else 0.0


def mvc_reference(trials: list[np.ndarray], fs_hz: float, settings: MvcSettings | None = None,
                  peak_settings: PeakSettings | None = None) -> MvcResult:
    """MVC reference = the highest trial peak (``trial_peak``: for trials held ≥ 3 s, the highest
    ``window_ms`` mean envelope) across all trials.

    Trials whose best windows differ by more than ``consistency_pct`` (of the best) are flagged
    "repeat a trial" — unless only the first trial is low and the rest agree, which is the
    expected familiarisation effect and is said so instead.
    """
    settings = settings or MvcSettings()
    if not trials:
        raise ValueError("no MVC trials recorded")
    bests = [trial_peak(t, fs_hz, settings, peak_settings) for t in trials]
    best_trial = int(np.argmax(bests))
    spread = _spread_pct(bests)
    familiarisation = (
        len(bests) >= 3
        and spread > settings.consistency_pct
        and bests[0] == min(bests)
        and _spread_pct(bests[1:]) <= settings.consistency_pct
    )
    repeat = spread > settings.consistency_pct and not familiarisation
    if familiarisation:
        message = "first trial lower than the others: expected (familiarisation); later trials agree"
    elif repeat:
        message = f"trials differ by {spread:.0f} % (limit {settings.consistency_pct:.0f} %): repeat a trial"
    else:
        message = f"trials agree within {spread:.0f} %"
    return MvcResult(bests[best_trial], tuple(bests), best_trial, spread, repeat, familiarisation, message)
