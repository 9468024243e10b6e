"""Raw recordings of sets: appended while recording, readable after a crash.

One job per module, all reachable from here:

* :mod:`~coach_tui.store.recording_format` — the two files (header ``<prefix>.json``, records
  ``<prefix>.raw``), how samples are stored as integer counts (:class:`SensorFormat`);
* :mod:`~coach_tui.store.recording_writer` — :class:`RecordingWriter`, appending and flushing;
* :mod:`~coach_tui.store.recording_reader` — :func:`read_recording`, checking what was stored;
* :mod:`~coach_tui.store.recording_recovery` — :func:`recover`, finishing an unfinished recording.
"""

from coach_tui.store.recording_format import (
    DTYPES,
    FLAG_RESYNC,
    FORMAT_NAME,
    FORMAT_VERSION,
    HEADER_SIZE,
    MAGIC,
    RECORD_HEADER,
    RecordingError,
    SensorFormat,
    bytes_per_hour,
    paths,
)
from coach_tui.store.recording_reader import Gap, StoredRecord, StoredRecording, read_recording
from coach_tui.store.recording_recovery import RecoveryResult, recover
from coach_tui.store.recording_writer import RecordingWriter

__all__ = [
    "DTYPES",
    "FLAG_RESYNC",
    "FORMAT_NAME",
    "FORMAT_VERSION",
    "HEADER_SIZE",
    "MAGIC",
    "RECORD_HEADER",
    "Gap",
    "RecordingError",
    "RecordingWriter",
    "RecoveryResult",
    "SensorFormat",
    "StoredRecord",
    "StoredRecording",
    "bytes_per_hour",
    "paths",
    "read_recording",
    "recover",
]
