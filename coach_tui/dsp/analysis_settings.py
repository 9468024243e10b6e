"""Every parameter of the analysis — live bars, recorded sets, re-analysis and ``coach analyze`` —
as one frozen object, and its form as ``config.toml`` tables (which a recording stores as its
recipe)."""

from __future__ import annotations

from dataclasses import dataclass, field

from coach_tui.domain.hysteresis_alert import AlertRule
from coach_tui.domain.settings_tables import SettingsError, build, refuse_broken, replace_in, to_table
from coach_tui.dsp.fatigue import FatigueSettings
from coach_tui.dsp.onsets import OnsetSettings
from coach_tui.dsp.peak import PeakSettings
from coach_tui.dsp.quality import QualitySettings
from coach_tui.dsp.reps import RepSettings
from coach_tui.dsp.settings import DspSettings, EnvelopeSettings, FilterSettings

MAINS_CHOICES = ("auto", "50", "60", "off")


@dataclass(frozen=True, slots=True)
class ActivityFloors:
    """Levels below which a muscle counts as resting.

    With an MVC reference the floors are in %MVC. Without one they are multiples of the channel's
    rest level (the quietest 500 ms); ``uncalibrated_pair_factor`` × the quieter side's rest level
    stands in for the 10 %MVC noise floor of a pair (typical sEMG reaches ~50× its rest noise at
    maximum effort, so 5× is about 10 %MVC). A rep's peak must reach ``rep_pct_mvc`` with
    calibration; without, a rep is judged by its own rise (``RepSettings``), since the lowest level
    seen may be a held load rather than rest. ``rep_rest_factor`` × the rest level marks the active
    windows and pair reps of ``coach analyze`` without calibration.
    """

    asymmetry_pct_mvc: float = 10.0
    rep_pct_mvc: float = 5.0
    rep_rest_factor: float = 3.0
    uncalibrated_pair_factor: float = 5.0
    window_s: float = 1.0


@dataclass(frozen=True, slots=True)
class AnalysisSettings:
    """Every parameter of the analysis; ``config.toml``'s analysis tables map onto these."""

    dsp: DspSettings = field(default_factory=DspSettings)
    onsets: OnsetSettings = field(default_factory=OnsetSettings)
    reps: RepSettings = field(default_factory=RepSettings)
    peak: PeakSettings = field(default_factory=PeakSettings)
    fatigue: FatigueSettings = field(default_factory=FatigueSettings)
    quality: QualitySettings = field(default_factory=QualitySettings)
    asymmetry_alert: AlertRule = field(default_factory=AlertRule)
    cocontraction_alert: AlertRule = field(default_factory=lambda: AlertRule(40.0, 30.0, 2))
    compensation_alert: AlertRule = field(default_factory=lambda: AlertRule(0.0, 0.0, 2))
    floors: ActivityFloors = field(default_factory=ActivityFloors)


#: Table name → (where it lives in ``AnalysisSettings``, its dataclass).
ANALYSIS_TABLES: dict[str, tuple[tuple[str, ...], type]] = {
    "filters": (("dsp", "filters"), FilterSettings),
    "envelope": (("dsp", "envelope"), EnvelopeSettings),
    "onsets": (("onsets",), OnsetSettings),
    "reps": (("reps",), RepSettings),
    "peak": (("peak",), PeakSettings),
    "fatigue": (("fatigue",), FatigueSettings),
    "quality": (("quality",), QualitySettings),
    "asymmetry_alert": (("asymmetry_alert",), AlertRule),
    "cocontraction_alert": (("cocontraction_alert",), AlertRule),
    "compensation_alert": (("compensation_alert",), AlertRule),
    "floors": (("floors",), ActivityFloors),
}


def analysis_rules(a: AnalysisSettings) -> list[tuple[str, object, bool, str]]:
    """Values the code could load but not use: ``(key, value, holds, what is allowed)``."""
    f, q = a.dsp.filters, a.quality
    low, high = f.band_hz
    rules = [
        ("filters.mains", f.mains, f.mains in MAINS_CHOICES, ", ".join(MAINS_CHOICES)),
        ("filters.band_hz", list(f.band_hz), 0 < low < high, "[low, high] with 0 < low < high"),
        ("filters.order", f.order, 1 <= f.order <= 8, "1 to 8"),
        ("filters.nyquist_margin", f.nyquist_margin, 0.5 <= f.nyquist_margin < 1, "0.5 or more, below 1"),
        ("filters.notch_q", f.notch_q, f.notch_q > 0, "a positive number"),
        ("filters.mains_detect_s", f.mains_detect_s, f.mains_detect_s >= 1.5, "at least 1.5"),
        ("envelope.window_ms", a.dsp.envelope.window_ms, a.dsp.envelope.window_ms > 0, "a positive number"),
        ("onsets.min_duration_ms", a.onsets.min_duration_ms, a.onsets.min_duration_ms > 0, "a positive number"),
        ("onsets.baseline_window_ms", a.onsets.baseline_window_ms, a.onsets.baseline_window_ms > 0, "a positive number"),
        ("reps.smooth_ms", a.reps.smooth_ms, a.reps.smooth_ms > 0, "a positive number"),
        ("reps.rise_ratio", a.reps.rise_ratio, a.reps.rise_ratio > 1, "above 1"),
        ("reps.on_fraction", a.reps.on_fraction, 0 < a.reps.on_fraction < 1, "between 0 and 1"),
        ("reps.split_fraction", a.reps.split_fraction, 0 < a.reps.split_fraction < 1, "between 0 and 1"),
        ("reps.end_fraction", a.reps.end_fraction, 0 < a.reps.end_fraction < 1, "between 0 and 1"),
        ("reps.min_gap_ms", a.reps.min_gap_ms, a.reps.min_gap_ms > 0, "a positive number"),
        ("peak.windows_per_half_peak", a.peak.windows_per_half_peak, a.peak.windows_per_half_peak >= 1, "1 or more"),
        ("peak.min_window_ms", a.peak.min_window_ms, a.peak.min_window_ms > 0, "a positive number"),
        ("peak.max_window_ms", a.peak.max_window_ms, a.peak.max_window_ms >= a.peak.min_window_ms,
         f"at least peak.min_window_ms ({a.peak.min_window_ms:g})"),
        ("fatigue.segment_ms", a.fatigue.segment_ms, a.fatigue.segment_ms > 0, "a positive number"),
        ("fatigue.overlap", a.fatigue.overlap, 0 <= a.fatigue.overlap < 1, "0 or more, below 1"),
        ("fatigue.min_band_hz", a.fatigue.min_band_hz, a.fatigue.min_band_hz > 0, "a positive number"),
        ("fatigue.window_s", a.fatigue.window_s, a.fatigue.window_s * 1000 >= a.fatigue.segment_ms,
         f"at least one segment (fatigue.segment_ms = {a.fatigue.segment_ms:g} ms)"),
        ("fatigue.sustained_s", a.fatigue.sustained_s, a.fatigue.sustained_s >= 3 * a.fatigue.window_s,
         f"at least 3 windows (3 × fatigue.window_s = {3 * a.fatigue.window_s:g} s)"),
        ("fatigue.confidence", a.fatigue.confidence, 0.5 <= a.fatigue.confidence < 1, "0.5 or more, below 1"),
        ("floors.window_s", a.floors.window_s, a.floors.window_s > 0, "a positive number"),
    ]
    for name in ("asymmetry_alert", "cocontraction_alert", "compensation_alert"):
        alert = getattr(a, name)
        rules += [
            (f"{name}.consecutive", alert.consecutive, alert.consecutive >= 1, "1 or more"),
            (f"{name}.clear_pct", alert.clear_pct, alert.clear_pct <= alert.raise_pct, f"at most raise_pct ({alert.raise_pct:g})"),
        ]
    for name in ("noise_uv", "mains_fraction", "saturation_fraction", "rate_error_pct", "loss_fraction"):
        warn, bad = getattr(q, name)
        rules.append((f"quality.{name}", [warn, bad], warn <= bad, "[warn, bad] with warn ≤ bad"))
    warn, bad = q.battery_pct
    rules.append(("quality.battery_pct", [warn, bad], warn >= bad, "[warn, bad] with warn ≥ bad (low is worse)"))
    return rules


def analysis_settings_to_dict(settings: AnalysisSettings) -> dict:
    """The analysis settings as config tables (what a recording stores as its recipe)."""
    tables = {}
    for name, (where, _) in ANALYSIS_TABLES.items():
        value = settings
        for attribute in where:
            value = getattr(value, attribute)
        tables[name] = to_table(value)
    return tables


#: Keys earlier versions had, and why they went: a stored recipe drops them (the code that used
#: them is gone), ``config.toml`` refuses them with the reason.
RETIRED_KEYS: dict[tuple[str, str], str] = {
    ("filters", "full_band_min_fs_hz"): "the band-pass now follows each sensor's Nyquist frequency "
                                        "(filters.nyquist_margin); remove the key",
    ("reps", "off_ratio"): "a rep now ends relative to the level it rose from (reps.split_fraction), not to a "
                           "floor; remove the key",
}


def refuse_retired(source: str, tables: dict) -> None:
    """Refuse a config table holding a retired key, with the reason it went."""
    for (table, key), why in RETIRED_KEYS.items():
        if isinstance(tables.get(table), dict) and key in tables[table]:
            raise SettingsError(f"{source}: {table}.{key} is no longer used: {why}")


def analysis_settings_from_dict(tables: dict, source: str = "stored settings") -> AnalysisSettings:
    """Rebuild the analysis settings ``analysis_settings_to_dict`` produced (validated like a config);
    keys of earlier versions (``RETIRED_KEYS``) are dropped."""
    settings = AnalysisSettings()
    for name, table in tables.items():
        if name not in ANALYSIS_TABLES:
            raise SettingsError(f"{source}: unknown settings section {name!r}")
        where, cls = ANALYSIS_TABLES[name]
        if isinstance(table, dict):
            table = {key: value for key, value in table.items() if (name, key) not in RETIRED_KEYS}
        settings = replace_in(settings, where, build(source, name, cls, table))
    refuse_broken(source, analysis_rules(settings))
    return settings
