"""Finishing a recording that a crash, a power cut or a killed process left unfinished."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from coach_tui.store.private_files import atomic_write, fsync_dir, open_private
from coach_tui.store.recording_format import RecordingError, describe, header_bytes, now_iso, paths
from coach_tui.store.recording_reader import read_recording


@dataclass(frozen=True)
class RecoveryResult:
    """What :func:`recover` kept: stored seconds and rows per sensor, and the bytes it cut off.
    ``already_complete`` when the recording needed nothing (closed normally, or recovered)."""

    path_prefix: Path
    already_complete: bool
    seconds: dict[str, float]
    samples: dict[str, int]
    bytes_kept: int
    bytes_dropped: int


def recover(path_prefix: Path) -> RecoveryResult:
    """Finish an unfinished recording: cut ``<prefix>.raw`` after its last good record and mark the
    header complete with ``"recovered": true``. Does nothing to a complete recording (so running it
    twice is harmless). Corruption in the middle of the file raises :class:`RecordingError` and
    changes nothing."""
    prefix = Path(path_prefix)
    rec = read_recording(prefix)
    header_path, raw_path = paths(prefix)
    seconds = {s.sensor_id: rec.seconds(s.sensor_id) for s in rec.sensors}
    samples = {s.sensor_id: rec.n_samples(s.sensor_id) for s in rec.sensors}
    if rec.complete:
        return RecoveryResult(prefix, True, seconds, samples, rec.good_bytes, 0)
    try:
        if raw_path.exists():
            with open_private(raw_path, "r+b") as f:
                f.truncate(rec.good_bytes)
                f.flush()
                os.fsync(f.fileno())
        else:
            with open_private(raw_path, "xb") as f:
                os.fsync(f.fileno())
            fsync_dir(raw_path.parent)
        header = dict(rec.header, complete=True, recovered=True, recovered_at=now_iso(),
                      raw_bytes=rec.good_bytes, dropped_bytes=rec.truncated_bytes,
                      samples=samples)
        atomic_write(header_path, header_bytes(header))
    except OSError as exc:
        raise RecordingError(f"could not recover recording {raw_path}: {describe(exc)}") from exc
    return RecoveryResult(prefix, False, seconds, samples, rec.good_bytes, rec.truncated_bytes)
