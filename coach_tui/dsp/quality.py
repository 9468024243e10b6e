"""Signal quality per channel: ok / warn / bad with the reasons in words a trainer acts on."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from coach_tui.dsp.mains import mains_fraction

OK, WARN, BAD = "ok", "warn", "bad"
_RANK = {OK: 0, WARN: 1, BAD: 2}


@dataclass(frozen=True, slots=True)
class QualitySettings:
    """Thresholds (warn, bad) for each quality measure."""

    flat_uv: float = 0.5
    noise_uv: tuple[float, float] = (20.0, 50.0)
    mains_fraction: tuple[float, float] = (0.15, 0.40)
    saturation_fraction: tuple[float, float] = (0.01, 0.05)
    rate_error_pct: tuple[float, float] = (2.0, 10.0)
    loss_fraction: tuple[float, float] = (0.01, 0.05)
    battery_pct: tuple[float, float] = (20.0, 10.0)
    min_contraction_ratio: float = 3.0


@dataclass(frozen=True, slots=True)
class ChannelQuality:
    """The measures behind a channel's status, and the reasons when it is not ok."""

    status: str
    reasons: list[str] = field(default_factory=list)
    noise_rms: float = 0.0
    mains_fraction: float = 0.0
    saturation_fraction: float = 0.0
    reduced_bandwidth: bool = False
    contraction_ratio: float | None = None


def saturation_fraction(raw: np.ndarray, clip_level: float | None = None) -> float:
    """Fraction of samples stuck at the converter's limits.

    With a known ``clip_level`` the limits are ±clip_level; otherwise the channel's own extreme
    values count as limits when each recurs (a clipped signal sits on them, a clean one touches
    its maximum once).
    """
    raw = np.asarray(raw, dtype=float)
    if raw.size == 0 or np.ptp(raw) == 0:
        return 0.0
    if clip_level is not None:
        return float(np.mean(np.abs(raw) >= clip_level))
    stuck = 0
    for at_limit in (raw >= raw.max(), raw <= raw.min()):
        count = int(at_limit.sum())
        stuck += count if count > 1 else 0
    return stuck / raw.size


def grade(value: float, limits: tuple[float, float]) -> str:
    """"bad" at or above the second limit, "warn" at or above the first, else "ok"."""
    return BAD if value >= limits[1] else WARN if value >= limits[0] else OK


def flat_reason(name: str) -> str:
    """What to do about a channel with no signal."""
    return f"{name}: no signal — check the sensor is on and the electrode touches skin"


def clipping_reason(name: str, fraction: float) -> str:
    """What to do about clipped samples."""
    return f"{name}: clipping {fraction:.1%} of samples — lower the gain or re-seat the electrode"


def hum_reason(name: str, fraction: float, mains_hz: float) -> str:
    """What to do about mains hum (``fraction`` of the power at rest)."""
    return f"re-seat the {name} electrode: mains hum {fraction * 100:.0f} % ({mains_hz:.0f} Hz)"


def noise_reason(name: str, rest_rms: float) -> str:
    """What to do about a channel never quieter than ``rest_rms`` µV."""
    return f"{name}: never quieter than {rest_rms:.1f} µV — if the client was resting, clean the skin and re-seat the electrode"


def link_findings(
    name: str,
    settings: QualitySettings,
    *,
    nominal_rate_hz: float | None = None,
    measured_rate_hz: float | None = None,
    loss_fraction: float = 0.0,
    battery_pct: float | None = None,
) -> list[tuple[str, str]]:
    """(grade, reason) for a sensor's link: sample rate, lost samples, battery (only what is not ok)."""
    findings: list[tuple[str, str]] = []
    if nominal_rate_hz and measured_rate_hz is not None:
        error = abs(measured_rate_hz - nominal_rate_hz) / nominal_rate_hz * 100
        level = grade(error, settings.rate_error_pct)
        if level != OK:
            findings.append((level, f"{name}: sends {measured_rate_hz:.0f} Hz, expected {nominal_rate_hz:.0f} Hz — check the sensor's settings or the Bluetooth link"))
    level = grade(loss_fraction, settings.loss_fraction)
    if level != OK:
        findings.append((level, f"{name}: {loss_fraction:.1%} of samples lost — move the receiver closer or reduce other Bluetooth traffic"))
    if battery_pct is not None and battery_pct <= settings.battery_pct[0]:
        level = BAD if battery_pct <= settings.battery_pct[1] else WARN
        findings.append((level, f"{name}: battery {battery_pct:.0f} % — charge the sensor before the session"))
    return findings


def assess_channel(
    name: str,
    raw: np.ndarray,
    rest_noise_rms: float,
    fs_hz: float,
    mains_hz: float | None,
    settings: QualitySettings | None = None,
    *,
    clip_level: float | None = None,
    reduced_bandwidth: bool = False,
    contraction_ratio: float | None = None,
    nominal_rate_hz: float | None = None,
    measured_rate_hz: float | None = None,
    loss_fraction: float = 0.0,
    battery_pct: float | None = None,
) -> ChannelQuality:
    """Grade one channel from its raw samples and what the pipeline measured.

    ``name`` is what the trainer calls the placement ("left glute max"); ``rest_noise_rms`` is the
    filtered signal's RMS at rest (µV); ``contraction_ratio`` (peak over rest envelope) is checked
    only when given, i.e. when a contraction was asked for.
    """
    settings = settings or QualitySettings()
    raw = np.asarray(raw, dtype=float)
    findings: list[tuple[str, str]] = []
    flat = raw.size == 0 or float(np.std(raw)) < settings.flat_uv
    mains = 0.0
    saturation = 0.0
    if flat:
        findings.append((BAD, flat_reason(name)))
    else:
        saturation = saturation_fraction(raw, clip_level)
        level = grade(saturation, settings.saturation_fraction)
        if level != OK:
            findings.append((level, clipping_reason(name, saturation)))
        if mains_hz is not None and raw.shape[0] >= fs_hz / 2:
            mains = mains_fraction(raw, fs_hz, mains_hz)
            level = grade(mains, settings.mains_fraction)
            if level != OK:
                findings.append((level, hum_reason(name, mains, mains_hz)))
        level = grade(rest_noise_rms, settings.noise_uv)
        if level != OK:
            findings.append((level, noise_reason(name, rest_noise_rms)))
        if contraction_ratio is not None and contraction_ratio < settings.min_contraction_ratio:
            findings.append((WARN, f"{name}: contraction barely above rest (×{contraction_ratio:.1f}) — check the placement over the muscle belly"))
    findings += link_findings(name, settings, nominal_rate_hz=nominal_rate_hz, measured_rate_hz=measured_rate_hz,
                              loss_fraction=loss_fraction, battery_pct=battery_pct)
    if reduced_bandwidth:
        findings.append((WARN, f"{name}: reduced bandwidth (sampled at {fs_hz:.0f} Hz, nothing above {fs_hz / 2:.0f} Hz "
                               "is recorded)"))
    status = max((level for level, _ in findings), key=_RANK.__getitem__, default=OK)
    return ChannelQuality(
        status,
        [reason for _, reason in findings],
        float(rest_noise_rms),
        mains,
        saturation,
        reduced_bandwidth,
        contraction_ratio,
    )


def worst(statuses: list[str]) -> str:
    """The worst of several statuses ("ok" for none)."""
    return max(statuses, key=_RANK.__getitem__, default=OK)
