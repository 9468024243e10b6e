"""Signal quality per channel: ok / warn / bad with the reasons in words a trainer acts on."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from coach_tui.dsp.mains import QuietestSpectrum, hum_fraction, mains_fraction

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


@dataclass(frozen=True, slots=True)
class RawMeasures:
    """What a channel's grade takes from its raw samples (µV): their spread (SD), the fraction of
    samples at the converter's limits, and the mains hum's share of the power at rest (0 when not
    measured)."""

    sd: float
    saturation: float
    mains: float


class RawStats:
    """``RawMeasures`` of one channel fed in chunks (µV), in bounded memory: as the whole signal
    gives them (``saturation_fraction``, ``mains_fraction``), and the same however it is chunked
    (the spread is summed over fixed blocks of ``BLOCK`` samples)."""

    BLOCK = 1 << 16

    def __init__(self, fs_hz: float, mains_hz: float | None, clip_level: float | None = None):
        self.fs_hz = float(fs_hz)
        self.mains_hz = mains_hz
        self.clip_level = clip_level
        self._block = np.zeros(self.BLOCK)
        self._filled = 0
        self._n, self._mean, self._m2 = 0, 0.0, 0.0
        self._clipped = 0
        self._high, self._high_count = -np.inf, 0
        self._low, self._low_count = np.inf, 0
        self._spectrum = QuietestSpectrum(fs_hz) if mains_hz is not None else None

    def add(self, raw: np.ndarray) -> None:
        """Take the next raw samples (1-D)."""
        raw = np.asarray(raw, dtype=float)
        if self._spectrum is not None:
            self._spectrum.add(raw)
        pos = 0
        while pos < raw.shape[0]:
            take = min(raw.shape[0] - pos, self.BLOCK - self._filled)
            self._block[self._filled : self._filled + take] = raw[pos : pos + take]
            self._filled += take
            pos += take
            if self._filled == self.BLOCK:
                self._take(self._block)
                self._filled = 0

    def _take(self, raw: np.ndarray) -> None:
        n = raw.shape[0]
        if not n:
            return
        mean = float(raw.mean())
        m2 = float(((raw - mean) ** 2).sum())
        total = self._n + n
        delta = mean - self._mean
        self._mean += delta * n / total
        self._m2 += m2 + delta * delta * self._n * n / total
        self._n = total
        if self.clip_level is not None:
            self._clipped += int(np.count_nonzero(np.abs(raw) >= self.clip_level))
        high, low = float(raw.max()), float(raw.min())
        if high > self._high:
            self._high, self._high_count = high, 0
        if low < self._low:
            self._low, self._low_count = low, 0
        self._high_count += int(np.count_nonzero(raw == self._high))
        self._low_count += int(np.count_nonzero(raw == self._low))

    def measures(self) -> RawMeasures:
        """The measures of everything fed (call once, at the end)."""
        self._take(self._block[: self._filled])
        self._filled = 0
        sd = float(np.sqrt(self._m2 / self._n)) if self._n else 0.0
        if not self._n or self._high == self._low:
            saturation = 0.0
        elif self.clip_level is not None:
            saturation = self._clipped / self._n
        else:
            saturation = sum(c for c in (self._high_count, self._low_count) if c > 1) / self._n
        mains = 0.0
        if self._spectrum is not None and self._n >= self.fs_hz / 2:
            mains = hum_fraction(self._spectrum, self.mains_hz)
        return RawMeasures(sd, saturation, mains)


def assess_channel(
    name: str,
    raw: np.ndarray,
    rest_noise_rms: float,
    fs_hz: float,
    mains_hz: float | None,
    settings: QualitySettings | None = None,
    *,
    clip_level: float | None = None,
    **grading,
) -> ChannelQuality:
    """Grade one channel from its raw samples and what the pipeline measured (``grade_channel``)."""
    settings = settings or QualitySettings()
    raw = np.asarray(raw, dtype=float)
    sd = float(np.std(raw)) if raw.size else -1.0  # no samples: flat
    flat = sd < settings.flat_uv
    saturation = 0.0 if flat else saturation_fraction(raw, clip_level)
    measured = mains_hz is not None and not flat and raw.shape[0] >= fs_hz / 2
    mains = mains_fraction(raw, fs_hz, mains_hz) if measured else 0.0
    return grade_channel(name, RawMeasures(sd, saturation, mains), rest_noise_rms, fs_hz, mains_hz, settings, **grading)


def grade_channel(
    name: str,
    raw: RawMeasures,
    rest_noise_rms: float,
    fs_hz: float,
    mains_hz: float | None,
    settings: QualitySettings | None = None,
    *,
    reduced_bandwidth: bool = False,
    contraction_ratio: float | None = None,
    nominal_rate_hz: float | None = None,
    measured_rate_hz: float | None = None,
    loss_fraction: float = 0.0,
    battery_pct: float | None = None,
) -> ChannelQuality:
    """Grade one channel from its raw samples' measures and what the pipeline measured.

    ``name`` is what the trainer calls the placement ("left glute max"); ``rest_noise_rms`` is the
    filtered signal's RMS at rest (µV); ``contraction_ratio`` (peak over rest envelope) is checked
    only when given, i.e. when a contraction was asked for.
    """
    settings = settings or QualitySettings()
    findings: list[tuple[str, str]] = []
    flat = raw.sd < settings.flat_uv
    mains = 0.0
    saturation = 0.0
    if flat:
        findings.append((BAD, flat_reason(name)))
    else:
        saturation = raw.saturation
        level = grade(saturation, settings.saturation_fraction)
        if level != OK:
            findings.append((level, clipping_reason(name, saturation)))
        if mains_hz is not None:
            mains = raw.mains
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
