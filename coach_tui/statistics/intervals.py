"""Intervals for means of reps: Student t with a set-offset term, Welch differences, Hedges' g,
and the winner rule — array building blocks that broadcast over leading axes, so a simulation runs
thousands of tests at once.

The model behind the intervals (and its one assumption)
--------------------------------------------------------
A rep's peak is ``μ_variation + b_set + ε``: rep noise ``ε`` (SD σ, estimated from the reps) plus
an offset ``b_set`` shared by the reps of one set (SD τ: how the client set up, stance, sweat under
the electrodes). Reps of one set are therefore correlated, and a plain per-rep t interval is too
narrow (with τ = 3 and σ = 8 %MVC, ABBA with 4 reps a set, a per-rep Welch test names a false
winner in ~8 % of tests instead of 5 %). τ cannot be estimated from one short test (ABBA leaves 1
degree of freedom per variation for it), so it is an assumed constant, ``ABSettings.set_offset_sd``
(default 3 %MVC, about 5 % of a 60 %MVC peak: typical set-to-set variation of sEMG amplitude of one
exercise within a session). The standard error of a variation's mean peak over ``n`` reps in sets
of ``m_j`` reps is

    se² = s²/n + τ² · c,   c = Σm_j²/n² − (n − Σm_j²/n) / (n (n − 1))

— the variance of the mean under the model (``σ²/n + τ² Σm_j²/n²``) minus the part of the set
offsets that the per-rep sample variance ``s²`` already holds (one-way random-effects ANOVA:
``E[s²] = σ² + τ² (n − Σm_j²/n)/(n − 1)``). Its degrees of freedom are Welch–Satterthwaite's with
τ known: ``df = se⁴ / ((s²/n)² / (n − 1))``. With τ = 0 everything reduces to the textbook Student
t interval and Welch test. If set offsets are larger than τ the false-winner rate rises (τ = 3 but
true SD 5: ~10 % instead of 5 %); a large offset also shows as a drift warning (first and last set
of the same variation disagree).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import numpy as np


class MeanStats(NamedTuple):
    """Mean of ``n`` reps with its standard error and Satterthwaite degrees of freedom.

    ``sd`` is the per-rep sample SD; ``se`` includes the set-offset term (see the module docstring);
    ``df`` is infinite when the reps carry no spread at all. Fields are floats or arrays.
    """

    n: int
    mean: np.ndarray
    sd: np.ndarray
    se: np.ndarray
    df: np.ndarray


class Difference(NamedTuple):
    """Welch difference ``a − b`` of two means: estimate, standard error, df, interval, two-sided p."""

    estimate: np.ndarray
    se: np.ndarray
    df: np.ndarray
    low: np.ndarray
    high: np.ndarray
    p_value: np.ndarray


def set_offset_coefficient(set_sizes: Sequence[int]) -> float:
    """``c = Σm²/n² − (n − Σm²/n)/(n(n − 1))`` for sets of ``set_sizes`` reps (0 for one rep a set)."""
    sizes = np.asarray(set_sizes, dtype=float)
    n = sizes.sum()
    if sizes.size == 0 or np.any(sizes < 1):
        raise ValueError(f"set sizes must be positive rep counts, got {list(set_sizes)}")
    squares = float((sizes**2).sum())
    between = 0.0 if n < 2 else (n - squares / n) / (n * (n - 1))
    return squares / n**2 - between


def mean_stats(values: np.ndarray, set_sizes: Sequence[int] = (), set_offset_sd: float = 0.0) -> MeanStats:
    """:class:`MeanStats` of the reps on the last axis of ``values`` (at least two).

    ``set_sizes`` says how many of the reps came from each set (any order; default: one set each,
    no set-offset term needed). ``se² = s²/n + set_offset_sd² · c`` (:func:`set_offset_coefficient`),
    ``df = se⁴ / ((s²/n)² / (n − 1))``.
    """
    values = np.asarray(values, dtype=float)
    n = values.shape[-1]
    if n < 2:
        raise ValueError(f"a mean with an interval needs at least 2 reps, got {n}")
    sizes = tuple(set_sizes) or (1,) * n
    if sum(sizes) != n:
        raise ValueError(f"set sizes {list(sizes)} add up to {sum(sizes)}, not to the {n} reps")
    sd = values.std(axis=-1, ddof=1)
    sampled = sd**2 / n
    se2 = sampled + set_offset_sd**2 * set_offset_coefficient(sizes)
    with np.errstate(divide="ignore", invalid="ignore"):
        df = np.where(sampled > 0, se2**2 / (sampled**2 / (n - 1)), np.inf)
    return MeanStats(n, values.mean(axis=-1), sd, np.sqrt(se2), df)


def t_interval(m: MeanStats, confidence: float) -> tuple[np.ndarray, np.ndarray]:
    """Student t interval of the mean: ``mean ± t_{(1+confidence)/2}(df) · se``."""
    from scipy import stats  # here, not at the top: scipy.stats costs ~0.5 s of every start-up

    half = stats.t.ppf(0.5 + confidence / 2, m.df) * m.se
    return m.mean - half, m.mean + half


def welch_difference(a: MeanStats, b: MeanStats, confidence: float) -> Difference:
    """Welch difference ``a − b``: ``se = √(se_a² + se_b²)``, Satterthwaite
    ``df = se⁴ / (se_a⁴/df_a + se_b⁴/df_b)``, interval ``± t(df)·se``, two-sided p.

    With no set offsets this is ``scipy.stats.ttest_ind(a, b, equal_var=False)``.
    """
    from scipy import stats  # here, not at the top: scipy.stats costs ~0.5 s of every start-up

    se2 = a.se**2 + b.se**2
    with np.errstate(divide="ignore", invalid="ignore"):
        denominator = a.se**4 / a.df + b.se**4 / b.df
        df = np.where(denominator > 0, se2**2 / denominator, np.inf)
        se = np.sqrt(se2)
        estimate = a.mean - b.mean
        half = stats.t.ppf(0.5 + confidence / 2, df) * se
        t = np.where(se > 0, np.abs(estimate) / se, np.where(estimate == 0, 0.0, np.inf))
    return Difference(estimate, se, df, estimate - half, estimate + half, 2 * stats.t.sf(t, df))


def hedges_g(a: MeanStats, b: MeanStats) -> np.ndarray:
    """Hedges' g of ``a − b``: ``J · (x̄a − x̄b) / s_pooled`` with the per-rep pooled SD
    ``s_pooled² = ((na − 1) sa² + (nb − 1) sb²) / (na + nb − 2)`` and ``J = 1 − 3/(4(na + nb) − 9)``
    (NaN when neither variation has any spread)."""
    pooled = np.sqrt(((a.n - 1) * a.sd**2 + (b.n - 1) * b.sd**2) / (a.n + b.n - 2))
    correction = 1.0 - 3.0 / (4.0 * (a.n + b.n) - 9.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(pooled > 0, correction * (a.mean - b.mean) / pooled, np.nan)


def pairwise_confidence(n_variations: int, confidence: float = 0.95) -> float:
    """Confidence of each pairwise interval: ``1 − 2α/k`` (0.95 for 2 variations, 0.9667 for 3)."""
    return 1.0 - 2.0 * (1.0 - confidence) / n_variations


def winner_index(variations: Sequence[MeanStats], confidence: float = 0.95) -> np.ndarray:
    """Index of the variation whose :func:`pairwise_confidence` interval against every other lies
    above zero, else −1 (no clear difference)."""
    level = pairwise_confidence(len(variations), confidence)
    winner = np.full(np.shape(variations[0].mean), -1)
    for i, candidate in enumerate(variations):
        beats_all = np.ones(np.shape(candidate.mean), dtype=bool)
        for j, other in enumerate(variations):
            if j != i:
                beats_all &= welch_difference(candidate, other, level).low > 0
        winner = np.where(beats_all, i, winner)
    return winner
