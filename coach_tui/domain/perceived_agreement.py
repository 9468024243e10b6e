"""How well the client's perceived activation agrees with the measured one: Spearman's rank
correlation ρ over rated sets (each set's 1–10 score beside its peak %MVC), overall and over a
rolling window of sets."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from statistics import fmean


@dataclass(frozen=True, slots=True)
class Agreement:
    """Spearman's ρ over ``n`` rated sets; ``reason`` says why ρ is None."""

    rho: float | None
    n: int
    reason: str = ""

    @property
    def words(self) -> str:
        """"ρ = 0.90 over 5 rated sets", or why there is no ρ."""
        if self.rho is None:
            return f"ρ not computed ({self.reason})"
        return f"ρ = {self.rho:.2f} over {self.n} rated sets"


@dataclass(frozen=True, slots=True)
class RollingAgreement:
    """ρ over the ``window`` rated sets ending with the set started at ``ended``."""

    ended: datetime
    agreement: Agreement


def _ranks(values: Sequence[float]) -> list[float]:
    """Ranks from 1; tied values share their mean rank."""
    order = sorted(range(len(values)), key=lambda i: values[i])
    ranks = [0.0] * len(values)
    start = 0
    while start < len(order):
        end = start
        while end + 1 < len(order) and values[order[end + 1]] == values[order[start]]:
            end += 1
        for i in order[start:end + 1]:
            ranks[i] = (start + end) / 2 + 1
        start = end + 1
    return ranks


def spearman_rho(x: Sequence[float], y: Sequence[float]) -> Agreement:
    """Spearman's ρ: Pearson's correlation of the ranks of ``x`` and ``y`` (ties take their mean rank).

    ρ is None, with the reason, for fewer than 3 pairs or when one side has no spread.
    """
    if len(x) != len(y):
        raise ValueError(f"spearman_rho needs pairs, got {len(x)} and {len(y)} values")
    n = len(x)
    if n < 3:
        return Agreement(None, n, f"needs at least 3 rated sets, has {n}")
    rx, ry = _ranks(x), _ranks(y)
    mx, my = fmean(rx), fmean(ry)
    sxy = sum((a - mx) * (b - my) for a, b in zip(rx, ry, strict=True))
    sxx = sum((a - mx) ** 2 for a in rx)
    syy = sum((b - my) ** 2 for b in ry)
    if sxx == 0 or syy == 0:
        return Agreement(None, n, "no spread to rank (all scores or all measurements the same)")
    return Agreement(sxy / (sxx * syy) ** 0.5, n)
