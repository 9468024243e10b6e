"""Reading a raw recording back (format: :mod:`~coach_tui.store.recording_format`).

An unfinished recording (the program died while recording) may end in an unreadable tail — a
record cut short, or a bad checksum with no valid record after it: what a crash mid-write leaves.
Reading drops it and reports it in ``truncated_bytes``. A complete recording cannot have one: its
header counts the bytes and samples it was closed with, and anything missing since (a copy that
was interrupted, a flipped bit in the last record) is a :class:`RecordingError` naming the lost
span. An unreadable record followed by valid ones is corruption, a :class:`RecordingError` naming
the byte offset, in any recording.
"""

from __future__ import annotations

import json
import os
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from coach_tui.sources.block import Block
from coach_tui.store.recording_format import (
    FLAG_RESYNC,
    FORMAT_NAME,
    FORMAT_VERSION,
    HEADER_SIZE,
    MAGIC,
    RECORD_HEADER,
    RecordingError,
    SensorFormat,
    paths,
)


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
        row, prev_end, prev_n = 0, None, None
        for e in self._entries:
            if e.sensor != want:
                continue
            if prev_end is not None:
                missing = e.first_index - prev_end
                if missing < 0:
                    gaps.append(Gap(row, e.first_index, 0, True))
                elif (missing > 0 and prev_n == 0 and not e.flags & FLAG_RESYNC and gaps
                      and not gaps[-1].resync and gaps[-1].row + gaps[-1].length == row):
                    # a gap going on past a flush (stored as gap-only records): one gap
                    gaps[-1] = replace(gaps[-1], length=gaps[-1].length + missing)
                    row += missing
                elif missing > 0 or e.flags & FLAG_RESYNC:
                    gaps.append(Gap(row, prev_end, missing, bool(e.flags & FLAG_RESYNC)))
                    row += missing
            placed.append((e, row))
            row += e.n
            prev_end, prev_n = e.first_index + e.n, e.n
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
        return [], 0, 0, None  # crash between writing the header and creating the raw file (checked by the caller)
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


def _lost_span(sensor: SensorFormat, have: int, want: int) -> str:
    return f"{sensor.sensor_id}: {(want - have) / sensor.fs_hz:.1f} s lost (from {have / sensor.fs_hz:.1f} s to {want / sensor.fs_hz:.1f} s)"


def _check_against_header(raw_path: Path, header: dict, sensors: tuple[SensorFormat, ...], entries: list[_Entry],
                          size: int, truncated: int, reason: str | None) -> None:
    """A complete recording must hold exactly what its header counted when it was closed (or
    recovered): anything less is damage since then, raised naming the lost span, never padded."""
    if not header.get("complete"):
        return
    expected_bytes = header.get("raw_bytes")
    expected = header.get("samples") if isinstance(header.get("samples"), dict) else {}
    stored = {s.sensor_id: 0 for s in sensors}
    for e in entries:
        stored[sensors[e.sensor].sensor_id] += e.n
    counts_differ = any(isinstance(n, int) and n != stored.get(sid, 0) for sid, n in expected.items())
    if not raw_path.exists() and (expected_bytes or any(expected.values())):
        cause = f"its samples file is missing (the header counts {expected_bytes} bytes)"
    elif truncated:
        cause = f"the record at byte {size - truncated} is unreadable ({reason})"
    elif isinstance(expected_bytes, int) and size < expected_bytes:
        cause = f"the file holds {size} of the {expected_bytes} bytes its header counts (cut short, e.g. by an interrupted copy)"
    elif isinstance(expected_bytes, int) and size > expected_bytes:
        cause = f"the file holds {size} bytes, {size - expected_bytes} more than its header counts"
    elif counts_differ:
        cause = "its sample counts differ from its header's"
    else:
        return
    lost = [_lost_span(s, stored[s.sensor_id], expected[s.sensor_id]) for s in sensors
            if isinstance(expected.get(s.sensor_id), int) and expected[s.sensor_id] > stored[s.sensor_id]]
    raise RecordingError(f"{raw_path} is damaged: {cause}; {'; '.join(lost) or 'the samples counted are all there'}. "
                         "Nothing was filled in: copy the recording again from where it came from")


def damage_seen(path_prefix: Path) -> str | None:
    """Why a complete recording is visibly damaged — its header or samples file missing, or the
    samples file not the size its header counts — without reading its records (a quick look for
    listings; :func:`read_recording` also checks every record). None when nothing is seen."""
    prefix = Path(path_prefix)
    try:
        header = _read_header(prefix)
    except RecordingError as error:
        return str(error)
    expected = header.get("raw_bytes")
    if not header.get("complete") or not isinstance(expected, int):
        return None
    raw_path = paths(prefix)[1]
    try:
        size = raw_path.stat().st_size
    except OSError:
        return f"{raw_path} is missing" if expected else None
    return None if size == expected else f"{raw_path} holds {size} of the {expected} bytes its header counts"


def read_recording(path_prefix: Path) -> StoredRecording:
    """Open ``<prefix>.json`` + ``<prefix>.raw`` and index its records (checksums verified).

    An *unfinished* recording's unreadable tail (a crash mid-write) is dropped and counted in
    ``truncated_bytes`` (:func:`~coach_tui.store.recording_recovery.recover` then cuts it off). A
    *complete* one must match its header's byte and sample counts: a missing samples file, a
    shortfall or an unreadable last record raise :class:`RecordingError` naming the lost span.
    Corruption followed by valid records, an unknown format version or a missing header raise too.
    """
    prefix = Path(path_prefix)
    header = _read_header(prefix)
    try:
        sensors = tuple(SensorFormat.from_json(s) for s in header["sensors"])
    except (KeyError, TypeError, ValueError) as exc:
        raise RecordingError(f"{paths(prefix)[0]}: bad sensor description: {exc}") from exc
    entries, size, truncated, reason = _scan(paths(prefix)[1], sensors)
    _check_against_header(paths(prefix)[1], header, sensors, entries, size, truncated, reason)
    return StoredRecording(
        path_prefix=prefix, header=header, sensors=sensors, meta=header.get("meta", {}),
        complete=bool(header.get("complete")), recovered=bool(header.get("recovered")),
        raw_size=size, truncated_bytes=truncated, truncation_reason=reason, _entries=entries,
    )
