"""Synthetic sEMG whose truth the tests know: rep timings, envelopes, asymmetry."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from coach_tui.sources.emg_synthesis import raised_cosine_bursts, synthesize

MVC_UV = 300.0
NOISE_UV = 3.0


@dataclass
class RepSet:
    """A set of reps: starts/durations (s), peaks (%MVC) and the sample rate."""

    fs_hz: float
    n: int
    starts_s: list[float]
    durations_s: list[float]
    peaks_pct: list[float]

    def activation(self, scale: float = 1.0) -> np.ndarray:
        """True RMS activation in µV (``scale`` multiplies every rep, e.g. a side's deficit)."""
        return raised_cosine_bursts(
            self.n, self.fs_hz, self.starts_s, self.durations_s, [p / 100 * MVC_UV * scale for p in self.peaks_pct]
        )


def random_rep_set(rng: np.random.Generator, fs_hz: float, reps: int, low: float, high: float) -> RepSet:
    """Reps of 1.2–3 s with 0.8–2 s rest, peaks uniform in [low, high] %MVC, 1 s rest before and 2 s after."""
    peaks = list(rng.uniform(low, high, reps))
    durations = list(rng.uniform(1.2, 3.0, reps))
    gaps = rng.uniform(0.8, 2.0, reps)
    starts = list(1.0 + np.cumsum(np.concatenate([[0.0], np.array(durations[:-1]) + gaps[:-1]])))
    n = int((starts[-1] + durations[-1] + 2.0) * fs_hz)
    return RepSet(fs_hz, n, starts, durations, peaks)


def emg(activation: np.ndarray, fs_hz: float, rng: np.random.Generator, **kw) -> np.ndarray:
    """One channel of synthetic sEMG (µV) following ``activation`` with the standard noise floor."""
    return synthesize(activation, fs_hz, rng, noise_floor=NOISE_UV, **kw)
