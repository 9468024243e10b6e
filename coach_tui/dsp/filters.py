"""Filter design for the EMG chain and a causal, stateful cascade of second-order sections."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from coach_tui.dsp.settings import FilterSettings


@dataclass(frozen=True, slots=True)
class FilterDesign:
    """The sections of one chain and what they do."""

    sos: np.ndarray
    reduced_bandwidth: bool
    notch_hz: tuple[float, ...]


def upper_corner_hz(fs_hz: float, settings: FilterSettings) -> float:
    """The band-pass's upper corner at ``fs_hz``: the configured one, or ``nyquist_margin`` × Nyquist
    when that is lower."""
    return min(settings.band_hz[1], settings.nyquist_margin * fs_hz / 2)


@lru_cache(maxsize=32)
def design_bandpass(fs_hz: float, settings: FilterSettings) -> FilterDesign:
    """Butterworth band-pass up to ``upper_corner_hz`` (high-pass only when no band is left below
    it); "reduced bandwidth" when the upper corner is below the configured one; cached."""
    from scipy import signal

    low, high = settings.band_hz[0], upper_corner_hz(fs_hz, settings)
    reduced = high < settings.band_hz[1]
    if high > low:
        sos = signal.butter(settings.order, [low, high], btype="bandpass", fs=fs_hz, output="sos")
    else:
        sos = signal.butter(settings.order, min(low, 0.45 * fs_hz), btype="highpass", fs=fs_hz, output="sos")
    return FilterDesign(_read_only(sos), reduced_bandwidth=reduced, notch_hz=())


def _read_only(array: np.ndarray) -> np.ndarray:
    """``array``, made immutable: cached designs are shared by every pipeline."""
    array.flags.writeable = False
    return array


def notch_frequencies(fs_hz: float, mains_hz: float, settings: FilterSettings) -> tuple[float, ...]:
    """Mains fundamental and harmonics up to ``notch_max_hz`` and safely below Nyquist."""
    top = min(settings.notch_max_hz, 0.98 * fs_hz / 2)
    return tuple(float(k * mains_hz) for k in range(1, int(top // mains_hz) + 1))


@lru_cache(maxsize=32)
def design_notches(fs_hz: float, frequencies: tuple[float, ...], q: float) -> np.ndarray:
    """One IIR notch section per frequency, stacked as second-order sections; cached."""
    from scipy import signal

    sections = [signal.tf2sos(*signal.iirnotch(f, q, fs=fs_hz)) for f in frequencies]
    return _read_only(np.vstack(sections) if sections else np.zeros((0, 6)))


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
    of the impulse response and ``Q`` stacks ``Aⁿ⁻¹⁻ʲ B``. Stored transposed and stacked so that
    for a channels-first row ``[z, u]`` one product gives the outputs (``outputs``) and one the
    next state (``next_state``).
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
        self.outputs = _read_only(np.ascontiguousarray(np.vstack([powers_c.T, toeplitz.T])))  # (s + n, n)
        self.next_state = _read_only(np.ascontiguousarray(np.vstack([np.linalg.matrix_power(a, n).T, powers_b.T])))  # (s + n, s)


@lru_cache(maxsize=64)
def _steady_state(sos_bytes: bytes, n_sections: int) -> np.ndarray:
    """The cascade's state after a unit input held forever (keyed by its sections' bytes)."""
    a, b, _, _ = cascade_state_space(np.frombuffer(sos_bytes, dtype=float).reshape(n_sections, 6))
    return _read_only(np.linalg.solve(np.eye(a.shape[0]) - a, b))


@lru_cache(maxsize=64)
def _block_matrices(sos_bytes: bytes, n_sections: int, n: int) -> _BlockMatrices:
    """The block matrices of a cascade (keyed by its sections' bytes): shared by equal filters."""
    sos = np.frombuffer(sos_bytes, dtype=float).reshape(n_sections, 6)
    return _BlockMatrices(*cascade_state_space(sos), n)


class SosCascade:
    """Causal filtering of channels-first blocks with the state carried between calls.

    The sections run as one linear system advanced a block at a time with a few matrix products
    (``_BlockMatrices``) instead of sample by sample: the same filter as ``scipy.signal.sosfilt``
    with the same sections, to rounding (~1e-13 of the signal), without its ~60 µs fixed cost per
    call. Blocks are anchored on the absolute sample index (every ``BLOCK`` samples from the
    first); a call inside a block evaluates the whole block's product with the inputs not yet
    seen as zeros, which only ever meet the exact zeros of the causal response. So every output
    comes from the same arithmetic however the input is chunked: chunked output is bit-identical
    to one call. Sections can be appended at a block boundary (a notch once mains is known); new
    sections start at rest.
    """

    #: Samples per anchored block.
    BLOCK = 64

    def __init__(self, sos: np.ndarray, n_channels: int):
        self.n_channels = n_channels
        # Each row is one channel's [state at the block start | the block's inputs so far, zeros after].
        self._work = np.zeros((n_channels, self.BLOCK))
        self._filled = 0
        self._set_sections(np.ascontiguousarray(sos, dtype=float))

    @property
    def at_block_boundary(self) -> bool:
        """True between blocks, where sections may be appended."""
        return self._filled == 0

    @property
    def _n_states(self) -> int:
        return self._work.shape[1] - self.BLOCK

    def _set_sections(self, sos: np.ndarray) -> None:
        grown = 2 * sos.shape[0] - self._n_states
        self.sos = sos
        self._matrices = _block_matrices(sos.tobytes(), sos.shape[0], self.BLOCK)
        states = np.zeros((self.n_channels, grown))
        self._work = np.concatenate([self._work[:, : self._n_states], states, self._work[:, self._n_states :]], axis=1)

    def append(self, sos: np.ndarray) -> None:
        """Add sections after the existing ones (only between blocks); they start with zero state."""
        if not self.at_block_boundary:
            raise RuntimeError("sections can only be appended at a block boundary")
        if sos.shape[0]:
            self._set_sections(np.ascontiguousarray(np.vstack([self.sos, sos])))

    def settle(self, first: np.ndarray) -> None:
        """Start as if each channel had been at its ``first`` value forever.

        Without this a sensor's DC offset enters as a step and the band-pass rings for the first
        ~100 ms, which reads as a burst of activity.
        """
        steady = _steady_state(self.sos.tobytes(), self.sos.shape[0])
        self._work[:, : self._n_states] = np.outer(np.asarray(first, dtype=float), steady)

    def process(self, x: np.ndarray) -> np.ndarray:
        """Filter ``x`` of shape ``(channels, n)``; returns a new array of the same shape."""
        m, block, states = self._matrices, self.BLOCK, self._n_states
        n = x.shape[1]
        out = np.empty((self.n_channels, n))
        pos = 0
        while pos < n:
            start = self._filled
            take = min(n - pos, block - start)
            self._work[:, states + start : states + start + take] = x[:, pos : pos + take]
            y = self._work @ m.outputs
            out[:, pos : pos + take] = y[:, start : start + take]
            self._filled += take
            pos += take
            if self._filled == block:
                self._work[:, :states] = self._work @ m.next_state
                self._work[:, states:] = 0.0
                self._filled = 0
        return out
