"""Signal-processing parameters, one frozen object per stage; `config.toml` [dsp] maps onto these."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class FilterSettings:
    """Band-pass and mains notch.

    The upper corner is ``band_hz[1]``, or ``nyquist_margin`` × Nyquist (fs / 2) when that is lower
    (a Butterworth corner at Nyquist is no corner at all): 450 Hz from 948 Hz sampling up, 427 Hz at
    900 Hz, 95 Hz at 200 Hz. A channel whose upper corner is lowered is flagged "reduced bandwidth".
    Below ``band_hz[0]`` / ``nyquist_margin`` × 2 no band is left and only the high-pass is
    applied. Mains notches cover the
    fundamental and its harmonics up to ``notch_max_hz`` (default: the band-pass's upper corner;
    beyond it the band-pass already attenuates) and below Nyquist. With ``mains="auto"`` the hum is
    looked for every quarter second in the quietest second of the last ``mains_detect_s`` seconds
    (see ``coach_tui.dsp.mains``).
    """

    band_hz: tuple[float, float] = (20.0, 450.0)
    order: int = 4
    nyquist_margin: float = 0.95
    mains: str = "auto"  # "auto" | "50" | "60" | "off"
    mains_detect_s: float = 4.0
    notch_q: float = 30.0
    notch_max_hz: float = 450.0


@dataclass(frozen=True, slots=True)
class EnvelopeSettings:
    """Moving-RMS envelope."""

    window_ms: float = 100.0


@dataclass(frozen=True, slots=True)
class DspSettings:
    """All parameters of the streaming chain."""

    filters: FilterSettings = field(default_factory=FilterSettings)
    envelope: EnvelopeSettings = field(default_factory=EnvelopeSettings)
