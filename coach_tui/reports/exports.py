"""Exports of a finished session, written only when the trainer asks: CSV, EDF+ and a JSON sidecar.

- CSV: one file of per-rep metrics for the session, and per set the envelopes the metrics came
  from (re-computed from the stored samples with the stored settings — identical to live).
- EDF+: per set, the raw signals in physical units (µV) with one label per channel
  ("glute_max L"), the sample rate, and annotations for reps and lost samples; the client appears
  only by id.
- JSON: provenance — device, sample rate, filter settings, placements, calibrations, software.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import numpy as np

from coach_tui import __version__
from coach_tui.domain.calibration import Calibration
from coach_tui.domain.session import Session, SetRecord
from coach_tui.store.reanalysis import reanalyze
from coach_tui.store.private_files import atomic_write, private_dirs
from coach_tui.store.recordings import read_recording

FORMATS = ("csv", "edf", "json")
REP_COLUMNS = [
    "set", "exercise", "rep", "muscle", "side", "units", "start_s", "end_s", "peak", "mean",
    "time_to_peak_s", "asymmetry_pct", "target_share", "onset_order", "median_frequency_hz", "metrics_version",
]


class ExportError(Exception):
    """An export that could not be written; the message names the file and the reason."""


@dataclass(frozen=True, slots=True)
class SessionBundle:
    """A session with what its exports need."""

    session: Session
    sets: list[SetRecord]
    calibrations: list[Calibration]
    folder: Path


def _write(path: Path, data: bytes) -> Path:
    try:
        atomic_write(path, data)
    except OSError as error:
        raise ExportError(f"{path}: cannot write ({error.strerror})") from None
    return path


def _prefix(bundle: SessionBundle, record: SetRecord) -> Path:
    return bundle.folder / record.recording


def export_csv(bundle: SessionBundle, out: Path) -> list[Path]:
    """Per-rep metrics of every set, and each set's envelopes at the recording's sample rate."""
    written = []
    reps = io.StringIO()
    table = csv.writer(reps)
    table.writerow(REP_COLUMNS)
    for record in bundle.sets:
        for rep in record.reps:
            order = "; ".join(f"{name} +{ms:.0f} ms" for name, ms in rep.onset_order)
            table.writerow([
                record.index, record.exercise, rep.index, rep.muscle, rep.side or "", rep.units,
                f"{rep.start_s:.4f}", f"{rep.end_s:.4f}", f"{rep.peak:.6g}", f"{rep.mean:.6g}",
                f"{rep.time_to_peak_s:.4f}", "" if rep.asymmetry_pct is None else f"{rep.asymmetry_pct:.3f}",
                "" if rep.target_share is None else f"{rep.target_share:.4f}", order,
                "" if rep.median_frequency_hz is None else f"{rep.median_frequency_hz:.2f}", record.metrics_version,
            ])
    written.append(_write(out / f"{bundle.session.id}-reps.csv", reps.getvalue().encode()))
    for record in bundle.sets:
        again = reanalyze(_prefix(bundle, record), keep_envelopes=True)
        plan, analyzer = again.plan, again.analyzer
        names = [f"{a.muscle} {a.side or ''}".strip() + f" ({unit})" for (_, _, a), unit in zip(analyzer.channels, analyzer.units)]
        n = analyzer.samples_aligned
        columns = [np.arange(n) / plan.fs_hz] + [analyzer.envelope(i)[:n] for i in range(len(analyzer.channels))]
        text = io.StringIO()
        np.savetxt(text, np.column_stack(columns), delimiter=",", header=",".join(["time_s", *names]), comments="", fmt="%.6g")
        written.append(_write(out / f"{bundle.session.id}-set-{record.index:02d}-envelope.csv", text.getvalue().encode()))
    return written


def export_edf(bundle: SessionBundle, out: Path) -> list[Path]:
    """EDF+ of each set's raw signals (µV), with rep and gap annotations."""
    import edfio

    written = []
    for record in bundle.sets:
        recording = read_recording(_prefix(bundle, record))
        signals = []
        length = max((recording.n_samples(s.sensor_id) for s in recording.sensors), default=0)
        seconds = int(np.ceil(length / min(s.fs_hz for s in recording.sensors))) if recording.sensors else 0
        for fmt in recording.sensors:
            samples = recording.samples(fmt.sensor_id).astype(np.float64)
            padded = np.zeros((int(seconds * fmt.fs_hz), fmt.channels))
            padded[: samples.shape[0]] = samples
            info = np.iinfo(fmt.dtype)
            for c, label in enumerate(fmt.labels):
                signals.append(
                    edfio.EdfSignal(
                        padded[:, c],
                        fmt.fs_hz,
                        label=label,
                        physical_dimension=fmt.units.replace("µ", "u"),
                        physical_range=(info.min * fmt.scale, info.max * fmt.scale),
                        digital_range=(max(info.min, -32768), min(info.max, 32767)),
                        transducer_type="surface EMG",
                    )
                )
        annotations = [edfio.EdfAnnotation(r.start_s, r.end_s - r.start_s, f"rep {r.index}") for r in record.reps]
        for fmt in recording.sensors:
            for gap in recording.gaps(fmt.sensor_id):
                annotations.append(edfio.EdfAnnotation(gap.row / fmt.fs_hz, gap.length / fmt.fs_hz, f"{fmt.sensor_id}: {gap.length} samples lost"))
        started = record.started
        edf = edfio.Edf(
            signals,
            patient=edfio.Patient(code=bundle.session.client_id.replace(" ", "_")),
            recording=edfio.Recording(startdate=started.date(), additional=(f"coach-tui_{__version__}", record.exercise.replace(" ", "_"))),
            starttime=started.time().replace(tzinfo=None, microsecond=0),
            data_record_duration=1.0,
            annotations=annotations,
        )
        path = out / f"{bundle.session.id}-set-{record.index:02d}.edf"
        written.append(_write(path, edf.to_bytes()))
    return written


def provenance(bundle: SessionBundle) -> dict:
    """Where every number in the exports came from."""
    sets = []
    for record in bundle.sets:
        recording = read_recording(_prefix(bundle, record))
        plan = recording.meta.get("plan", {})
        sets.append({
            "set": record.index,
            "exercise": record.exercise,
            "started": record.started.isoformat(),
            "duration_s": record.duration_s,
            "load_kg": record.load_kg,
            "perceived_activation": record.perceived_activation,
            "devices": [
                {"sensor_id": s.sensor_id, "sample_rate_hz": s.fs_hz, "channels": list(s.labels), "units": s.units,
                 "resolution": f"{s.dtype} counts of {s.scale:g} {s.units}", "source": recording.meta.get("source", "")}
                for s in recording.sensors
            ],
            "placements": plan.get("layout", {}),
            "analysis_settings": plan.get("settings", {}),
            "mvc_references": plan.get("mvc", {}),
            "calibrations_used": list(record.calibration_ids),
            "recording": {"complete": recording.complete, "recovered": recording.recovered},
        })
    return {
        "software": f"coach-tui {__version__}",
        "exported": datetime.now().astimezone().isoformat(timespec="seconds"),
        "session": {"id": bundle.session.id, "client_id": bundle.session.client_id,
                    "started": bundle.session.started.isoformat(), "status": bundle.session.status},
        "sets": sets,
        "calibrations": [c.to_dict() for c in bundle.calibrations],
        "definitions": {
            "envelope": "moving RMS of the band-passed, notch-filtered signal",
            "percent_mvc": "envelope / MVC reference × 100",
            "asymmetry": "(max − min) / max × 100 of per-rep peaks",
            "target_share": "target / (target + synergist) of per-rep mean %MVC",
        },
    }


def export_json(bundle: SessionBundle, out: Path) -> list[Path]:
    """The provenance sidecar."""
    text = json.dumps(provenance(bundle), indent=2, ensure_ascii=False)
    return [_write(out / f"{bundle.session.id}.json", text.encode())]


def export_session(bundle: SessionBundle, fmt: str, out: Path) -> list[Path]:
    """Write ``fmt`` ("csv", "edf" or "json") into ``out`` (missing folders created owner-only, an
    existing one used as it is; the files owner-only); return the files. Every set's recording is
    checked first (:class:`~coach_tui.store.recordings.RecordingError` names a damaged one), so a
    damaged set leaves no half-written export."""
    for record in bundle.sets:
        read_recording(_prefix(bundle, record))
    try:
        private_dirs(out)
    except OSError as error:
        raise ExportError(f"{out}: cannot create the folder ({error.strerror})") from None
    return {"csv": export_csv, "edf": export_edf, "json": export_json}[fmt](bundle, out)
