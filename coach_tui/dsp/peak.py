"""The peak of a contraction: one estimator for the MVC reference and for every rep it normalises.

**Peak** = the highest mean of the envelope over a window of ``1 / windows_per_half_peak`` (⅙) of the
contraction's time above half its highest envelope value, at least ``min_window_ms`` (100 ms, the
envelope's own window) and at most ``max_window_ms`` (500 ms, the MVC reference's window).

An MVC trial (or any contraction held 3 s or more above half its peak) is thus measured exactly as
the reference always was: its best 500 ms mean, so stored calibrations keep their meaning. A brief
rep gets a shorter window, for two reasons that both pull the same way:

- its own ramps would dilute a 500 ms mean (a 1.2 s sin²-shaped rep loses 13 % of its peak);
- the best of many noisy windows overshoots the true level (a 500 ms mean of sEMG scatters by about
  5 %), and the reference is the best of some 25 independent windows (3 × 5 s trials) while a brief
  rep offers one or two. Searching a brief rep with about six windows across its time above half
  peak gives it the same overshoot as the reference's search.

Measured on the simulated kit's signal model through the set analysis (``bench/validity_mvc_fatigue.py``,
100 seeds per cell; ``tests/test_peak.py`` asserts it on 40): plateaus held 0.3–5 s with 0.2–0.5 s
ramps at 30–90 % of the MVC level, the reference from 3 × 5 s trials at equal effort or at the kit's
92/100/97 %, at 1 and 2 kHz — the peak ÷ reference reads the true fraction with a bias of −2.5 to
+1.9 % and a spread (SD) of 3–8 % (largest for the briefest holds); a client repeating the MVC
protocol reads 99.9 ± 3.6 %MVC at best (range 91–109). sin²-shaped reps with no hold at all
(1.2–2.5 s) read 3–8 % low. The previous rep peak, the envelope's highest sample, read +4 to +22 %
and 122 ± 6 %MVC (109–144) on a repeated MVC; a plain best 500 ms mean reads a 0.3 s hold −15 %.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from coach_tui.dsp.windows import moving_mean

#: The peak's name on screens, and its definition in reports and help.
PEAK_NAME = "best-window mean, as the MVC reference"
FORMULA = ("peak = the highest mean of the envelope over a window of ⅙ of the rep's time above half its highest "
           "value (0.1–0.5 s; a rep held 3 s or more: 0.5 s, exactly as the MVC reference)")


@dataclass(frozen=True, slots=True)
class PeakSettings:
    """The peak estimator's window: ``1 / windows_per_half_peak`` of the time above half peak,
    clamped to ``[min_window_ms, max_window_ms]``. ``max_window_ms`` must equal the MVC reference's
    window (``[mvc] window_ms``): a held contraction is then measured exactly like the reference."""

    windows_per_half_peak: float = 6.0
    min_window_ms: float = 100.0
    max_window_ms: float = 500.0


@dataclass(frozen=True, slots=True)
class Peak:
    """A contraction's peak: ``value`` (envelope units), the sample at the middle of its best window
    (from the start of the envelope given) and the window's length in samples."""

    value: float
    at: int
    window: int


def peak_window(envelope: np.ndarray, fs_hz: float, settings: PeakSettings | None = None) -> int:
    """The estimator's window (samples) for a contraction whose envelope is ``envelope``."""
    settings = settings or PeakSettings()
    envelope = np.asarray(envelope, dtype=float)
    if envelope.size == 0:
        return 1
    above_half = int(np.count_nonzero(envelope > 0.5 * float(envelope.max())))
    low = max(1, round(settings.min_window_ms * fs_hz / 1000))
    high = max(low, round(settings.max_window_ms * fs_hz / 1000))
    return int(min(envelope.size, max(low, min(high, round(above_half / settings.windows_per_half_peak)))))


def peak(envelope: np.ndarray, fs_hz: float, settings: PeakSettings | None = None, window: int | None = None) -> Peak:
    """The peak of one contraction's envelope (see the module docstring).

    ``window`` (samples) overrides the estimator's own choice: the left and right sides of one rep
    are measured with the window of the rep (so their ratio compares like with like).
    """
    envelope = np.asarray(envelope, dtype=float)
    if envelope.size == 0:
        return Peak(0.0, 0, 1)
    window = min(envelope.size, window or peak_window(envelope, fs_hz, settings))
    means = moving_mean(envelope, window)
    best = int(np.argmax(means))
    return Peak(float(means[best]), best + window // 2, window)
