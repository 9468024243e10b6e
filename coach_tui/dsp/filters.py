"""Filter design for the EMG chain and a causal, stateful cascade of second-order sections."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from coach_tui.dsp.settings import FilterSettings


@dataclass(frozen=True, slots=True)
class FilterDesign:
    """The sections of one chain and what they do."""

    sos: np.ndarray
    reduced_bandwidth: bool
    notch_hz: tuple[float, ...]


def design_bandpass(fs_hz: float, settings: FilterSettings) -> FilterDesign:
    """Butterworth band-pass (or high-pass only when fs is below ``full_band_min_fs_hz``)."""
    from scipy import signal

    low, high = settings.band_hz
    if fs_hz >= settings.full_band_min_fs_hz and high < fs_hz / 2:
        sos = signal.butter(settings.order, [low, high], btype="bandpass", fs=fs_hz, output="sos")
        return FilterDesign(sos, reduced_bandwidth=False, notch_hz=())
    sos = signal.butter(settings.order, low, btype="highpass", fs=fs_hz, output="sos")
    return FilterDesign(sos, reduced_bandwidth=True, notch_hz=())


def notch_frequencies(fs_hz: float, mains_hz: float, settings: FilterSettings) -> tuple[float, ...]:
    """Mains fundamental and harmonics up to ``notch_max_hz`` and safely below Nyquist."""
    top = min(settings.notch_max_hz, 0.98 * fs_hz / 2)
    return tuple(float(k * mains_hz) for k in range(1, int(top // mains_hz) + 1))


def design_notches(fs_hz: float, frequencies: tuple[float, ...], q: float) -> np.ndarray:
    """One IIR notch section per frequency, stacked as second-order sections."""
    from scipy import signal

    sections = [signal.tf2sos(*signal.iirnotch(f, q, fs=fs_hz)) for f in frequencies]
    return np.vstack(sections) if sections else np.zeros((0, 6))


def _section_state_space(section: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """(A, B, C, D) of one biquad in transposed direct form II (two states)."""
    b0, b1, b2, a0, a1, a2 = section / section[3]
    return (
        np.array([[-a1, 1.0], [-a2, 0.0]]),
        np.array([b1 - a1 * b0, b2 - a2 * b0]),
        np.array([1.0, 0.0]),
        float(b0),
    )


def cascade_state_space(sos: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """(A, B, C, D) of second-order sections in series; the state is the sections' states in order."""
    a, b, c, d = np.zeros((0, 0)), np.zeros(0), np.zeros(0), 1.0
    for section in sos:
        a2, b2, c2, d2 = _section_state_space(section)
        n = a.shape[0]
        a = np.block([[a, np.zeros((n, 2))], [np.outer(b2, c), a2]])
        b = np.concatenate([b, b2 * d])
        c = np.concatenate([d2 * c, c2])
        d = d2 * d
    return a, b, c, d


class _BlockMatrices:
    """Everything needed to advance the cascade by exactly ``n`` samples in one step.

    For input ``u`` (n samples) and state ``z``: outputs ``y = O z + H u`` and next state
    ``z' = Aⁿ z + Q u``, where ``O`` stacks ``C Aᵏ``, ``H`` is the lower-triangular Toeplitz matrix
    of the impulse response and ``Q`` stacks ``Aⁿ⁻¹⁻ʲ B``. Stored transposed for channels-first
    ``(channels, n)`` arrays.
    """

    def __init__(self, a: np.ndarray, b: np.ndarray, c: np.ndarray, d: float, n: int):
        s = a.shape[0]
        powers_c = np.empty((n, s))  # C A^k
        row = c.copy()
        for k in range(n):
            powers_c[k] = row
            row = row @ a
        impulse = np.concatenate([[d], powers_c[: n - 1] @ b])
        lags = np.arange(n)[:, None] - np.arange(n)[None, :]
        toeplitz = np.where(lags >= 0, impulse[np.clip(lags, 0, None)], 0.0)
        powers_b = np.empty((s, n))  # A^(n-1-j) B
        column = b.copy()
        for j in range(n - 1, -1, -1):
            powers_b[:, j] = column
            column = a @ column
        self.observe_t = np.ascontiguousarray(powers_c.T)  # (s, n)
        self.response_t = np.ascontiguousarray(toeplitz.T)  # (n, n)
        self.advance_t = np.ascontiguousarray(np.linalg.matrix_power(a, n).T)  # (s, s)
        self.inject_t = np.ascontiguousarray(powers_b.T)  # (n, s)


class SosCascade:
    """Causal filtering of channels-first blocks with the state carried between calls.

    The sections are run as one linear system advanced a whole block at a time with a few matrix
    products (``_BlockMatrices``, cached per block length) instead of sample by sample: the same
    filter as ``scipy.signal.sosfilt`` with the same sections, to rounding (~1e-13 of the signal),
    without its ~60 µs fixed cost per call. Chunked calls equal one call to rounding; identical
    chunking gives identical output. Sections can be appended later (a notch once mains is
    known); new sections start at rest.
    """

    #: Long inputs are advanced in blocks of this many samples (bounded matrices, cache hits).
    BLOCK = 128

    def __init__(self, sos: np.ndarray, n_channels: int):
        self.n_channels = n_channels
        self._state = np.zeros((n_channels, 0))
        self._set_sections(np.ascontiguousarray(sos, dtype=float))

    def _set_sections(self, sos: np.ndarray) -> None:
        self.sos = sos
        self._system = cascade_state_space(sos)
        self._blocks: dict[int, _BlockMatrices] = {}
        grown = 2 * sos.shape[0] - self._state.shape[1]
        self._state = np.concatenate([self._state, np.zeros((self.n_channels, grown))], axis=1)

    def _matrices(self, n: int) -> _BlockMatrices:
        block = self._blocks.get(n)
        if block is None:
            block = self._blocks[n] = _BlockMatrices(*self._system, n)
        return block

    def append(self, sos: np.ndarray) -> None:
        """Add sections after the existing ones; they start with zero state."""
        if sos.shape[0]:
            self._set_sections(np.ascontiguousarray(np.vstack([self.sos, sos])))

    def settle(self, first: np.ndarray) -> None:
        """Start as if each channel had been at its ``first`` value forever.

        Without this a sensor's DC offset enters as a step and the band-pass rings for the first
        ~100 ms, which reads as a burst of activity.
        """
        a, b, _, _ = self._system
        steady = np.linalg.solve(np.eye(a.shape[0]) - a, b)
        self._state = np.outer(np.asarray(first, dtype=float), steady)

    def process(self, x: np.ndarray) -> np.ndarray:
        """Filter ``x`` of shape ``(channels, n)``; returns a new array of the same shape."""
        n = x.shape[1]
        if n <= self.BLOCK:
            return self._advance(x) if n else x.copy()
        return np.concatenate([self._advance(x[:, i : i + self.BLOCK]) for i in range(0, n, self.BLOCK)], axis=1)

    def _advance(self, x: np.ndarray) -> np.ndarray:
        m = self._matrices(x.shape[1])
        y = self._state @ m.observe_t
        y += x @ m.response_t
        state = self._state @ m.advance_t
        state += x @ m.inject_t
        self._state = state
        return y
