"""Writing a raw recording (format: :mod:`~coach_tui.store.recording_format`).

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
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Self

import numpy as np

from coach_tui.sources.block import Block
from coach_tui.store.private_files import atomic_write, fsync_dir, open_private, private_dirs
from coach_tui.store.recording_format import (
    FLAG_RESYNC,
    FORMAT_NAME,
    FORMAT_VERSION,
    I64_MAX,
    I64_MIN,
    U32_MAX,
    RecordingError,
    SensorFormat,
    describe,
    header_bytes,
    now_iso,
    pack_record,
    paths,
)


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
        if not 1 <= max_record_samples <= U32_MAX:
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
            "created": now_iso(),
            "complete": False,
            "sensors": [s.to_json() for s in self.sensors],
            "meta": meta_json,
        }
        for p in (self.header_path, self.raw_path):
            if p.exists():
                raise FileExistsError(f"recording file {p} already exists; not overwriting it")
        try:
            private_dirs(self.header_path.parent)
            atomic_write(self.header_path, header_bytes(self.header))
            self._file = open_private(self.raw_path, "xb")
            fsync_dir(self.raw_path.parent)
        except FileExistsError:
            raise
        except OSError as exc:
            raise RecordingError(f"cannot create recording {self.raw_path}: {describe(exc)}") from exc
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
        if not 0 <= gap <= U32_MAX:
            raise ValueError(f"sensor {fmt.sensor_id!r}: gap_before {gap} out of range 0..2**32-1")
        if not I64_MIN <= first <= I64_MAX - samples.shape[0]:
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
              and rec.gap_before + block.gap_before <= U32_MAX and n <= self.max_record_samples):
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
            pack_record(r.index, r.flags, r.n, r.gap_before, r.first_index, r.t_host, b"".join(r.chunks))
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
            self._fail(exc, f"could not write recording {self.raw_path}: {describe(exc)}; "
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

    def update_meta(self, meta: dict) -> None:
        """Replace the caller's ``meta`` in the header (written atomically at once, as at creation)."""
        self._check_usable()
        try:
            meta_json = json.loads(json.dumps(meta, allow_nan=False))
        except (TypeError, ValueError) as exc:
            raise ValueError(f"recording meta must be plain JSON data: {exc}") from exc
        header = dict(self.header, meta=meta_json)
        try:
            atomic_write(self.header_path, header_bytes(header))
        except OSError as exc:
            raise RecordingError(f"could not update recording header {self.header_path}: {describe(exc)}") from exc
        self.header = header

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
        header = dict(self.header, complete=True, closed=now_iso(), raw_bytes=self.bytes_on_disk,
                      samples=dict(self.samples_written), clipped=dict(self.clipped))
        try:
            atomic_write(self.header_path, header_bytes(header))
        except OSError as exc:
            self.error = RecordingError(f"could not mark recording {self.header_path} complete: "
                                        f"{describe(exc)}; its samples are saved, recover() finishes it")
            raise self.error from exc
        self.header = header
