"""A/B test statistics: which exercise variation activates the target muscle more, and how sure.

Per variation the reps' peak %MVC of the target is summarised as a mean with a Student t interval;
variations are compared pairwise by the Welch difference of mean peaks with its interval and
Hedges' g; a winner is named only when its intervals against every other variation exclude zero.

The intervals and the model behind them (set offsets shared by the reps of a set) are in
:mod:`coach_tui.statistics.intervals`.

Verdict and false winners
-------------------------
The claim "v activates the target more than every other variation" is made when the lower bound
of every pairwise interval ``v − u`` is above zero. With k variations each pairwise interval is
two-sided at confidence ``1 − 2α/k`` (Bonferroni over the k possible winner claims): a claim is
false only if some u has ``μ_u ≥ μ_v`` and ``v − u`` still cleared zero, a one-sided error of at
most ``α/k``; summed over the k variations the chance of any false winner is at most α (5 %). For
2 variations this is the plain 95 % interval of the difference.

Secondary metrics (mean %MVC, target share, asymmetry, median frequency) are descriptive: Student t
intervals over reps, without the set-offset term; no verdict rests on them.

Drift warnings
--------------
* **Block drift**: for each variation done in two or more sets, its first and its last set are
  compared (Welch test over their reps, no set-offset term — a set offset is exactly what is being
  looked for). Warn when the change is significant (p < α) and at least ``drift_fraction``
  (default 10 %) of the variation's mean peak: counterbalancing cancels a linear drift in the means
  but not a jump or a curved drift, and a change of that size is as large as the differences an A/B
  test is after.
* **Median-frequency fall** (fatigue): least-squares line of per-rep median frequency against the
  set's position in the test; warn when the slope is significantly negative (one-sided p < α; reps
  of a set are correlated, so this p is optimistic) and the fitted fall from the first to the last
  set is at least ``frequency_fall_fraction`` (default 5 %) of the fitted start.

Activation is not force or growth stimulus: :data:`ACTIVATION_CAVEAT` goes with every report.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from coach_tui.domain.abtest import MAX_VARIATIONS, MIN_VARIATIONS, ABRep, ABTest
from coach_tui.statistics.intervals import (
    MeanStats,
    hedges_g,
    mean_stats,
    pairwise_confidence,
    t_interval,
    welch_difference,
    winner_index,
)

NO_CLEAR_DIFFERENCE = "no clear difference — collect more reps"
ACTIVATION_CAVEAT = (
    "Activation is not force or growth stimulus: a higher %MVC shows which muscle works harder, "
    "not which exercise builds more strength or muscle."
)
PEAK_FORMULA = "mean peak %MVC ± t · se, se² = s²/n + τ²·c (set offsets of SD τ)"
DIFFERENCE_FORMULA = "Welch: (x̄a − x̄b) ± t(df) · √(se_a² + se_b²), Satterthwaite df"
EFFECT_SIZE_FORMULA = "Hedges' g = J · (x̄a − x̄b) / s_pooled, J = 1 − 3 / (4 (na + nb) − 9)"


@dataclass(frozen=True, slots=True)
class ABSettings:
    """Parameters of the A/B statistics (see the module docstring for what each one does)."""

    confidence: float = 0.95
    set_offset_sd: float = 3.0
    min_reps: int = 2
    drift_fraction: float = 0.10
    frequency_fall_fraction: float = 0.05

    def __post_init__(self) -> None:
        if not 0.5 <= self.confidence < 1.0:
            raise ValueError(f"ABSettings.confidence must be in [0.5, 1), got {self.confidence!r}")
        if self.set_offset_sd < 0:
            raise ValueError(f"ABSettings.set_offset_sd must be ≥ 0 %MVC, got {self.set_offset_sd!r}")
        if self.min_reps < 2:
            raise ValueError(f"ABSettings.min_reps must be ≥ 2 (a spread needs two reps), got {self.min_reps!r}")
        if self.drift_fraction < 0 or self.frequency_fall_fraction < 0:
            raise ValueError(
                f"ABSettings.drift_fraction and frequency_fall_fraction must be ≥ 0, got "
                f"{self.drift_fraction!r} and {self.frequency_fall_fraction!r}"
            )

    @property
    def alpha(self) -> float:
        """The accepted chance of a false winner, ``1 − confidence``."""
        return 1.0 - self.confidence


# -- the report ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Estimate:
    """A mean over ``n`` reps with its interval at ``confidence``; spread and interval are None
    for a single rep."""

    n: int
    mean: float
    sd: float | None
    low: float | None
    high: float | None
    confidence: float


@dataclass(frozen=True, slots=True)
class VariationSummary:
    """One variation's reps: peak and mean %MVC of the target, target share (0–1), asymmetry (%)
    and median frequency (Hz), each None when no rep has it. ``sets`` counts the sets its reps came
    from. The peak interval includes the set-offset term; the others are plain Student t."""

    variation: str
    sets: int
    peak: Estimate | None
    mean: Estimate | None
    target_share: Estimate | None
    asymmetry: Estimate | None
    median_frequency: Estimate | None

    @property
    def reps(self) -> int:
        """How many reps the variation has."""
        return 0 if self.peak is None else self.peak.n


@dataclass(frozen=True, slots=True)
class Comparison:
    """Mean peak %MVC of ``better`` minus ``worse`` (by observed means; ``difference`` ≥ 0) with
    its Welch interval at ``confidence`` (Bonferroni-adjusted for 3–4 variations), degrees of
    freedom, two-sided p and Hedges' g (None when the reps have no spread)."""

    better: str
    worse: str
    difference: float
    low: float
    high: float
    df: float
    p_value: float
    hedges_g: float | None
    confidence: float

    @property
    def excludes_zero(self) -> bool:
        """True when the interval lies above zero."""
        return self.low > 0

    @property
    def interval_text(self) -> str:
        """"+14.5 [+8.3, +20.7]": the difference and its interval, %MVC."""
        return f"{self.difference:+.1f} [{self.low:+.1f}, {self.high:+.1f}]"

    @property
    def hedges_g_text(self) -> str:
        """Hedges' g to two decimals, "—" when there is none."""
        return "—" if self.hedges_g is None else f"{self.hedges_g:.2f}"

    def words(self, labels: Mapping[str, str] | None = None) -> str:
        """"B − A: +14.5 %MVC, 95 % CI [+8.3, +20.7], Hedges' g 4.63", each variation called
        ``labels[variation]`` (default: its own name)."""
        better, worse = (self.better, self.worse) if labels is None else (labels[self.better], labels[self.worse])
        return (f"{better} − {worse}: {self.difference:+.1f} %MVC, {level_text(self.confidence)} CI "
                f"[{self.low:+.1f}, {self.high:+.1f}], Hedges' g {self.hedges_g_text}")


@dataclass(frozen=True, slots=True)
class BlockDrift:
    """The first and the last set of one variation: their mean peaks (%MVC), the change (last −
    first, also as a fraction of the variation's mean), the Welch p of the change, and whether it
    is large enough to warn about."""

    variation: str
    first_position: int
    last_position: int
    first_mean: float
    last_mean: float
    change: float
    relative_change: float
    p_value: float
    warn: bool


@dataclass(frozen=True, slots=True)
class FrequencyTrend:
    """Least-squares line of per-rep median frequency against set position: slope (Hz per set),
    fitted change from the first to the last set as a fraction of the fitted start (negative: a
    fall), one-sided p of a fall, and whether to warn."""

    reps: int
    slope_hz_per_set: float
    relative_change: float
    p_value: float
    warn: bool


@dataclass(frozen=True, slots=True)
class ABReport:
    """Everything the A/B screen, history and exports show about one test.

    ``winner`` is None unless a variation beats every other (then ``verdict`` names it; otherwise
    it is :data:`NO_CLEAR_DIFFERENCE`). ``needs_reps`` maps each variation that cannot be compared
    yet to how many more reps it needs; ``warnings`` are the drift warnings in words; ``caveat``
    is the one-line reminder that activation is not force or growth stimulus.
    """

    variations: tuple[str, ...]
    summaries: tuple[VariationSummary, ...]
    comparisons: tuple[Comparison, ...]
    winner: str | None
    verdict: str
    needs_reps: dict[str, int]
    block_drift: tuple[BlockDrift, ...]
    frequency_trend: FrequencyTrend | None
    warnings: tuple[str, ...]
    settings: ABSettings = field(default_factory=ABSettings)
    caveat: str = ACTIVATION_CAVEAT


def level_text(confidence: float) -> str:
    """A confidence level as shown: "95 %", "96.7 %" (Bonferroni-adjusted for 3 variations)."""
    return f"{confidence * 100:.3g} %"


def estimate_text(value: Estimate | None, form: str = ".1f") -> str:
    """"62.1 [55.0, 69.2]": the mean and its interval in format ``form``; the mean alone for one rep,
    "—" for none."""
    if value is None:
        return "—"
    if value.low is None:
        return format(value.mean, form)
    return f"{value.mean:{form}} [{value.low:{form}}, {value.high:{form}}]"


def winner_verdict(winner: str, others: Sequence[str]) -> str:
    """The verdict naming ``winner``."""
    return f"{winner} wins — higher peak %MVC of the target than {', '.join(others)}"


def analyze_ab_test(
    variations: Sequence[str], reps: Sequence[ABRep], settings: ABSettings | None = None
) -> ABReport:
    """The :class:`ABReport` of an A/B test's reps (e.g. ``ABTest.variations, ABTest.reps``).

    Never fails for too few reps: a variation with fewer than ``settings.min_reps`` is listed in
    ``needs_reps`` and the verdict is :data:`NO_CLEAR_DIFFERENCE`. Raises ``ValueError`` only for
    malformed input (not 2–4 distinct variations, a rep of an unknown variation).
    """
    settings = settings or ABSettings()
    variations = tuple(variations)
    if not MIN_VARIATIONS <= len(variations) <= MAX_VARIATIONS or len(set(variations)) != len(variations):
        raise ValueError(f"an A/B test compares 2–4 different variations, got {list(variations)}")
    by_variation: dict[str, list[ABRep]] = {v: [] for v in variations}
    for rep in reps:
        if rep.variation not in by_variation:
            raise ValueError(f"rep of {rep.variation!r}, which is not one of {', '.join(variations)}")
        by_variation[rep.variation].append(rep)

    needs_reps = {v: settings.min_reps - len(r) for v, r in by_variation.items() if len(r) < settings.min_reps}
    peak_stats = {
        v: mean_stats(_values(r, "peak"), _set_sizes(r), settings.set_offset_sd)
        for v, r in by_variation.items()
        if v not in needs_reps
    }
    summaries = tuple(_summary(v, by_variation[v], peak_stats.get(v), settings) for v in variations)
    comparisons = _comparisons(variations, peak_stats, settings.confidence)
    winner = None
    if not needs_reps:
        index = int(winner_index([peak_stats[v] for v in variations], settings.confidence))
        winner = variations[index] if index >= 0 else None
    verdict = NO_CLEAR_DIFFERENCE if winner is None else winner_verdict(winner, [v for v in variations if v != winner])
    drift = tuple(d for v in variations if (d := _block_drift(v, by_variation[v], settings)) is not None)
    trend = _frequency_trend(reps, settings)
    warnings = tuple(_drift_warning(d) for d in drift if d.warn)
    if trend is not None and trend.warn:
        warnings += (_fatigue_warning(trend),)
    return ABReport(variations, summaries, comparisons, winner, verdict, needs_reps, drift, trend, warnings, settings)


def analyze_named(test: ABTest, names: Sequence[str], settings: ABSettings | None = None) -> ABReport:
    """:func:`analyze_ab_test` of a saved test's reps, variation ``i`` called ``names[i]`` (its
    exercise's name, ``coach_tui.domain.ab_variations.variation_names``), so the verdict and warnings
    read "Hip thrust", not ``hip_thrust``. The A/B screen, history and report all use this."""
    named = dict(zip(test.variations, names, strict=True))
    reps = [replace(rep, variation=named[rep.variation]) for rep in test.reps]
    return analyze_ab_test(tuple(names), reps, settings)


def record_verdict(test: ABTest, report: ABReport) -> ABTest:
    """``test`` holding the verdict, warnings and winner (by exercise key) of ``report``, its
    :func:`analyze_named` report: what is stored once every planned set has reps."""
    winner = None if report.winner is None else test.variations[report.variations.index(report.winner)]
    return test.with_verdict(report.verdict, winner, report.warnings)


def _values(reps: Sequence[ABRep], name: str) -> np.ndarray:
    return np.array([value for rep in reps if (value := getattr(rep, name)) is not None], dtype=float)


def _set_sizes(reps: Sequence[ABRep]) -> tuple[int, ...]:
    return tuple(Counter(rep.set_position for rep in reps).values())


def _estimate(m: MeanStats | None, values: np.ndarray, confidence: float) -> Estimate | None:
    """An :class:`Estimate` from :func:`mean_stats` (None: fewer than 2 values) or the lone value."""
    if m is None:
        return Estimate(1, float(values[0]), None, None, None, confidence) if values.size == 1 else None
    low, high = t_interval(m, confidence)
    return Estimate(m.n, float(m.mean), float(m.sd), float(low), float(high), confidence)


def _summary(variation: str, reps: list[ABRep], peak: MeanStats | None, settings: ABSettings) -> VariationSummary:
    def descriptive(name: str) -> Estimate | None:
        values = _values(reps, name)
        return _estimate(mean_stats(values) if values.size >= 2 else None, values, settings.confidence)

    return VariationSummary(
        variation,
        len({rep.set_position for rep in reps}),
        _estimate(peak, _values(reps, "peak"), settings.confidence),
        descriptive("mean"),
        descriptive("target_share"),
        descriptive("asymmetry_pct"),
        descriptive("median_frequency_hz"),
    )


def _comparisons(
    variations: tuple[str, ...], peak_stats: dict[str, MeanStats], confidence: float
) -> tuple[Comparison, ...]:
    """Every pair of variations with enough reps, the higher observed mean first."""
    level = pairwise_confidence(len(variations), confidence)
    ready = [v for v in variations if v in peak_stats]
    out = []
    for i, first in enumerate(ready):
        for second in ready[i + 1 :]:
            better, worse = (first, second) if peak_stats[first].mean >= peak_stats[second].mean else (second, first)
            a, b = peak_stats[better], peak_stats[worse]
            d = welch_difference(a, b, level)
            g = float(hedges_g(a, b))
            out.append(
                Comparison(better, worse, float(d.estimate), float(d.low), float(d.high), float(d.df),
                           float(d.p_value), None if np.isnan(g) else g, level)
            )
    return tuple(out)


def _block_drift(variation: str, reps: list[ABRep], settings: ABSettings) -> BlockDrift | None:
    """First against last set of one variation (None: fewer than two sets of at least 2 reps)."""
    positions = sorted({rep.set_position for rep in reps})
    if len(positions) < 2:
        return None
    first = _values([r for r in reps if r.set_position == positions[0]], "peak")
    last = _values([r for r in reps if r.set_position == positions[-1]], "peak")
    if first.size < 2 or last.size < 2:
        return None
    d = welch_difference(mean_stats(last), mean_stats(first), settings.confidence)
    level = float(_values(reps, "peak").mean())
    relative = float(d.estimate) / level if level > 0 else 0.0
    warn = bool(d.p_value < settings.alpha and abs(relative) >= settings.drift_fraction)
    return BlockDrift(variation, positions[0], positions[-1], float(first.mean()), float(last.mean()),
                      float(d.estimate), relative, float(d.p_value), warn)


def _drift_warning(drift: BlockDrift) -> str:
    return (
        f"drift: {drift.variation} changed {drift.change:+.1f} %MVC ({drift.relative_change:+.0%}) from its first "
        f"set to its last — fatigue or an electrode shift could explain the result"
    )


def _fatigue_warning(trend: FrequencyTrend) -> str:
    return (
        f"fatigue: median frequency fell {-trend.relative_change:.0%} across the test — fatigue could explain "
        f"the result"
    )


def _frequency_trend(reps: Sequence[ABRep], settings: ABSettings) -> FrequencyTrend | None:
    """Median frequency against set position (None: fewer than 3 reps or one set with it)."""
    from scipy import stats  # here, not at the top: scipy.stats costs ~0.5 s of every start-up

    known = [rep for rep in reps if rep.median_frequency_hz is not None]
    positions = np.array([rep.set_position for rep in known], dtype=float)
    if len(known) < 3 or np.unique(positions).size < 2:
        return None
    frequencies = np.array([rep.median_frequency_hz for rep in known], dtype=float)
    fit = stats.linregress(positions, frequencies, alternative="less")
    start = fit.intercept + fit.slope * positions.min()
    change = fit.slope * (positions.max() - positions.min()) / start if start > 0 else 0.0
    p_value = float(fit.pvalue) if np.isfinite(fit.pvalue) else float(fit.slope >= 0)
    warn = bool(p_value < settings.alpha and -change >= settings.frequency_fall_fraction)
    return FrequencyTrend(len(known), float(fit.slope), float(change), p_value, warn)
