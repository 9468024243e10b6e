"""Synthetic surface EMG with a known envelope: the physics of the simulated sensor kit.

sEMG is modelled as Gaussian noise shaped to a typical surface-EMG spectrum (a band-pass with most
power between 60 and 120 Hz, nothing below 20 or above 450 Hz) whose RMS follows an activation
curve. Because the shaped noise is normalised to unit RMS, the *true* RMS envelope of the output is
exactly the activation curve combined with the additive amplifier noise floor:
``sqrt(activation**2 + noise_floor**2)``. Fatigue is modelled as spectral compression (every
frequency scaled by a factor < 1), which lowers the median frequency at constant amplitude.

Generation is causal and stateful, so the kit can produce endless streams block by block.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

#: Band edges (Hz) of the spectral shaping filter before compression; peak lands near 80-100 Hz.
SHAPE_BAND_HZ = (45.0, 190.0)


@lru_cache(maxsize=256)
def _shaping_sos(fs_hz: float, compression: float) -> tuple[np.ndarray, float]:
    """Second-order sections of the spectral shape and the gain that makes white noise unit RMS."""
    from scipy import signal

    low, high = (edge * compression for edge in SHAPE_BAND_HZ)
    sos = signal.butter(2, [low, min(high, 0.45 * fs_hz)], btype="band", fs=fs_hz, output="sos")
    impulse = np.zeros(int(fs_hz))
    impulse[0] = 1.0
    energy = float(np.sum(signal.sosfilt(sos, impulse) ** 2))
    return sos, 1.0 / np.sqrt(energy)


class EmgNoise:
    """Unit-RMS, sEMG-shaped noise for several channels, generated in consecutive pieces.

    ``compression`` (≤ 1) scales the spectrum down in frequency; 1.0 is a fresh muscle. It may
    change between calls (fatigue develops over a set); the filter state carries over.
    """

    def __init__(self, fs_hz: float, n_channels: int, rng: np.random.Generator):
        self.fs_hz = float(fs_hz)
        self.n_channels = n_channels
        self._rng = rng
        self._state = np.zeros((2, n_channels, 2))

    def next(self, n: int, compression: float = 1.0) -> np.ndarray:
        """Return the next ``n`` samples, shape ``(n, n_channels)``, unit RMS per channel."""
        from scipy import signal

        sos, gain = _shaping_sos(self.fs_hz, round(float(compression), 3))
        white = self._rng.standard_normal((self.n_channels, n))
        shaped, self._state = signal.sosfilt(sos, white, axis=-1, zi=self._state)
        return (shaped * gain).T


def raised_cosine_bursts(
    n: int,
    fs_hz: float,
    starts_s: list[float],
    durations_s: list[float],
    peaks: list[float],
) -> np.ndarray:
    """Activation curve of ``n`` samples with one sin²-shaped burst per rep (0 elsewhere)."""
    t = np.arange(n) / fs_hz
    curve = np.zeros(n)
    for start, duration, peak in zip(starts_s, durations_s, peaks, strict=True):
        inside = (t >= start) & (t < start + duration)
        phase = (t[inside] - start) / duration
        curve[inside] = np.maximum(curve[inside], peak * np.sin(np.pi * phase) ** 2)
    return curve


def plateau(n: int, fs_hz: float, start_s: float, hold_s: float, level: float, ramp_s: float = 0.5) -> np.ndarray:
    """Activation curve: ramp up, hold ``level`` for ``hold_s`` seconds, ramp down (an MVC trial)."""
    t = np.arange(n) / fs_hz
    up = np.clip((t - start_s) / ramp_s, 0.0, 1.0)
    down = np.clip((start_s + ramp_s + hold_s + ramp_s - t) / ramp_s, 0.0, 1.0)
    return level * np.minimum(up, down)


def synthesize(
    activation: np.ndarray,
    fs_hz: float,
    rng: np.random.Generator,
    noise_floor: float = 3.0,
    compression: np.ndarray | float = 1.0,
) -> np.ndarray:
    """One channel of sEMG (µV) whose true RMS envelope is ``sqrt(activation² + noise_floor²)``.

    ``activation`` is the RMS amplitude in µV per sample. ``compression`` may be a per-sample array
    (fatigue developing); it is applied in 50 ms pieces.
    """
    n = activation.shape[0]
    source = EmgNoise(fs_hz, 1, rng)
    piece = max(1, int(0.05 * fs_hz))
    compression = np.broadcast_to(np.asarray(compression, dtype=float), (n,))
    shaped = np.concatenate(
        [source.next(min(piece, n - i), float(compression[i]))[:, 0] for i in range(0, n, piece)]
    ) if n else np.zeros(0)
    floor = noise_floor * rng.standard_normal(n)
    return activation * shaped + floor
