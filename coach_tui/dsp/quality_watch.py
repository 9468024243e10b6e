"""Signal quality while the client trains: each channel looked at every quarter second, on evidence
that can tell a faulty electrode from a working muscle.

At every checkpoint (``mains.checkpoint_samples``, about 0.25 s) each channel of a sensor gets one
``Look`` per measure, with a grade or, when this moment says nothing about it, none:

- **at rest only** — noise and mains hum. The last half second counts as rest when its 20–450 Hz
  power away from the mains lines is at most ``REST_POWER_FACTOR`` times that of the quietest half
  second of the last ``REST_MEMORY_S`` (so a rep is never read as noise, and hum does not hide
  rest). Noise is the RMS of that rest with the hum left out; hum is the share of its power on the
  50 or 60 Hz lines (whichever is larger).
- **at any moment** — clipping (samples stuck at the channel's extremes over the last
  ``CLIP_WINDOW_S``: it happens in effort), an electrode pop within the last ``POP_HOLD_S``
  (``electrode_pop``), and a flat signal (no signal).

Samples a sensor never delivered are not looked at: the looks start again once a segment of
delivered samples has come in. Thresholds are the ``QualitySettings`` of the check.

The looks drive the watch's alerts (``reasons``): an alert is raised once ``RAISE_LOOKS`` looks in a
row grade a channel's measure bad, held through warn and through looks without evidence (noise and
hum during a rep), and cleared once ``RAISE_LOOKS`` looks in a row grade it ok — evidence that holds
for half a second. An electrode pop is raised at its first look and cleared at the first look
without a pop in the last ``POP_HOLD_S``.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import numpy as np

from coach_tui.domain.hysteresis_alert import GradeAlerts
from coach_tui.dsp.electrode_pop import PopDetector
from coach_tui.dsp.mains import MAINS_CANDIDATES_HZ, LineBins, checkpoint_samples, segment_samples
from coach_tui.dsp.quality import (
    BAD, OK, QualitySettings, clipping_reason, flat_reason, grade, hum_reason, noise_reason, saturation_fraction,
)

REST_MEMORY_S = 20.0
REST_POWER_FACTOR = 4.0
CLIP_WINDOW_S = 1.25
POP_HOLD_S = 1.0
RAISE_LOOKS = 2
#: The measures a look grades.
MEASURES = ("no signal", "noise", "mains hum", "clipping", "electrode pop")


@dataclass(frozen=True, slots=True)
class Look:
    """One measure of one channel at checkpoint sample ``at``: its grade (None: no evidence now)
    and what to do when it is not ok."""

    at: int
    channel: int
    measure: str
    grade: str | None
    reason: str = ""


class QualityWatch:
    """Looks at one sensor's raw channels as they stream (``labels``: how a trainer names each)."""

    def __init__(self, fs_hz: float, labels: list[str], settings: QualitySettings | None = None):
        self.fs_hz = float(fs_hz)
        self.labels = list(labels)
        self.settings = settings or QualitySettings()
        n = len(labels)
        self.hop = checkpoint_samples(fs_hz)
        self.segment = segment_samples(fs_hz)
        self._lines = LineBins(self.fs_hz, self.segment)
        self._keep = max(self.segment, round(CLIP_WINDOW_S * self.fs_hz))
        self._raw = np.zeros((n, 0))  # the latest delivered samples, contiguous, ending at ``seen``
        self._quietest: deque[np.ndarray] = deque(maxlen=max(1, round(REST_MEMORY_S * self.fs_hz / self.hop)))
        self._pops = PopDetector(fs_hz, n)
        self._last_pop = np.full(n, -np.inf)
        self.seen = 0
        self.alerts = GradeAlerts()

    @property
    def reasons(self) -> list[str]:
        """What to do, for every alert of this sensor that is on."""
        return self.alerts.reasons

    @property
    def popping(self) -> list[bool]:
        """Per channel: a pop within ``POP_HOLD_S`` of the latest sample (what the bar flags)."""
        return list(self.seen - self._last_pop <= POP_HOLD_S * self.fs_hz)

    def add(self, samples: np.ndarray, gap_before: int = 0) -> list[Look]:
        """Take a sensor's next ``(n, channels)`` samples (after ``gap_before`` lost ones); return
        the looks of the checkpoints they complete."""
        x = np.asarray(samples, dtype=float).T
        if gap_before:
            self._pops.process_gap(gap_before)
            self.seen += gap_before
            self._raw = self._raw[:, :0]
        flags = self._pops.process(x.T)
        for k in range(flags.shape[1]):
            hit = np.flatnonzero(flags[:, k])
            if hit.size:
                self._last_pop[k] = self.seen + hit[-1]
        looks = []
        start = self.seen
        buffer = np.concatenate([self._raw, x], axis=1)
        buffer_start = start - self._raw.shape[1]
        for at in range((start // self.hop + 1) * self.hop, start + x.shape[1] + 1, self.hop):
            window = buffer[:, max(0, at - self._keep - buffer_start) : at - buffer_start]
            if window.shape[1] >= self.segment:
                looks += self._look(at, window)
        self.seen = start + x.shape[1]
        self._raw = buffer[:, max(0, buffer.shape[1] - self._keep) :]
        for look in looks:
            hold = 1 if look.measure == "electrode pop" else RAISE_LOOKS
            self.alerts.update((look.channel, look.measure), look.grade, [look.reason], hold)
        return looks

    def _look(self, at: int, window: np.ndarray) -> list[Look]:
        settings = self.settings
        power = self._lines.periodogram(window[:, -self.segment :])
        activity = self._lines.activity(power)
        self._quietest.append(activity)
        floor = np.min(np.stack(self._quietest), axis=0)
        at_rest = activity <= REST_POWER_FACTOR * floor
        rms = self._lines.rest_rms(power)
        hum = {hz: self._lines.hum_fraction(power, hz) for hz in MAINS_CANDIDATES_HZ}
        looks = []
        for k, name in enumerate(self.labels):
            raw = window[k]
            if float(np.std(raw[-self.segment :])) < settings.flat_uv:
                looks += [Look(at, k, "no signal", BAD, flat_reason(name))]
                continue
            looks.append(Look(at, k, "no signal", OK))
            clipped = saturation_fraction(raw)
            looks.append(Look(at, k, "clipping", grade(clipped, settings.saturation_fraction), clipping_reason(name, clipped)))
            popped = at - self._last_pop[k] <= POP_HOLD_S * self.fs_hz
            looks.append(Look(at, k, "electrode pop", BAD if popped else OK,
                              f"{name}: electrode pop — press the electrode on or re-seat it"))
            if not at_rest[k]:
                looks += [Look(at, k, "noise", None), Look(at, k, "mains hum", None)]
                continue
            looks.append(Look(at, k, "noise", grade(float(rms[k]), settings.noise_uv), noise_reason(name, float(rms[k]))))
            mains_hz = max(MAINS_CANDIDATES_HZ, key=lambda hz: hum[hz][k])
            share = float(hum[mains_hz][k])
            looks.append(Look(at, k, "mains hum", grade(share, settings.mains_fraction), hum_reason(name, share, mains_hz)))
        return looks
