"""What a recording file may be before a reader trusts it: a regular file (a pipe would block for
ever), at most :data:`MAX_FILE_BYTES` on disk and after decompression (a gzip bomb stops there),
text without NUL bytes, sample values of a plausible size, a plausible sample rate.

Each check raises :class:`SignalFileError` with one line naming the file and what to do.
"""

from __future__ import annotations

import gzip
import math
import os
import stat
import zlib
from pathlib import Path

import numpy as np


class SignalFileError(ValueError):
    """A recording file that cannot be read; the message is one line naming the file."""


#: Largest file read, on disk and decompressed (about 1 h of 8 channels at 2 kHz as text).
MAX_FILE_BYTES = 1 << 30
#: Largest sample magnitude believed (µV, mV or ADC counts of any real sensor are far below).
MAX_SAMPLE_MAGNITUDE = 1e12
#: Highest sample rate believed, Hz.
MAX_RATE_HZ = 1e6

_BOM = b"\xef\xbb\xbf"
_CHUNK = 1 << 20


def check_regular_file(path: Path, whole: bool = True) -> int:
    """The size of ``path``, a regular file of at most :data:`MAX_FILE_BYTES` when it is to be read
    ``whole`` (a file read a piece at a time, ``signal_stream``, may be of any size)."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise SignalFileError(f"{path}: file not found") from None
    except OSError as error:
        raise SignalFileError(f"{path}: cannot read ({error.strerror})") from None
    if stat.S_ISDIR(st.st_mode):
        raise SignalFileError(f"{path}: is a folder, not a recording file")
    if not stat.S_ISREG(st.st_mode):
        raise SignalFileError(f"{path}: is not a regular file (a pipe, socket or device); save the recording "
                              "to a file first")
    if whole and st.st_size > MAX_FILE_BYTES:
        raise SignalFileError(f"{path}: {st.st_size / 2**20:.0f} MiB is more than the {MAX_FILE_BYTES >> 20} MiB "
                              "coach reads at once; cut the recording into parts")
    return st.st_size


def read_text_bytes(path: Path) -> bytes:
    """The bytes of a text recording (gunzipped when it is gzip, at most :data:`MAX_FILE_BYTES`),
    without a UTF-8 byte-order mark; refused when it holds NUL bytes."""
    check_regular_file(path)
    try:
        with open(path, "rb") as handle:
            gzipped = handle.read(2) == b"\x1f\x8b"
        data = _gunzip(path) if gzipped else path.read_bytes()
    except (OSError, EOFError, zlib.error) as error:
        why = getattr(error, "strerror", None) or str(error) or type(error).__name__
        raise SignalFileError(f"{path}: cannot read ({why}); the file is damaged or not what its name says") from None
    if data.startswith(_BOM):
        data = data[len(_BOM):]
    nul = data.find(b"\0")
    if nul >= 0:
        line = data.count(b"\n", 0, nul) + 1
        raise SignalFileError(f"{path}: no numeric data can be read: it holds NUL bytes (first on line {line}), so it "
                              "is not a text recording or a damaged one (a UTF-16 export? save it as UTF-8)")
    return data


def _gunzip(path: Path) -> bytes:
    """Decompress in pieces, stopping at :data:`MAX_FILE_BYTES` (``gzip.BadGzipFile`` is an OSError)."""
    parts, total = [], 0
    with gzip.open(path, "rb") as stream:
        while chunk := stream.read(_CHUNK):
            total += len(chunk)
            if total > MAX_FILE_BYTES:
                raise SignalFileError(f"{path}: decompresses to more than {MAX_FILE_BYTES >> 20} MiB, more than coach "
                                      "reads at once; cut the recording into parts")
            parts.append(chunk)
    return b"".join(parts)


def check_unpacked_size(npz, path: Path) -> None:
    """Refuse an ``.npz`` whose arrays unpack to more than :data:`MAX_FILE_BYTES` (closing it)."""
    unpacked = sum(member.file_size for member in npz.zip.infolist())
    if unpacked > MAX_FILE_BYTES:
        npz.close()
        raise SignalFileError(f"{path}: unpacks to {unpacked / 2**20:.0f} MiB, more than the {MAX_FILE_BYTES >> 20} MiB "
                              "coach reads at once; cut the recording into parts")


def is_rate(value: object) -> bool:
    """A sample rate coach can use: a finite number of Hz above 0, at most :data:`MAX_RATE_HZ`."""
    try:
        rate = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError, OverflowError):
        return False
    return math.isfinite(rate) and 0 < rate <= MAX_RATE_HZ


def check_magnitudes(values: np.ndarray, path: Path, names: list[str] | None, fs_hz: float,
                     first_row: int = 0) -> None:
    """Refuse a finite sample too large to be a signal (1e308 would overflow the envelope);
    ``first_row`` is the row of ``values[0]`` in the file (a file read in pieces)."""
    too_big = np.abs(values) > MAX_SAMPLE_MAGNITUDE
    if too_big.any():
        at, col = (int(i) for i in np.argwhere(too_big)[0])
        row = first_row + at
        label = f"'{names[col]}'" if names else str(col + 1)
        raise SignalFileError(f"{path}: column {label} holds {values[at, col]:g} at {row / fs_hz:.3f} s (sample {row}), "
                              f"not a signal value (at most {MAX_SAMPLE_MAGNITUDE:g} in any unit); fix or trim the file")
