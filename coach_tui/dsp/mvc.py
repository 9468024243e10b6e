"""MVC reference from a guided protocol's trials: the basis of every %MVC number."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from coach_tui.dsp.windows import moving_mean


@dataclass(frozen=True, slots=True)
class MvcSettings:
    """The guided protocol (rest baseline, then trials with rest between) and how trials become a
    reference: best ``window_ms`` mean, trials within ``consistency_pct``."""

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


def best_window_mean(envelope: np.ndarray, fs_hz: float, window_ms: float = 500.0) -> float:
    """Highest mean of the envelope over any ``window_ms`` window (whole trial if shorter)."""
    return float(np.max(moving_mean(np.asarray(envelope, dtype=float), round(window_ms * fs_hz / 1000))))


def _spread_pct(values: list[float]) -> float:
    return (max(values) - min(values)) / max(values) * 100 if max(values) > 0 else 0.0


def mvc_reference(trials: list[np.ndarray], fs_hz: float, settings: MvcSettings | None = None) -> MvcResult:
    """MVC reference = the highest ``window_ms`` mean envelope across all trials.

    Trials whose best windows differ by more than ``consistency_pct`` (of the best) are flagged
    "repeat a trial" — unless only the first trial is low and the rest agree, which is the
    expected familiarisation effect and is said so instead.
    """
    settings = settings or MvcSettings()
    if not trials:
        raise ValueError("no MVC trials recorded")
    bests = [best_window_mean(t, fs_hz, settings.window_ms) for t in trials]
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
