"""A recording file read a chunk of rows at a time, so one of hours never sits in memory whole.

Large delimited-text files (the usual export of hours of signal) are parsed in pieces of about
``CHUNK_BYTES`` with exactly the rules of ``signal_files`` (``delimited_text``) (header, delimiter, decimal commas,
trailing delimiters, a time column, missing values named); every other file is read whole by
``load_signal_file`` and handed out in chunks.
"""

from __future__ import annotations

import gzip
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from coach_tui.sources.signal_file_limits import check_magnitudes, check_regular_file, is_rate
from coach_tui.sources.delimited_text import (
    TIME_SCALE,
    find_data_start,
    parse_table,
    rate_from_time,
    refuse_gaps,
    unit_in,
)
from coach_tui.sources.signal_files import SignalFileError, load_signal_file

#: Text files larger than this on disk (gzipped or not) are parsed a piece at a time.
STREAM_BYTES = 32 << 20
#: Bytes parsed at a time.
CHUNK_BYTES = 16 << 20
#: Rows handed out at a time from a file read whole.
CHUNK_ROWS = 1 << 16
#: How much the time column's rate may drift from what its first piece gave (a fraction).
RATE_TOLERANCE = 1e-6


@dataclass(frozen=True)
class SignalStream:
    """What ``SignalFile`` says about a recording, and ``chunks()``: its samples ``(rows, channels)``
    in order, float64, checked as ``load_signal_file`` checks them (``SignalFileError`` otherwise).
    ``rows`` is their number, estimated from the file's size for a text file read in pieces (0 when
    gzipped: unknown)."""

    fs_hz: float
    units: str
    source: str
    channels: int
    chunks: Callable[[], Iterator[np.ndarray]]
    rows: int
    column_names: list[str] | None = None
    channel_hints: list[tuple[str, str | None]] | None = None
    clip_level: float | None = None


def open_signal_stream(path: str | Path, fs_hz: float | None = None, chunk_bytes: int = CHUNK_BYTES) -> SignalStream:
    """The recording at ``path`` as a stream (``fs_hz`` as in ``load_signal_file``)."""
    path = Path(path)
    if path.suffix.lower() in (".npy", ".npz") or not path.is_file() or not _large_text(path):
        recording = load_signal_file(path, fs_hz)
        samples = recording.samples

        def whole() -> Iterator[np.ndarray]:
            for at in range(0, samples.shape[0], CHUNK_ROWS):
                yield samples[at : at + CHUNK_ROWS]

        return SignalStream(recording.fs_hz, recording.units, recording.source, recording.channels, whole,
                            recording.n_samples, recording.column_names, recording.channel_hints, recording.clip_level)
    return _text_stream(path, fs_hz, chunk_bytes)


def _large_text(path: Path) -> bool:
    """A generic text recording (not one of the UCI layouts) worth reading in pieces (of any size:
    the limit on files read whole does not apply)."""
    recording_layouts = path.parent.name in ("Normal", "Aggressive") or path.parent.name.upper() in ("N_TXT", "A_TXT")
    return not recording_layouts and check_regular_file(path, whole=False) > STREAM_BYTES


def _pieces(path: Path, chunk_bytes: int) -> Iterator[bytes]:
    """The file's bytes (gunzipped) in pieces ending at a line end, a byte-order mark dropped."""
    with path.open("rb") as handle:
        gzipped = handle.read(2) == b"\x1f\x8b"
    try:
        with (gzip.open(path, "rb") if gzipped else path.open("rb")) as stream:
            carry = b""
            first = True
            while True:
                block = stream.read(chunk_bytes)
                if first and block.startswith(b"\xef\xbb\xbf"):
                    block = block[3:]
                first = False
                if not block:
                    if carry:
                        yield carry
                    return
                data = carry + block
                cut = data.rfind(b"\n") + 1
                if cut:
                    yield data[:cut]
                carry = data[cut:]
    except (OSError, EOFError) as error:
        raise SignalFileError(f"{path}: cannot read ({error})") from None


def _text_stream(path: Path, fs_hz: float | None, chunk_bytes: int) -> SignalStream:
    first_piece = next(_pieces(path, chunk_bytes), b"")
    _refuse_nul(first_piece, 1, path)
    header, offset, first_line, delim = find_data_start(first_piece, path)
    first_values, names = parse_table(first_piece[offset:], delim, first_line, header, path, last=False)
    scale = TIME_SCALE.get(names[0].strip().lower()) if names else None
    timed = scale is not None and first_values.shape[1] > 1
    from_time = timed and fs_hz is None
    if timed:
        names = names[1:]
        if from_time and first_values.shape[0] >= 2:
            fs_hz = rate_from_time(first_values[:, 0] * scale, path, first_line)
    if fs_hz is None:
        raise SignalFileError(f"{path}: sample rate unknown: pass --fs HZ")
    if not is_rate(fs_hz):
        raise SignalFileError(f"{path}: the sample rate {fs_hz!r} Hz is not one coach can use (above 0, at most "
                              "1000000): pass --fs HZ")
    fs_hz = float(fs_hz)
    units = {unit_in(name) for name in names} if names else {None}
    unit = units.pop() if len(units) == 1 else None
    channels = first_values.shape[1] - (1 if timed else 0)

    def chunks() -> Iterator[np.ndarray]:
        line, rows, times = first_line, 0, None
        pieces = _pieces(path, chunk_bytes)
        previous = next(pieces)[offset:]
        while previous is not None:
            following = next(pieces, None)  # one piece ahead: is this one the file's last?
            last = following is None
            values, _ = parse_table(previous, delim, line, [], path, last=last)
            if values.shape[0] and values.shape[1] != channels + (1 if timed else 0):
                raise SignalFileError(f"{path}: line {line} has {values.shape[1]} columns, the first data row "
                                      f"(line {first_line}) has {channels + (1 if timed else 0)}")
            if timed:
                times = _check_time(values[:, 0] * scale, times, rows, line, path)
                values = values[:, 1:]
            _check_finite(values, rows, fs_hz, names, path)
            check_magnitudes(values, path, names, fs_hz, rows)
            yield values
            rows += values.shape[0]
            line += previous.count(b"\n")
            if following is not None:
                _refuse_nul(following, line, path)
            previous = following
        if from_time and times is not None and times[1] > 1:
            whole = (times[1] - 1) / (times[2] - times[0])
            if abs(whole - fs_hz) > RATE_TOLERANCE * fs_hz:
                raise SignalFileError(f"{path}: the time column's rate drifts from {fs_hz:g} Hz to {whole:g} Hz "
                                      "over the file: pass --fs HZ")

    with path.open("rb") as handle:
        gzipped = handle.read(2) == b"\x1f\x8b"
    per_row = max(1, len(first_piece) - offset) / max(1, first_values.shape[0])
    rows = 0 if gzipped else round(path.stat().st_size / per_row)  # about; 0: unknown
    return SignalStream(fs_hz, unit or "unknown", str(path), channels, chunks, rows, names or None)


def _refuse_nul(piece: bytes, line: int, path: Path) -> None:
    """Text without NUL bytes, as ``load_signal_file`` reads it (``line``: the piece's first line)."""
    nul = piece.find(b"\0")
    if nul >= 0:
        line += piece.count(b"\n", 0, nul)
        raise SignalFileError(f"{path}: no numeric data can be read: it holds NUL bytes (first on line {line}), so it "
                              "is not a text recording or a damaged one (a UTF-16 export? save it as UTF-8)")


def _check_time(time: np.ndarray, seen, rows: int, line: int, path: Path):
    """The time column keeps increasing evenly across pieces (``line``: this piece's first row);
    returns (first time, rows, last time)."""
    if not time.size:
        return seen
    joined = time if seen is None else np.concatenate([[seen[2]], time])
    if not (np.all(np.isfinite(time)) and np.all(np.diff(joined) > 0)):
        raise SignalFileError(f"{path}: the time column does not increase steadily: pass --fs HZ")
    if joined.size > 2:
        refuse_gaps(joined, path, line - (0 if seen is None else 1))
    first = time[0] if seen is None else seen[0]
    return first, rows + time.shape[0], float(time[-1])


def _check_finite(values: np.ndarray, first_row: int, fs_hz: float, names: list[str] | None, path: Path) -> None:
    """Missing samples are an error naming the column and where (as ``load_signal_file`` says it)."""
    bad = ~np.isfinite(values)
    if not bad.any():
        return
    col = int(np.argmax(bad.any(axis=0)))
    start = int(np.argmax(bad[:, col]))
    good_after = np.flatnonzero(~bad[start:, col])
    run = int(good_after[0]) if good_after.size else values.shape[0] - start
    label = f"'{names[col]}'" if names else str(col + 1)
    at = first_row + start
    raise SignalFileError(f"{path}: column {label} has {run} missing value(s) from {at / fs_hz:.3f} s (sample {at}); "
                          "gaps are not filled, fix or trim the file")
