"""The target muscle's median frequency per rep, from a stored set's raw samples (the A/B test's
fatigue check reads it; see ``coach_tui.statistics.ab_statistics``)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from coach_tui.domain.session import RepMetrics
from coach_tui.dsp.fatigue import fatigue_unavailable_reason, median_frequency
from coach_tui.dsp.pipeline import Pipeline
from coach_tui.dsp.set_plan import SetPlan
from coach_tui.store.recordings import read_recording


def rep_median_frequencies(prefix: Path, reps: Sequence[RepMetrics]) -> list[float | None]:
    """Per rep of the set stored at ``prefix``, the target muscle's median frequency (Hz) over the
    rep's ``[start_s, end_s)`` window.

    The set's stored plan says which channels are the target and how they were filtered: each
    target channel is band-passed and notched by that causal chain from the set's first sample (lost
    samples as zeros, as live), its median frequency (Welch, ``dsp.fatigue``) taken over the rep, and
    the values of the target's channels (left and right) averaged. None for every rep below
    when the sensor's band cannot show it (``fatigue.fatigue_unavailable_reason``) and for a rep
    shorter than one Welch segment.
    """
    recording = read_recording(prefix)
    plan = SetPlan.from_meta(recording.meta["plan"], str(prefix))
    fs = plan.fs_hz
    if fatigue_unavailable_reason(fs, plan.settings.dsp.filters, plan.settings.fatigue):
        return [None] * len(reps)
    filtered: list[np.ndarray] = []
    for sensor_id, assigned in plan.layout.sensors.items():
        columns = [k for k, a in enumerate(assigned) if a.muscle == plan.layout.target]
        if columns:
            frame = Pipeline(fs, len(assigned), plan.settings.dsp).process(recording.samples(sensor_id))
            filtered += [frame.filtered[:, k] for k in columns]
    segment = round(plan.settings.fatigue.segment_ms * fs / 1000)
    frequencies: list[float | None] = []
    for rep in reps:
        start, end = round(rep.start_s * fs), round(rep.end_s * fs)
        values = [median_frequency(x[start:end], fs, plan.settings.fatigue) for x in filtered if x[start:end].size >= segment]
        frequencies.append(float(np.mean(values)) if values else None)
    return frequencies
