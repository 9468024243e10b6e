"""The true number of reps of a lower-limb recording, from its knee goniometer alone (no EMG).

The UCI lower-limb files keep the knee angle beside the EMG (``SignalFile.aux["angle"]``); its
sign and zero differ between files (some are inverted), so a movement cycle is defined on the
angle's own range of motion, not on degrees:

1. The angle is averaged over 100 ms (it was sampled at 50 Hz and interpolated to 1 kHz) and
   scaled so its 1st and 99th percentiles are 0 and 1 — the file's range of motion (ROM),
   robust to a stray sample.
2. Hysteresis: the knee is in the *low* zone below 35 % of the ROM and in the *high* zone above
   65 %; it stays in a zone until it reaches the other one. So a cycle moves the knee through at
   least 30 % of its range, and wobble inside a zone is not a cycle.
3. The zone a recording starts and ends in is rest (a set starts and ends at rest); every visit
   to the other zone between two rest visits is one complete cycle — an extension (``sen``) or
   a flexion (``pie``). Which end of the range is rest need not be known: when a recording
   starts and ends in different zones, one excursion is cut by its start or end, and the
   complete cycles number one less than the visits to either zone.

A cycle cut by the start or end of the recording is not counted, as the EMG detector does not
count a rep already under way when its signal starts or still under way when it stops.
"""

from __future__ import annotations

import numpy as np
from scipy.ndimage import uniform_filter1d

SMOOTH_S = 0.1
ROM_PERCENTILES = (1.0, 99.0)
LOW, HIGH = 0.35, 0.65


def zone_visits(angle: np.ndarray, fs_hz: float, smooth_s: float = SMOOTH_S,
                percentiles: tuple[float, float] = ROM_PERCENTILES,
                low: float = LOW, high: float = HIGH) -> list[tuple[str, int, int]]:
    """The knee's visits to the low and high zones: (``"L"`` or ``"H"``, start, end) in samples."""
    smooth = uniform_filter1d(np.asarray(angle, dtype=float), max(1, round(smooth_s * fs_hz)), mode="nearest")
    bottom, top = np.percentile(smooth, percentiles)
    x = (smooth - bottom) / (top - bottom)
    zone = np.where(x < low, 0, np.where(x > high, 1, -1))  # -1: in between, the zone carries on
    known = np.flatnonzero(zone >= 0)
    if not known.size:
        return []
    held = zone[known]
    changes = known[np.flatnonzero(np.diff(held)) + 1]
    starts = np.concatenate([[0], changes])
    ends = np.concatenate([changes, [zone.shape[0]]])
    first = held[0]
    return [("LH"[(first + k) % 2], int(a), int(b)) for k, (a, b) in enumerate(zip(starts, ends, strict=True))]


def knee_cycles(angle: np.ndarray, fs_hz: float, **zones) -> int:
    """Complete movement cycles of a set (see the module's definition)."""
    visits = [z for z, _, _ in zone_visits(angle, fs_hz, **zones)]
    if len(visits) < 2:
        return 0
    if visits[0] == visits[-1]:
        return sum(1 for z in visits[1:-1] if z != visits[0])
    return sum(1 for z in visits if z == visits[0]) - 1
