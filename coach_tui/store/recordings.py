"""Raw recording of one set: appended while recording, readable after a crash.

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

The writer coalesces consecutive contiguous blocks of one sensor (no gap, no resync) into one
record until the next flush (and consecutive gaps, blocks of no samples that only mark lost ones,
into one), so 8 sensors flushed once a second cost 8 record headers a second
rather than one per block. A coalesced record keeps the ``t_host`` of its first block only: the
host times of later blocks in it are implied by the device index. Records are written with
``os.write`` then ``fsync``\\ ed at least every ``flush_interval_s`` of wall time (checked at each
``write``; call :meth:`RecordingWriter.flush_if_due` from a timer when blocks stop coming), so a
kill or power cut loses at most about that much. The flushes a ``write`` triggers run on a
background thread (an SD card's ``fsync`` can take tens of milliseconds, which would stall a live
screen), one at a time and in order; an error there is raised by the next ``write``, ``flush`` or
``close``.

Reading drops an unreadable tail (a record cut short, or a bad checksum with no valid record
after it: what a crash mid-write leaves) and reports it in ``truncated_bytes``; an unreadable
record followed by valid ones is corruption and a :class:`RecordingError` naming the byte offset.
"""

from __future__ import annotations

import errno as errno_module
import json
import math
import os
import struct
import time
import zlib
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Self

import numpy as np

from coach_tui.sources.block import Block
from coach_tui.store.private_files import (
    atomic_write,
    fsync_dir,
    open_private,
    private_dir,
)

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

_U32_MAX = 2**32 - 1
_I64_MIN, _I64_MAX = -(2**63), 2**63 - 1



#: Integer range per stored dtype (looked up once, not per block).
_LIMITS = {name: (int(np.iinfo(name).min), int(np.iinfo(name).max)) for name in DTYPES}

class RecordingError(OSError):
    """A raw recording that cannot be written or read; the message says which file and why."""


# --------------------------------------------------------------------------------- formats
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
        low, high = _LIMITS[self.dtype]
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


def _now_iso() -> str:
    return datetime.now(UTC).astimezone().isoformat(timespec="seconds")


def _header_bytes(header: dict) -> bytes:
    return (json.dumps(header, indent=1, ensure_ascii=False, allow_nan=False) + "\n").encode("utf-8")


def _make_private_parents(directory: Path) -> None:
    """Create the missing folders of ``directory`` owner-only; leave existing ones alone."""
    missing = []
    d = directory
    while not d.exists():
        missing.append(d)
        if d.parent == d:
            break
        d = d.parent
    for d in reversed(missing):
        private_dir(d)


def _pack_record(index: int, flags: int, n: int, gap_before: int, first_index: int,
                 t_host: float, payload: bytes) -> bytes:
    pcrc = zlib.crc32(payload)
    head = RECORD_HEADER.pack(MAGIC, index, flags, 0, n, gap_before, first_index, t_host, pcrc, 0)
    hcrc = zlib.crc32(head[: HEADER_SIZE - 4])
    return head[: HEADER_SIZE - 4] + struct.pack("<I", hcrc) + payload


# ---------------------------------------------------------------------------------- writer
@dataclass
class _Pending:
    index: int
    flags: int
    first_index: int
    gap_before: int
    t_host: float
    n: int = 0
    chunks: list[bytes] = field(default_factory=list)


#: One thread writes the flushes ``write`` triggers, for every recording, in the order they came.
_FLUSHER = ThreadPoolExecutor(max_workers=1, thread_name_prefix="recording-flush")


class RecordingWriter:
    """Append one set's raw samples to ``<prefix>.raw`` (see the module docstring).

    ``write(block)`` stores the block (quantized) and returns the float32 samples that were stored;
    data reaches the disk (write + fsync) when ``flush_interval_s`` of ``clock`` time has passed
    since the last flush at the time of a write, when ``max_buffer_bytes`` are buffered, on
    :meth:`flush`, and on :meth:`close`, which also marks the recording complete. Any ``OSError``
    (disk full, ...) becomes a :class:`RecordingError`; the file is cut back to the last complete
    flush, the writer stops accepting data, and everything flushed before stays readable.
    Refuses to overwrite an existing recording.
    """

    def __init__(self, path_prefix: Path, sensors: list[SensorFormat], meta: dict | None = None, *,
                 flush_interval_s: float = 1.0, clock: Callable[[], float] = time.monotonic,
                 coalesce: bool = True, max_record_samples: int = 65536,
                 max_buffer_bytes: int = 8 << 20) -> None:
        self.path_prefix = Path(path_prefix)
        self.header_path, self.raw_path = paths(self.path_prefix)
        self.sensors = list(sensors)
        if not self.sensors:
            raise ValueError("a recording needs at least one sensor")
        if len(self.sensors) > 256:
            raise ValueError(f"at most 256 sensors per recording, got {len(self.sensors)}")
        ids = [s.sensor_id for s in self.sensors]
        if len(set(ids)) != len(ids):
            raise ValueError(f"duplicate sensor ids in {ids}")
        if not 1 <= max_record_samples <= _U32_MAX:
            raise ValueError("max_record_samples must be in 1..2**32-1")
        self._index = {s.sensor_id: i for i, s in enumerate(self.sensors)}
        self.flush_interval_s = float(flush_interval_s)
        self.clock = clock
        self.coalesce = coalesce
        self.max_record_samples = int(max_record_samples)
        self.max_buffer_bytes = int(max_buffer_bytes)

        self.samples_written = {sid: 0 for sid in ids}
        self.clipped = {sid: 0 for sid in ids}
        self.records_written = 0
        self.bytes_on_disk = 0
        self.closed = False
        self.error: RecordingError | None = None
        self._pending: list[_Pending] = []
        self._open: dict[int, _Pending] = {}
        self._pending_bytes = 0
        self._in_flight: Future | None = None  # the flush running in the background

        try:
            meta_json = json.loads(json.dumps(meta or {}, allow_nan=False))
        except (TypeError, ValueError) as exc:
            raise ValueError(f"recording meta must be plain JSON data: {exc}") from exc
        self.header = {
            "format": FORMAT_NAME,
            "version": FORMAT_VERSION,
            "created": _now_iso(),
            "complete": False,
            "sensors": [s.to_json() for s in self.sensors],
            "meta": meta_json,
        }
        for p in (self.header_path, self.raw_path):
            if p.exists():
                raise FileExistsError(f"recording file {p} already exists; not overwriting it")
        try:
            _make_private_parents(self.header_path.parent)
            atomic_write(self.header_path, _header_bytes(self.header))
            self._file = open_private(self.raw_path, "xb")
            fsync_dir(self.raw_path.parent)
        except FileExistsError:
            raise
        except OSError as exc:
            raise RecordingError(f"cannot create recording {self.raw_path}: {_describe(exc)}") from exc
        self._fd = self._file.fileno()
        self._last_flush = self.clock()

    # -- context manager
    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    # -- writing
    def write(self, block: Block) -> np.ndarray:
        """Buffer ``block`` quantized; return the float32 samples stored for it, shape (n, channels)."""
        self._check_usable()
        try:
            index = self._index[block.sensor_id]
        except KeyError:
            raise ValueError(f"sensor {block.sensor_id!r} is not in this recording "
                             f"({', '.join(self._index)})") from None
        fmt = self.sensors[index]
        samples = np.asarray(block.samples)
        if samples.ndim == 1 and fmt.channels == 1:
            samples = samples.reshape(-1, 1)
        if samples.ndim != 2 or samples.shape[1] != fmt.channels:
            raise ValueError(f"sensor {fmt.sensor_id!r}: samples shape {samples.shape}, "
                             f"expected (n, {fmt.channels})")
        gap, first = int(block.gap_before), int(block.first_index)
        if not 0 <= gap <= _U32_MAX:
            raise ValueError(f"sensor {fmt.sensor_id!r}: gap_before {gap} out of range 0..2**32-1")
        if not _I64_MIN <= first <= _I64_MAX - samples.shape[0]:
            raise ValueError(f"sensor {fmt.sensor_id!r}: first_index {first} out of int64 range")
        counts, n_clipped = fmt.quantize(samples)
        self.clipped[fmt.sensor_id] += n_clipped
        self.samples_written[fmt.sensor_id] += counts.shape[0]
        self._buffer(index, block, counts)

        if (self.clock() - self._last_flush >= self.flush_interval_s
                or self._pending_bytes >= self.max_buffer_bytes):
            self._flush(background=True)
        return fmt.dequantize(counts)

    def _buffer(self, index: int, block: Block, counts: np.ndarray) -> None:
        n = counts.shape[0]
        data = counts.tobytes()
        rec = self._open.get(index)
        if (self.coalesce and rec is not None and block.gap_before == 0 and not block.resync
                and int(block.first_index) == rec.first_index + rec.n
                and rec.n + n <= self.max_record_samples):
            rec.chunks.append(data)
            rec.n += n
        elif (self.coalesce and rec is not None and rec.n == 0 and block.gap_before
              and int(block.first_index) == rec.first_index + block.gap_before
              and rec.gap_before + block.gap_before <= _U32_MAX and n <= self.max_record_samples):
            # a gap continuing a gap (a lost sensor is padded piece by piece): one record says it all
            rec.gap_before += int(block.gap_before)
            rec.first_index = int(block.first_index)
            rec.flags |= FLAG_RESYNC if block.resync else 0
            rec.chunks.append(data)
            rec.n = n
        else:
            if n > self.max_record_samples:  # split an oversized block into several records
                rows = self.max_record_samples
                for start in range(0, n, rows):
                    part = counts[start:start + rows]
                    sub = Block(block.sensor_id, int(block.first_index) + start, part, block.t_host,
                                block.gap_before if start == 0 else 0, block.resync and start == 0)
                    self._buffer(index, sub, part)
                return
            rec = _Pending(index, FLAG_RESYNC if block.resync else 0, int(block.first_index),
                           int(block.gap_before), float(block.t_host), n, [data])
            self._pending.append(rec)
            self._open[index] = rec
        self._pending_bytes += len(data)

    def flush_if_due(self) -> bool:
        """Flush when ``flush_interval_s`` has passed since the last flush; True if it did."""
        self._check_usable()
        if self.clock() - self._last_flush >= self.flush_interval_s:
            self.flush()
            return True
        return False

    def flush(self) -> None:
        """Write the buffered records, then flush and fsync the file (waiting for any background flush)."""
        self._check_usable()
        self._flush(background=False)

    def _flush(self, background: bool) -> None:
        self.wait_flushed()
        pending, self._pending, self._open = self._pending, [], {}
        self._pending_bytes = 0
        data = b"".join(
            _pack_record(r.index, r.flags, r.n, r.gap_before, r.first_index, r.t_host, b"".join(r.chunks))
            for r in pending
        )
        if background:
            self._in_flight = _FLUSHER.submit(self._write_out, data, pending)
        else:
            self._write_out(data, pending)
        self._last_flush = self.clock()

    def wait_flushed(self) -> None:
        """Wait until the flush running in the background (if any) is on disk; raises its error."""
        if self._in_flight is not None:
            in_flight, self._in_flight = self._in_flight, None
            in_flight.result()

    def _write_out(self, data: bytes, pending: list[_Pending]) -> None:
        """Append ``data`` (the records ``pending``) and fsync; on an error cut back and stop (raises)."""
        try:
            view = memoryview(data)
            while view:
                written = os.write(self._fd, view)
                view = view[written:]
            os.fsync(self._fd)
        except OSError as exc:
            lost = sum(r.n for r in pending)
            self._fail(exc, f"could not write recording {self.raw_path}: {_describe(exc)}; "
                            f"{lost} buffered samples were not saved, the recording stops at "
                            f"{self.bytes_on_disk} bytes")
        self.bytes_on_disk += len(data)
        self.records_written += len(pending)

    def _fail(self, exc: OSError, message: str) -> None:
        """Cut the file back to the last good flush, close it, remember and raise the error."""
        try:
            os.ftruncate(self._fd, self.bytes_on_disk)
            os.fsync(self._fd)
        except OSError:
            pass  # a reader drops a torn tail anyway
        try:
            self._file.close()
        except OSError:
            pass
        self.error = RecordingError(message)
        self.error.errno = exc.errno
        raise self.error from exc

    def _check_usable(self) -> None:
        if self._in_flight is not None and self._in_flight.done():
            self.wait_flushed()  # a background flush that failed raises its error here, once
        if self.error is not None:
            raise RecordingError(f"recording {self.raw_path} stopped after an earlier error: {self.error}")
        if self.closed:
            raise RecordingError(f"recording {self.raw_path} is closed")

    def close(self) -> None:
        """Flush, close the file and mark the recording complete in its header. Idempotent; after
        a write error it only releases the file (the recording stays unfinished, see recover())."""
        if self.closed:
            return
        try:
            self.wait_flushed()  # a background flush's error has not been raised to anyone yet
        except RecordingError:
            self.closed = True
            raise
        if self.error is not None:
            self.closed = True
            return
        try:
            self.flush()
        finally:
            self.closed = True
            try:
                self._file.close()
            except OSError:
                pass
        header = dict(self.header, complete=True, closed=_now_iso(), raw_bytes=self.bytes_on_disk,
                      samples=dict(self.samples_written), clipped=dict(self.clipped))
        try:
            atomic_write(self.header_path, _header_bytes(header))
        except OSError as exc:
            self.error = RecordingError(f"could not mark recording {self.header_path} complete: "
                                        f"{_describe(exc)}; its samples are saved, recover() finishes it")
            raise self.error from exc
        self.header = header


def _describe(exc: OSError) -> str:
    if exc.errno == errno_module.ENOSPC:
        return "disk full (no space left on device)"
    if exc.errno == errno_module.EDQUOT:
        return "disk quota exceeded"
    return exc.strerror or str(exc)


# ---------------------------------------------------------------------------------- reader
@dataclass(frozen=True)
class StoredRecord:
    """One record as stored: its header fields, the raw ``counts`` (n, channels) and its offset."""

    sensor_id: str
    first_index: int
    gap_before: int
    resync: bool
    t_host: float
    counts: np.ndarray
    offset: int


@dataclass(frozen=True)
class Gap:
    """A discontinuity in :meth:`StoredRecording.samples`: ``length`` rows of zeros inserted at
    ``row`` for device indices ``first_index ..``; ``resync`` when the record after it is marked
    resync (or its index went backwards, in which case ``length`` is 0)."""

    row: int
    first_index: int
    length: int
    resync: bool


@dataclass(frozen=True)
class _Entry:
    offset: int
    sensor: int
    flags: int
    n: int
    gap_before: int
    first_index: int
    t_host: float
    payload_crc: int


@dataclass
class StoredRecording:
    """A recording read back by :func:`read_recording`; payloads are read on demand."""

    path_prefix: Path
    header: dict
    sensors: tuple[SensorFormat, ...]
    meta: dict
    complete: bool
    recovered: bool
    raw_size: int
    truncated_bytes: int
    truncation_reason: str | None
    _entries: list[_Entry] = field(repr=False)

    @property
    def raw_path(self) -> Path:
        return paths(self.path_prefix)[1]

    @property
    def good_bytes(self) -> int:
        """Bytes of complete, valid records at the start of the ``.raw`` file."""
        return self.raw_size - self.truncated_bytes

    def sensor(self, sensor_id: str) -> SensorFormat:
        for s in self.sensors:
            if s.sensor_id == sensor_id:
                return s
        raise KeyError(f"sensor {sensor_id!r} is not in recording {self.path_prefix} "
                       f"({', '.join(s.sensor_id for s in self.sensors)})")

    def _sensor_index(self, sensor_id: str | None) -> int | None:
        if sensor_id is None:
            return None
        return self.sensors.index(self.sensor(sensor_id))

    def records(self, sensor_id: str | None = None) -> Iterator[StoredRecord]:
        """Stored records (of one sensor, or all) in file order, with their integer counts."""
        want = self._sensor_index(sensor_id)
        entries = [e for e in self._entries if want is None or e.sensor == want]
        if not entries:
            return
        with open(self.raw_path, "rb") as f:
            for e in entries:
                fmt = self.sensors[e.sensor]
                f.seek(e.offset + HEADER_SIZE)
                payload = f.read(e.n * fmt.bytes_per_sample)
                if zlib.crc32(payload) != e.payload_crc:
                    raise RecordingError(f"{self.raw_path}: record at byte offset {e.offset} changed "
                                         "since the recording was opened (checksum mismatch)")
                counts = np.frombuffer(payload, dtype=fmt.np_dtype).reshape(e.n, fmt.channels)
                yield StoredRecord(fmt.sensor_id, e.first_index, e.gap_before,
                                   bool(e.flags & FLAG_RESYNC), e.t_host, counts, e.offset)

    def blocks(self, sensor_id: str | None = None) -> Iterator[Block]:
        """:class:`Block`\\ s (one per record; float32 samples via dequantize) in file order."""
        formats = {s.sensor_id: s for s in self.sensors}
        for r in self.records(sensor_id):
            yield Block(sensor_id=r.sensor_id, first_index=r.first_index,
                        samples=formats[r.sensor_id].dequantize(r.counts), t_host=r.t_host,
                        gap_before=r.gap_before, resync=r.resync)

    def n_samples(self, sensor_id: str) -> int:
        """Stored sample rows of one sensor (gaps not counted)."""
        want = self._sensor_index(sensor_id)
        return sum(e.n for e in self._entries if e.sensor == want)

    def seconds(self, sensor_id: str) -> float:
        """Stored duration of one sensor: stored rows / fs (gaps not counted)."""
        return self.n_samples(sensor_id) / self.sensor(sensor_id).fs_hz

    def _layout(self, sensor_id: str) -> tuple[list[tuple[_Entry, int]], list[Gap], int]:
        """Row of every record of the sensor in :meth:`samples`, the gaps, and the total rows."""
        want = self._sensor_index(sensor_id)
        placed, gaps = [], []
        row, prev_end = 0, None
        for e in self._entries:
            if e.sensor != want:
                continue
            if prev_end is not None:
                missing = e.first_index - prev_end
                if missing < 0:
                    gaps.append(Gap(row, e.first_index, 0, True))
                elif missing > 0 or e.flags & FLAG_RESYNC:
                    gaps.append(Gap(row, prev_end, missing, bool(e.flags & FLAG_RESYNC)))
                    row += missing
            placed.append((e, row))
            row += e.n
            prev_end = e.first_index + e.n
        return placed, gaps, row

    def gaps(self, sensor_id: str) -> list[Gap]:
        """Where :meth:`samples` holds zeros for lost samples, and where a resync record starts.
        A gap is the difference between a record's ``first_index`` and the previous record's end
        (the stored ``gap_before`` is kept on each block but the index is what places samples)."""
        return self._layout(sensor_id)[1]

    def counts(self, sensor_id: str) -> np.ndarray:
        """All stored counts of one sensor, (rows, channels), gaps filled with 0 (see gaps())."""
        fmt = self.sensor(sensor_id)
        placed, _, total = self._layout(sensor_id)
        out = np.zeros((total, fmt.channels), dtype=fmt.np_dtype)
        for (_, row), rec in zip(placed, self.records(sensor_id)):
            out[row:row + rec.counts.shape[0]] = rec.counts
        return out

    def samples(self, sensor_id: str) -> np.ndarray:
        """float32 samples of one sensor from its first stored sample to its last, lost samples
        (index gaps between records) filled with zeros; :meth:`gaps` says where. A record whose
        index goes backwards is appended directly after the previous one."""
        return self.sensor(sensor_id).dequantize(self.counts(sensor_id))


def _read_header(path_prefix: Path) -> dict:
    header_path, _ = paths(path_prefix)
    try:
        header = json.loads(header_path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise RecordingError(f"recording header {header_path} not found") from None
    except (OSError, ValueError) as exc:
        raise RecordingError(f"recording header {header_path} is unreadable: {exc}") from exc
    if not isinstance(header, dict) or header.get("format") != FORMAT_NAME:
        raise RecordingError(f"{header_path} is not a coach-tui raw recording header")
    version = header.get("version")
    if version != FORMAT_VERSION:
        raise RecordingError(f"{header_path}: recording format version {version!r} is not supported "
                             f"(this coach-tui reads version {FORMAT_VERSION}; a newer one may)")
    return header


def _parse_record_header(buf: bytes, offset: int, size: int,
                         sensors: tuple[SensorFormat, ...]) -> tuple[_Entry | None, str | None]:
    """Decode the header at ``buf[0:40]`` of a record at ``offset`` in a file of ``size`` bytes."""
    if len(buf) < HEADER_SIZE:
        return None, "record header cut short"
    magic, index, flags, _, n, gap, first, t_host, pcrc, hcrc = RECORD_HEADER.unpack_from(buf)
    if magic != MAGIC:
        return None, "bad record magic"
    if zlib.crc32(buf[: HEADER_SIZE - 4]) != hcrc:
        return None, "record header checksum mismatch"
    if index >= len(sensors):
        return None, f"sensor index {index} not in header"
    if offset + HEADER_SIZE + n * sensors[index].bytes_per_sample > size:
        return None, "record payload cut short"
    return _Entry(offset, index, flags, n, gap, first, t_host, pcrc), None


def _valid_record_after(f, start: int, size: int, sensors: tuple[SensorFormat, ...]) -> int | None:
    """Offset of the first valid record (header and payload checksums) at or after ``start``."""
    f.seek(start)
    rest = f.read()
    pos = rest.find(MAGIC)
    while pos >= 0:
        entry, problem = _parse_record_header(rest[pos:pos + HEADER_SIZE], start + pos, size, sensors)
        if problem is None:
            plen = entry.n * sensors[entry.sensor].bytes_per_sample
            payload = rest[pos + HEADER_SIZE: pos + HEADER_SIZE + plen]
            if zlib.crc32(payload) == entry.payload_crc:
                return start + pos
        pos = rest.find(MAGIC, pos + 1)
    return None


def _scan(raw_path: Path, sensors: tuple[SensorFormat, ...]) -> tuple[list[_Entry], int, int, str | None]:
    """Index the records; return (entries, file size, truncated tail bytes, why it was dropped)."""
    try:
        with open(raw_path, "rb") as f:
            return _scan_file(f, raw_path, sensors)
    except FileNotFoundError:
        return [], 0, 0, None  # crash between writing the header and creating the raw file
    except RecordingError:
        raise
    except OSError as exc:
        raise RecordingError(f"cannot read recording {raw_path}: {exc.strerror or exc}") from exc


def _scan_file(f, raw_path: Path,
               sensors: tuple[SensorFormat, ...]) -> tuple[list[_Entry], int, int, str | None]:
    entries: list[_Entry] = []
    size = os.fstat(f.fileno()).st_size
    offset = 0
    while offset < size:
        entry, problem = _parse_record_header(f.read(HEADER_SIZE), offset, size, sensors)
        if problem is None:
            payload = f.read(entry.n * sensors[entry.sensor].bytes_per_sample)
            if zlib.crc32(payload) != entry.payload_crc:
                problem = "payload checksum mismatch"
        if problem is not None:
            later = _valid_record_after(f, offset + 1, size, sensors)
            if later is not None:
                raise RecordingError(f"{raw_path}: corrupt record at byte offset {offset} "
                                     f"({problem}); valid records follow at byte {later}")
            return entries, size, size - offset, problem
        entries.append(entry)
        offset += HEADER_SIZE + len(payload)
    return entries, size, 0, None


def read_recording(path_prefix: Path) -> StoredRecording:
    """Open ``<prefix>.json`` + ``<prefix>.raw`` and index its records (checksums verified).

    An unreadable tail is dropped and counted in ``truncated_bytes``; corruption followed by valid
    records, an unknown format version or a missing header raise :class:`RecordingError`.
    """
    prefix = Path(path_prefix)
    header = _read_header(prefix)
    try:
        sensors = tuple(SensorFormat.from_json(s) for s in header["sensors"])
    except (KeyError, TypeError, ValueError) as exc:
        raise RecordingError(f"{paths(prefix)[0]}: bad sensor description: {exc}") from exc
    entries, size, truncated, reason = _scan(paths(prefix)[1], sensors)
    return StoredRecording(
        path_prefix=prefix, header=header, sensors=sensors, meta=header.get("meta", {}),
        complete=bool(header.get("complete")), recovered=bool(header.get("recovered")),
        raw_size=size, truncated_bytes=truncated, truncation_reason=reason, _entries=entries,
    )


# -------------------------------------------------------------------------------- recovery
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
        header = dict(rec.header, complete=True, recovered=True, recovered_at=_now_iso(),
                      raw_bytes=rec.good_bytes, dropped_bytes=rec.truncated_bytes,
                      samples=samples)
        atomic_write(header_path, _header_bytes(header))
    except OSError as exc:
        raise RecordingError(f"could not recover recording {raw_path}: {_describe(exc)}") from exc
    return RecoveryResult(prefix, False, seconds, samples, rec.good_bytes, rec.truncated_bytes)
