"""What the simulated client does: activation curves of the "rest", "reps" and "mvc" scenarios."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from coach_tui.sources.emg_synthesis import plateau, raised_cosine_bursts
from coach_tui.sources.simulated_steering import Steering


@dataclass(frozen=True, slots=True)
class RepProfile:
    """Shape of the "reps" scenario. Levels are fractions of each sensor's MVC amplitude."""

    duration_s: tuple[float, float] = (1.5, 2.5)
    rest_s: tuple[float, float] = (0.8, 1.2)
    peak_jitter: float = 0.10
    levels: Mapping[str, float] = field(
        default_factory=lambda: {"target": 0.70, "synergist": 0.40, "antagonist": 0.10}
    )
    compensated_levels: Mapping[str, float] = field(
        default_factory=lambda: {"target": 0.40, "synergist": 0.65, "antagonist": 0.10}
    )
    #: Onset delay relative to the rep start, per role (ms); compensating synergists lead.
    onset_ms: Mapping[str, float] = field(
        default_factory=lambda: {"target": 0.0, "synergist": 40.0, "antagonist": 0.0}
    )
    compensated_onset_ms: Mapping[str, float] = field(
        default_factory=lambda: {"target": 0.0, "synergist": -60.0, "antagonist": 0.0}
    )
    #: Antagonist level while the client co-contracts (bracing against the movement).
    cocontracting_antagonist: float = 0.55


@dataclass(frozen=True, slots=True)
class SimulatedMvcTrials:
    """Shape of the "mvc" scenario: baseline, then trials (ramp-hold-ramp) with rest between."""

    baseline_s: float = 3.0
    trial_s: float = 5.0
    ramp_s: float = 0.5
    rest_s: float = 5.0
    levels: tuple[float, ...] = (0.92, 1.0, 0.97)

    @property
    def total_s(self) -> float:
        """Length of the protocol from request to the end of the last trial."""
        n = len(self.levels)
        return self.baseline_s + n * self.trial_s + (n - 1) * self.rest_s


class ActivationScript:
    """Activation (fractions of each sensor's MVC amplitude, by role) of the running scenario.

    Rep timing and peaks are drawn from ``rng`` as the stream reaches them, so the same seed gives
    the same reps whatever the block sizes. ``rep_log`` keeps every rep drawn: (start sample, end
    sample, peak factor) of the target's burst.
    """

    def __init__(self, fs_hz: int, rng: np.random.Generator, reps: RepProfile, trials: SimulatedMvcTrials):
        self.fs_hz = fs_hz
        self.rep_profile = reps
        self.mvc_trials = trials
        self.rep_log: list[tuple[int, int, float]] = []
        self._rng = rng
        self._scenario_start = 0
        self._reps: list[tuple[int, int, float]] = []  # scheduled (start, length, peak factor)
        self._next_rep_start = 0

    def start(self, scenario: str, index: int) -> None:
        """Begin ``scenario`` at sample ``index``."""
        self._scenario_start = index
        self._reps = []
        if scenario == "reps":
            self._next_rep_start = index + self._draw_samples(self.rep_profile.rest_s)

    def mvc_done(self, index: int) -> bool:
        """True once the "mvc" scenario begun earlier has run its last trial by sample ``index``."""
        return index >= self._scenario_start + round(self.mvc_trials.total_s * self.fs_hz)

    def _draw_samples(self, bounds: tuple[float, float]) -> int:
        return round(self._rng.uniform(*bounds) * self.fs_hz)

    def _schedule_reps(self, index: int, until: int) -> None:
        """Schedule reps starting before ``until``; drop reps that are long over."""
        prof = self.rep_profile
        while self._next_rep_start < until:
            length = self._draw_samples(prof.duration_s)
            peak = 1.0 + float(self._rng.uniform(-prof.peak_jitter, prof.peak_jitter))
            start = self._next_rep_start
            self._reps.append((start, length, peak))
            self.rep_log.append((start, start + length, peak))
            self._next_rep_start = start + length + self._draw_samples(prof.rest_s)
        horizon = index - self.fs_hz  # onset shifts are far below 1 s
        self._reps = [r for r in self._reps if r[0] + r[1] > horizon]

    def activation(self, index: int, n: int, flags: Steering, roles: list[str]) -> np.ndarray:
        """Fractions of MVC per sensor (its role in ``roles``) for samples ``index .. index + n``."""
        fs = self.fs_hz
        out = np.zeros((len(roles), n))
        if flags.scenario == "reps":
            prof = self.rep_profile
            comp = flags.compensate
            levels = prof.compensated_levels if comp else prof.levels
            if flags.cocontract:
                levels = {**levels, "antagonist": prof.cocontracting_antagonist}
            onsets = prof.compensated_onset_ms if comp else prof.onset_ms
            self._schedule_reps(index, index + n + fs)
            lengths = [length / fs for _, length, _ in self._reps]
            unit: dict[str, np.ndarray] = {}
            for role in set(roles):
                shift = onsets.get(role, 0.0) / 1000.0
                starts = [(s - index) / fs + shift for s, _, _ in self._reps]
                peaks = [p * levels.get(role, 0.0) for _, _, p in self._reps]
                unit[role] = raised_cosine_bursts(n, fs, starts, lengths, peaks)
            for k, role in enumerate(roles):
                out[k] = unit[role]
        elif flags.scenario == "mvc":
            proto = self.mvc_trials
            rel0 = (index - self._scenario_start) / fs
            hold = proto.trial_s - 2 * proto.ramp_s
            curve = np.zeros(n)
            for j, level in enumerate(proto.levels):
                start = proto.baseline_s + j * (proto.trial_s + proto.rest_s) - rel0
                if start < n / fs and start + proto.trial_s > 0:
                    curve = np.maximum(curve, plateau(n, fs, start, hold, level, proto.ramp_s))
            out[:] = curve
        return out
