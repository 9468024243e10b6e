"""Recording a set: every block is stored (as the sensor's counts) and analysed from exactly the
stored values, so a later re-analysis of the file reproduces the live per-rep metrics bit for bit.

The sensors are kept in step (``SensorAligner``): a lost sensor becomes a marked gap up to the
others, so the set's clock, the other muscles and their reps go on while it is away.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from coach_tui.domain.ids import new_id, now_utc
from coach_tui.domain.session import RepMetrics, Session, SetRecord
from coach_tui.dsp.set_plan import SetPlan
from coach_tui.sources.block import Block
from coach_tui.sources.sensor_alignment import SensorAligner
from coach_tui.store.reanalysis import reanalyze
from coach_tui.store.recordings import RecordingError, RecordingWriter, SensorFormat, recover
from coach_tui.store.repository import Repository

#: How the simulated kit's µV are stored: 16-bit counts of 0.25 µV (±8.2 mV), a power of two so
#: every stored value is exact in float32.
SIMULATED_SCALE_UV = 0.25

#: Storage of real sensors' samples: 32-bit counts of 0.01 (µV, ADC counts or unitless), exact
#: enough for every profile's resolution and wide enough for every profile's range.
DEVICE_SCALE = 0.01

#: Longest a sensor may lag the others (seconds) before it is padded with a gap although its link
#: is not reported lost: longer than any delivery jitter of a healthy link (Bluetooth hands samples
#: over every 7.5–100 ms), short enough that the set's clock hardly lags a silent sensor.
MAX_LAG_S = 0.5


def sensor_formats(plan: SetPlan, device_units: dict[str, str] | None = None) -> list[SensorFormat]:
    """Storage formats: the simulated kit's µV as 16-bit counts of ``SIMULATED_SCALE_UV``; sensors in
    ``device_units`` (real devices, by id: their units) as 32-bit counts of ``DEVICE_SCALE``."""
    device_units = device_units or {}
    formats = []
    for sid, assigned in plan.layout.sensors.items():
        labels = tuple(f"{a.muscle} {a.side or ''}".strip() for a in assigned)
        if sid in device_units:
            formats.append(SensorFormat(sid, plan.fs_hz, len(assigned), device_units[sid], DEVICE_SCALE, "int32", labels))
        else:
            formats.append(SensorFormat(sid, plan.fs_hz, len(assigned), "µV", SIMULATED_SCALE_UV, "int16", labels))
    return formats


@dataclass(frozen=True, slots=True)
class FinishedSet:
    """What a recorded set came to: its reps, its length, and what went wrong on the way (None: nothing)."""

    reps: list[RepMetrics]
    seconds: float
    problem: str | None = None


def _cut(block: Block, end: int) -> Block | None:
    """The part of an aligned ``block`` (numbered by set sample) before sample ``end``."""
    start = block.first_index - block.gap_before
    if start >= end:
        return None
    if block.end_index <= end:
        return block
    gap = min(block.gap_before, end - start)
    rows = max(0, end - block.first_index)
    return Block(block.sensor_id, start + gap, block.samples[:rows], block.t_host, gap, block.resync)


class SetRecorder:
    """Stores blocks and analyses the stored values as they arrive, the sensors kept in step.

    A mains decision the set's filters make mid-set (hum that started late) goes into the stored
    recipe at once, so a re-analysis adds the notch at the same sample.
    """

    def __init__(self, prefix: Path, plan: SetPlan, formats: list[SensorFormat], meta: dict,
                 max_samples: int | None = None):
        """``max_samples``: the set's length in samples when it has a planned one (samples after it
        are not recorded)."""
        self.prefix = prefix
        self.max_samples = max_samples
        self.plan = plan
        self.analyzer = plan.analyzer()
        self._meta = meta
        self.writer = RecordingWriter(prefix, formats, {**meta, "plan": plan.to_meta()})
        channels = {sid: len(assigned) for sid, assigned in plan.layout.sensors.items()}
        self.aligner = SensorAligner(channels, round(MAX_LAG_S * plan.fs_hz))
        #: What the last ``add`` stored, for the bars: per block, the sensor, the envelope values of its
        #: samples, and the samples lost before them.
        self.latest: list[tuple[str, np.ndarray, int]] = []

    def add(self, block: Block, lost: frozenset[str] = frozenset()) -> list[RepMetrics]:
        """Store ``block`` (and gaps for the sensors left behind: those in ``lost`` at once), analyse
        what was stored; return reps completed meanwhile."""
        done = []
        self.latest = []
        for aligned in self.aligner.add(block, lost):
            if self.max_samples is not None:
                aligned = _cut(aligned, self.max_samples)
                if aligned is None:
                    continue
            stored = self.writer.write(aligned)
            done += self.analyzer.add(aligned.sensor_id, stored, aligned.gap_before)
            self.latest.append((aligned.sensor_id, self.analyzer.latest_values[aligned.gap_before:],
                                aligned.gap_before))
        self._store_notches(final=False)
        return done

    def _store_notches(self, final: bool) -> None:
        notches = {**self.plan.notches, **self.analyzer.mains_decisions(final)}
        if notches != self.plan.notches:
            self.plan = replace(self.plan, notches=notches)
            self.writer.update_meta({**self._meta, "plan": self.plan.to_meta()})

    @property
    def seconds(self) -> float:
        """Length of the set so far: samples on every sensor (gaps included)."""
        return self.analyzer.samples_aligned / self.plan.fs_hz

    def close(self) -> None:
        """Store the final mains decisions, flush and mark the recording complete."""
        try:
            self._store_notches(final=True)
        finally:
            self.writer.close()

    def finish(self, problem: str | None = None) -> FinishedSet:
        """End the set's analysis (the rep under way counts if the client had just finished it), close
        the recording and return the set. After a write error (``problem``, or one raised closing)
        what reached the disk is kept: the file is recovered and its reps are re-analysed."""
        if problem is None:
            self.analyzer.finish()
        try:
            self.close()
        except RecordingError as error:
            problem = problem or str(error)
        if problem is None:
            return FinishedSet(list(self.analyzer.reps), self.seconds)
        try:
            recover(self.prefix)
            again = reanalyze(self.prefix)
        except (OSError, KeyError, ValueError):
            return FinishedSet([], 0.0, problem)
        return FinishedSet(list(again.reps), again.analyzer.samples_aligned / self.plan.fs_hz, problem)


def begin_set(
    repo: Repository,
    sessions_dir: Path,
    session: Session,
    index: int,
    exercise_key: str,
    plan: SetPlan,
    calibration_ids: tuple[str, ...],
    source: str,
    *,
    load_kg: float | None = None,
    cue: str = "",
    device_units: dict[str, str] | None = None,
    max_samples: int | None = None,
) -> tuple[SetRecord, SetRecorder]:
    """Store a new set of ``session`` (so a crash finds it) and open its recording (real sensors'
    units in ``device_units``, see ``sensor_formats``)."""
    record = SetRecord(new_id("set"), session.id, index, exercise_key, now_utc(), load_kg=load_kg, cue=cue,
                       recording=f"set-{index:02d}", settings=plan.to_meta()["settings"], calibration_ids=calibration_ids)
    repo.save_set(record)
    meta = {"source": source, "client_id": session.client_id, "session_id": session.id, "set_id": record.id,
            "exercise": exercise_key}
    recorder = SetRecorder(sessions_dir / session.folder / record.recording, plan, sensor_formats(plan, device_units), meta,
                           max_samples)
    return record, recorder
