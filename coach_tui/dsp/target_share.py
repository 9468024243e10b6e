"""Target share (compensation): how much of the work the target muscle does against a synergist."""

from __future__ import annotations

FORMULA = "target share = target / (target + synergist) of per-rep mean %MVC"


def target_share(target_mean: float, synergist_mean: float) -> float | None:
    """``target / (target + synergist)`` as a fraction 0–1, None when neither is active."""
    total = target_mean + synergist_mean
    return None if total <= 0 else target_mean / total
