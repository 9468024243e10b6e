"""Left/right asymmetry of one muscle: ``(max − min) / max × 100``, the weaker side named."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

FORMULA = "asymmetry = (max − min) / max × 100 of per-rep peak"


@dataclass(frozen=True, slots=True)
class Asymmetry:
    """Asymmetry in %, the weaker side ("L"/"R"), and whether it is conclusive."""

    pct: float | None
    weaker_side: str | None
    status: str  # "symmetric" | "asymmetric" | "inconclusive"


def asymmetry_pct(left: float, right: float) -> float:
    """``(max − min) / max × 100`` of two activation values (0 when both are 0)."""
    high = max(left, right)
    return 0.0 if high <= 0 else (high - min(left, right)) / high * 100.0


def set_asymmetry(
    left_peaks: np.ndarray,
    right_peaks: np.ndarray,
    left_floor: float,
    right_floor: float,
    alert_pct: float = 15.0,
) -> Asymmetry:
    """Asymmetry of a set from its per-rep (or per-window) peaks of each side.

    Computed on the mean peak of each side, which averages out the per-rep noise: with a 100 ms
    RMS envelope one rep's peak scatters by about 3–5 % around its true value, so a single rep's
    asymmetry is off by up to ~10 points while a set of six reps stays within ~2 points. When no
    rep of either side reaches its floor (noise floor, e.g. 10 %MVC) the result is inconclusive,
    never an alert.
    """
    left_peaks = np.asarray(left_peaks, dtype=float)
    right_peaks = np.asarray(right_peaks, dtype=float)
    if left_peaks.size == 0 or (np.all(left_peaks < left_floor) and np.all(right_peaks < right_floor)):
        return Asymmetry(None, None, "inconclusive")
    left, right = float(np.mean(left_peaks)), float(np.mean(right_peaks))
    pct = asymmetry_pct(left, right)
    weaker = "L" if left < right else "R"
    return Asymmetry(pct, weaker, "asymmetric" if pct >= alert_pct else "symmetric")
