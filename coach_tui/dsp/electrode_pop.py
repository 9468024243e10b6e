"""Electrode pops: a sudden shift of an electrode's baseline, as when it lifts off the skin or its
cable is tugged — a step of a millivolt or more that decays over a few hundred milliseconds.

sEMG lives above 20 Hz; a pop lives below. The raw signal is band-passed to 0.5–10 Hz (2nd-order
Butterworth, causal, the DC offset of the sensor settled away at the first sample) and every
sample where that baseline stands ``POP_UV`` or more from zero is part of a pop. The simulated
kit's strongest contractions (630 µV RMS, fatigued) leave at most ~120 µV there; its 2 mV pop
reaches ~1.5 mV and stays above ``POP_UV`` for ~0.1 s. A movement artefact strong enough to cross
it is flagged as well: it spoils a rep just the same.

The filter starts as if the first sample had always been there (the sensor's offset); that first
sample also holds some EMG, whose step the filter needs about a second to forget, so nothing is
flagged in the first ``SETTLE_S``.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from coach_tui.dsp.filters import SosCascade

#: How far (µV) the 0.5–10 Hz baseline must stand off zero to be a pop.
POP_UV = 500.0
SETTLE_S = 1.0
_BAND_HZ = (0.5, 10.0)


@lru_cache(maxsize=8)
def _baseline_sos(fs_hz: float) -> np.ndarray:
    from scipy import signal

    sos = signal.butter(2, _BAND_HZ, btype="bandpass", fs=fs_hz, output="sos")
    sos.flags.writeable = False
    return sos


class PopDetector:
    """Flags the samples of each channel that belong to a pop, chunk by chunk (chunk-invariant).

    Samples a sensor never delivered are held at its last value (``process_gap``): a gap is not a
    step.
    """

    def __init__(self, fs_hz: float, n_channels: int):
        self._cascade = SosCascade(_baseline_sos(float(fs_hz)), n_channels)
        self._last: np.ndarray | None = None
        self._settle = round(SETTLE_S * fs_hz)
        self._seen = 0

    def process(self, samples: np.ndarray) -> np.ndarray:
        """``(n, channels)`` raw samples → ``(n, channels)`` booleans: part of a pop."""
        x = np.ascontiguousarray(np.asarray(samples, dtype=float).T)
        if x.shape[1] == 0:
            return np.zeros((0, x.shape[0]), dtype=bool)
        if self._last is None:
            self._cascade.settle(x[:, 0])
        self._last = x[:, -1].copy()
        popped = np.abs(self._cascade.process(x)) >= POP_UV
        popped[:, : max(0, self._settle - self._seen)] = False
        self._seen += x.shape[1]
        return popped.T

    def process_gap(self, n_lost: int) -> np.ndarray:
        """Account for ``n_lost`` samples never delivered (held at the last value, never a pop)."""
        if self._last is None or n_lost <= 0:
            return np.zeros((max(0, n_lost), self._cascade.n_channels), dtype=bool)
        return self.process(np.repeat(self._last[None, :], n_lost, axis=0))
