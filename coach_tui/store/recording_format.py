"""The raw recording format of one set: header, records, stored counts (written by
:mod:`~coach_tui.store.recording_writer`, read by :mod:`~coach_tui.store.recording_reader`).

A recording is two files next to each other, both owner-only (0600; missing parent folders are
created 0700):

``<prefix>.json``
    The header, always replaced atomically: ``format`` (``"coach-tui-raw"``), ``version``, the
    ``sensors`` (:class:`SensorFormat` fields), the caller's ``meta``, ``created`` (ISO time) and
    ``complete``. :meth:`RecordingWriter.close` rewrites it with ``"complete": true``, ``closed``,
    ``raw_bytes`` and per-sensor ``samples`` / ``clipped`` counts; :func:`recover` with
    ``"complete": true, "recovered": true``. A recording without ``complete`` is unfinished (the
    program died while recording) and should be passed to :func:`recover`.

``<prefix>.raw``
    A sequence of records, each a 40-byte little-endian header followed by its payload::

        offset size  field
        0      4     magic  b"CTRR"
        4      1     sensor index (u8, position in the header's ``sensors``)
        5      1     flags (u8; bit 0 = resync)
        6      2     reserved, 0
        8      4     n samples (u32, rows)
        12     4     gap_before (u32, samples lost just before the first row)
        16     8     first_index (i64, device sample index of the first row)
        24     8     t_host (f64, host time of the first row)
        32     4     CRC32 of the payload
        36     4     CRC32 of header bytes 0..35
        40     ...   payload: n x channels counts of the sensor's dtype, little-endian, row-major

    The header CRC makes the length trustworthy before the payload is read, so a damaged length in
    the middle of a file cannot pass for a short tail.

Samples are stored as integer counts, ``value = count * scale`` in the sensor's units, and read
back with :meth:`SensorFormat.dequantize` (``counts.astype(float32) * float32(scale)``) -- the one
conversion used everywhere. :meth:`RecordingWriter.write` returns exactly those float32 values, so
the live pipeline and a later replay of the file see the same numbers bit for bit.
"""

from __future__ import annotations

import errno as errno_module
import json
import math
import struct
import zlib
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

FORMAT_NAME = "coach-tui-raw"
FORMAT_VERSION = 1

#: Record header: magic, sensor u8, flags u8, reserved u16, n u32, gap_before u32,
#: first_index i64, t_host f64, payload CRC32 u32, header CRC32 u32.
RECORD_HEADER = struct.Struct("<4sBBHIIqdII")
HEADER_SIZE = RECORD_HEADER.size  # 40
MAGIC = b"CTRR"
FLAG_RESYNC = 0x01

#: Sample count dtypes a sensor may use.
DTYPES = ("int8", "int16", "int32")

U32_MAX = 2**32 - 1
I64_MIN, I64_MAX = -(2**63), 2**63 - 1



#: Integer range per stored dtype (looked up once, not per block).
LIMITS = {name: (int(np.iinfo(name).min), int(np.iinfo(name).max)) for name in DTYPES}

class RecordingError(OSError):
    """A raw recording that cannot be written or read; the message says which file and why."""


@dataclass(frozen=True)
class SensorFormat:
    """How one sensor's samples are stored: integer counts of ``dtype``, ``value = count*scale``.

    ``labels`` names each channel (e.g. ``"glute_max L"``), one per channel.
    """

    sensor_id: str
    fs_hz: float
    channels: int
    units: str
    scale: float
    dtype: str
    labels: tuple[str, ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "labels", tuple(str(label) for label in self.labels))
        object.__setattr__(self, "fs_hz", float(self.fs_hz))
        object.__setattr__(self, "scale", float(self.scale))
        if not isinstance(self.sensor_id, str) or not self.sensor_id:
            raise ValueError("SensorFormat.sensor_id must be a non-empty string")
        if not (math.isfinite(self.fs_hz) and self.fs_hz > 0):
            raise ValueError(f"sensor {self.sensor_id!r}: fs_hz must be > 0, got {self.fs_hz}")
        if not isinstance(self.channels, int) or self.channels < 1:
            raise ValueError(f"sensor {self.sensor_id!r}: channels must be >= 1, got {self.channels!r}")
        if self.dtype not in DTYPES:
            raise ValueError(f"sensor {self.sensor_id!r}: dtype must be one of {DTYPES}, got {self.dtype!r}")
        if not (math.isfinite(self.scale) and self.scale > 0):
            raise ValueError(f"sensor {self.sensor_id!r}: scale must be > 0, got {self.scale}")
        if len(self.labels) != self.channels:
            raise ValueError(
                f"sensor {self.sensor_id!r}: {len(self.labels)} labels for {self.channels} channels"
            )

    # -- conversions (the only ones used anywhere)
    @property
    def np_dtype(self) -> np.dtype:
        """Little-endian numpy dtype of the stored counts."""
        return np.dtype(self.dtype).newbyteorder("<")

    @property
    def bytes_per_sample(self) -> int:
        """Payload bytes per sample row (all channels)."""
        return self.channels * np.dtype(self.dtype).itemsize

    def quantize(self, samples) -> tuple[np.ndarray, int]:
        """Return ``(counts, n_clipped)``: ``samples / scale`` rounded to the nearest integer (half
        to even), clipped to the dtype's range. ``n_clipped`` counts values outside the range;
        NaN is stored as 0 and counted as clipped too (±inf clip to the range ends)."""
        x = np.rint(np.asarray(samples, dtype=np.float64) / self.scale)
        low, high = LIMITS[self.dtype]
        nan = np.isnan(x)
        outside = (x < low) | (x > high)
        n_clipped = int(np.count_nonzero(outside) + np.count_nonzero(nan))
        if n_clipped:
            x = np.where(nan, 0.0, np.clip(x, low, high))
        return x.astype(self.np_dtype), n_clipped

    def dequantize(self, counts: np.ndarray) -> np.ndarray:
        """float32 values of stored counts: ``counts.astype(float32) * float32(scale)``."""
        return np.asarray(counts).astype(np.float32) * np.float32(self.scale)

    def representable(self, samples) -> np.ndarray:
        """The float32 values storing ``samples`` would give back (quantize, then dequantize)."""
        return self.dequantize(self.quantize(samples)[0])

    # -- header (de)serialisation
    def to_json(self) -> dict:
        """The sensor's entry in the recording header."""
        return {
            "sensor_id": self.sensor_id,
            "fs_hz": self.fs_hz,
            "channels": self.channels,
            "units": self.units,
            "scale": self.scale,
            "dtype": self.dtype,
            "labels": list(self.labels),
        }

    @classmethod
    def from_json(cls, data: dict) -> SensorFormat:
        """Inverse of :meth:`to_json`."""
        return cls(
            sensor_id=data["sensor_id"],
            fs_hz=data["fs_hz"],
            channels=data["channels"],
            units=data["units"],
            scale=data["scale"],
            dtype=data["dtype"],
            labels=tuple(data["labels"]),
        )


def bytes_per_hour(sensors: list[SensorFormat], flush_interval_s: float = 1.0,
                   max_record_samples: int = 65536) -> int:
    """Estimated ``.raw`` bytes per hour of recording: payload plus one record header per sensor
    per flush (blocks are coalesced between flushes; more when gaps split records)."""
    total = 0.0
    for s in sensors:
        records = max(3600.0 / flush_interval_s, s.fs_hz * 3600.0 / max_record_samples)
        total += s.fs_hz * 3600.0 * s.bytes_per_sample + records * HEADER_SIZE
    return math.ceil(total)


def paths(path_prefix: Path) -> tuple[Path, Path]:
    """``(<prefix>.json, <prefix>.raw)``."""
    prefix = Path(path_prefix)
    return prefix.with_name(prefix.name + ".json"), prefix.with_name(prefix.name + ".raw")


def now_iso() -> str:
    """The local time now, ISO 8601 with its UTC offset, to the second."""
    return datetime.now(UTC).astimezone().isoformat(timespec="seconds")


def header_bytes(header: dict) -> bytes:
    """A recording header as stored in ``<prefix>.json``."""
    return (json.dumps(header, indent=1, ensure_ascii=False, allow_nan=False) + "\n").encode("utf-8")


def pack_record(index: int, flags: int, n: int, gap_before: int, first_index: int,
                t_host: float, payload: bytes) -> bytes:
    """One record: its header (with both checksums) and the payload."""
    pcrc = zlib.crc32(payload)
    head = RECORD_HEADER.pack(MAGIC, index, flags, 0, n, gap_before, first_index, t_host, pcrc, 0)
    hcrc = zlib.crc32(head[: HEADER_SIZE - 4])
    return head[: HEADER_SIZE - 4] + struct.pack("<I", hcrc) + payload


def describe(exc: OSError) -> str:
    """An OS error in a few words (a full disk named as such)."""
    if exc.errno == errno_module.ENOSPC:
        return "disk full (no space left on device)"
    if exc.errno == errno_module.EDQUOT:
        return "disk quota exceeded"
    return exc.strerror or str(exc)
