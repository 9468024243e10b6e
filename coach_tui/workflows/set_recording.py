"""Recording a set: every block is stored (as the sensor's counts) and analysed from exactly the
stored values, so a later re-analysis of the file reproduces the live per-rep metrics bit for bit.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from coach_tui.domain.ids import new_id, now_utc
from coach_tui.domain.session import RepMetrics, Session, SetRecord
from coach_tui.dsp.set_plan import SetPlan
from coach_tui.sources.block import Block
from coach_tui.store.recordings import RecordingWriter, SensorFormat
from coach_tui.store.repository import Repository

#: How the simulated kit's µV are stored: 16-bit counts of 0.25 µV (±8.2 mV), a power of two so
#: every stored value is exact in float32.
SIMULATED_SCALE_UV = 0.25

#: Storage of real sensors' samples: 32-bit counts of 0.01 (µV, ADC counts or unitless), exact
#: enough for every profile's resolution and wide enough for every profile's range.
DEVICE_SCALE = 0.01


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


class SetRecorder:
    """Stores blocks and analyses the stored values as they arrive.

    A mains decision the set's filters make mid-set (hum that started late) goes into the stored
    recipe at once, so a re-analysis adds the notch at the same sample.
    """

    def __init__(self, prefix: Path, plan: SetPlan, formats: list[SensorFormat], meta: dict):
        self.plan = plan
        self.analyzer = plan.analyzer()
        self._meta = meta
        self.writer = RecordingWriter(prefix, formats, {**meta, "plan": plan.to_meta()})

    def add(self, block: Block) -> list[RepMetrics]:
        """Store ``block``, analyse what was stored; return reps completed meanwhile."""
        stored = self.writer.write(block)
        reps = self.analyzer.add(block.sensor_id, stored, block.gap_before)
        self._store_notches(final=False)
        return reps

    def _store_notches(self, final: bool) -> None:
        notches = {**self.plan.notches, **self.analyzer.mains_decisions(final)}
        if notches != self.plan.notches:
            self.plan = replace(self.plan, notches=notches)
            self.writer.update_meta({**self._meta, "plan": self.plan.to_meta()})

    def finish(self) -> list[RepMetrics]:
        """End the set's analysis: the rep under way counts if the client had just finished it."""
        return self.analyzer.finish()

    def close(self) -> None:
        """Store the final mains decisions, flush and mark the recording complete."""
        try:
            self._store_notches(final=True)
        finally:
            self.writer.close()


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
) -> tuple[SetRecord, SetRecorder]:
    """Store a new set of ``session`` (so a crash finds it) and open its recording (real sensors'
    units in ``device_units``, see ``sensor_formats``)."""
    record = SetRecord(new_id("set"), session.id, index, exercise_key, now_utc(), load_kg=load_kg, cue=cue,
                       recording=f"set-{index:02d}", settings=plan.to_meta()["settings"], calibration_ids=calibration_ids)
    repo.save_set(record)
    meta = {"source": source, "client_id": session.client_id, "session_id": session.id, "set_id": record.id,
            "exercise": exercise_key}
    recorder = SetRecorder(sessions_dir / session.folder / record.recording, plan, sensor_formats(plan, device_units), meta)
    return record, recorder
