"""Readers for recorded sEMG files: delimited text (optionally gzipped), ``.npy``/``.npz``, and the
two UCI data sets in ``../shared/data`` (recognised by their folder layout).

Rules every reader follows (one-line :class:`SignalFileError` otherwise):

- Only regular files of bounded size, decompressed size and sample values are read, text without
  NUL bytes, a UTF-8 byte-order mark dropped (:mod:`~coach_tui.sources.signal_file_limits`).

- Text (parsed by ``delimited_text``): non-numeric lines at the top are a header (the last one
  gives column names when it has one name per column); the delimiter (tab, semicolon, comma, whitespace) is taken from the first data
  row; ``;`` with ``,`` inside numbers means decimal commas. CRLF, latin-1, a trailing delimiter on
  every row and trailing rows holding only delimiters are tolerated. Anything else is strict: a row
  with another column count or a non-numeric cell is an error naming its line, and so is a header
  row of column names that names another number of columns than the data rows have (decimal
  commas in a comma-separated file).
- A first column named like ``time``/``t``/``timestamp`` (seconds) or ``time_ms`` (milliseconds)
  is moved to ``aux["time"]`` and gives the sample rate when none is passed. It must step evenly:
  a step more than 1.5 × the median step is a gap (samples missing), refused with where it is —
  spreading the samples over the gap would silently lower the rate (a 1 s gap in 10 s at 1 kHz
  reads 900 Hz). With an explicit rate the column is only kept aside.
- Missing values (empty cells, NaN, ±inf) in the samples are always an error naming the column and
  the time of the first missing run: the loader never invents samples.
- UCI physical action (``subNN/{Normal,Aggressive}/<Action>.txt[.gz]``): 1000 Hz, ≈µV, clips at
  ±4000, 8 bilateral channels.
- UCI lower limb (``N_TXT/<k>N<ex>.txt[.gz]``, ``A_TXT/<k>A<ex>.txt[.gz]``): 1000 Hz, mV, four EMG
  columns, the knee angle in ``aux["angle"]``, a sixth column dropped. Trailing rows whose EMG cells
  are empty (the angle runs on) are dropped, and in this layout only a number with a trailing unit
  letter (the stray ``7.5V``) is read as that number. Missing angle cells (the last row of a few
  files) are interpolated, held at the ends: the angle is itself resampled from 50 Hz.

An explicit ``fs_hz`` always wins over what the file or layout says.
"""

from __future__ import annotations

import math
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from coach_tui.sources.delimited_text import TIME_SCALE, find_data_start, parse_table, rate_from_time, unit_in
from coach_tui.sources.signal_file_limits import (
    SignalFileError,
    check_magnitudes,
    check_regular_file,
    check_unpacked_size,
    is_rate,
    read_text_bytes,
)

UCI_FS_HZ = 1000.0

PHYSICAL_ACTION_HINTS: list[tuple[str, str | None]] = [
    ("biceps", "R"),
    ("triceps", "R"),
    ("biceps", "L"),
    ("triceps", "L"),
    ("quadriceps", "R"),
    ("hamstrings", "R"),
    ("quadriceps", "L"),
    ("hamstrings", "L"),
]
PHYSICAL_ACTION_CLIP = 4000.0

LOWER_LIMB_HINTS: list[tuple[str, str | None]] = [
    ("rectus_femoris", None),
    ("biceps_femoris", None),
    ("vastus_medialis", None),
    ("semitendinosus", None),
]

_NUMBER_WITH_UNIT = re.compile(rb"(?<=\d)[A-Za-z]+(?=[ \t\r\n]|$)", re.MULTILINE)
_PHYSICAL_ACTION_NAME = re.compile(r"[A-Za-z]+\.txt(\.gz)?")
_LOWER_LIMB_NAME = re.compile(r"\d+([NA])[a-z]+\.txt(\.gz)?", re.IGNORECASE)


@dataclass(frozen=True)
class SignalFile:
    """A whole recording in memory.

    ``samples`` is float64 ``(n, channels)`` in ``units`` ("µV", "mV", "counts" or "unknown").
    ``channel_hints`` gives (muscle, side "L"/"R"/None) per column when the layout is known;
    ``clip_level`` the known saturation magnitude; ``aux`` non-EMG columns sampled alongside
    (``"angle"``, ``"time"``), each of length ``n``.
    """

    samples: np.ndarray
    fs_hz: float
    units: str
    source: str
    column_names: list[str] | None = None
    channel_hints: list[tuple[str, str | None]] | None = None
    clip_level: float | None = None
    aux: dict[str, np.ndarray] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.samples.ndim != 2:
            raise ValueError(f"samples must be 2-D (n, channels), got shape {self.samples.shape}")
        if not (math.isfinite(self.fs_hz) and self.fs_hz > 0):
            raise ValueError(f"fs_hz must be a positive number, got {self.fs_hz}")
        for label, per_column in (("column_names", self.column_names),
                                  ("channel_hints", self.channel_hints)):
            if per_column is not None and len(per_column) != self.channels:
                raise ValueError(f"{label} has {len(per_column)} entries for "
                                 f"{self.channels} channels")

    @property
    def channels(self) -> int:
        """Number of EMG columns."""
        return int(self.samples.shape[1])

    @property
    def n_samples(self) -> int:
        """Number of sample rows."""
        return int(self.samples.shape[0])

    @property
    def duration_s(self) -> float:
        """Length in seconds."""
        return self.n_samples / self.fs_hz


def load_signal_file(path: str | Path, fs_hz: float | None = None) -> SignalFile:
    """Read a recording file, choosing the reader from the suffix and the folder layout.

    ``fs_hz`` sets or overrides the sample rate. Raises :class:`SignalFileError`.
    """
    path = Path(path)
    if fs_hz is not None and not is_rate(fs_hz):
        raise SignalFileError(f"{path}: sample rate must be a positive number of Hz up to 1000000, got {fs_hz!r}")
    check_regular_file(path)
    suffix = path.suffix.lower()
    if suffix in (".npy", ".npz"):
        return _load_numpy(path, fs_hz)
    if (path.parent.name in ("Normal", "Aggressive") and _PHYSICAL_ACTION_NAME.fullmatch(path.name)
            and re.fullmatch(r"sub\d+", path.parent.parent.name)):
        return _load_physical_action(path, fs_hz)
    match = _LOWER_LIMB_NAME.fullmatch(path.name)
    if match and path.parent.name.upper() == f"{match.group(1).upper()}_TXT":
        return _load_lower_limb(path, fs_hz)
    return _load_text(path, fs_hz)


# --- formats ---------------------------------------------------------------------------------


def _load_text(path: Path, fs_hz: float | None) -> SignalFile:
    data = read_text_bytes(path)
    header, offset, first_line, delim = find_data_start(data, path)
    values, names = parse_table(data[offset:], delim, first_line, header, path)
    aux: dict[str, np.ndarray] = {}
    scale = TIME_SCALE.get(names[0].strip().lower()) if names else None
    if scale is not None and values.shape[1] > 1:
        time = values[:, 0] * scale
        values, names = values[:, 1:], names[1:]
        aux["time"] = time
        if fs_hz is None:
            fs_hz = rate_from_time(time, path, first_line)
    if fs_hz is None:
        raise SignalFileError(f"{path}: sample rate unknown: pass --fs HZ")
    units = {unit_in(name) for name in names} if names else {None}
    unit = units.pop() if len(units) == 1 else None
    return _finish(values, fs_hz, unit or "unknown", path, names, aux=aux)


def _load_numpy(path: Path, fs_hz: float | None) -> SignalFile:
    try:
        loaded = np.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as exc:
        raise SignalFileError(f"{path}: not a readable NumPy file ({exc})") from exc
    if not isinstance(loaded, np.ndarray):
        check_unpacked_size(loaded, path)
    units, names = "unknown", None
    if isinstance(loaded, np.ndarray):
        array = loaded
    else:
        with loaded:
            keys = set(loaded.files)
            key = next((k for k in ("samples", "emg") if k in keys), None)
            if key is None:
                numeric = [k for k in keys if loaded[k].ndim and loaded[k].dtype.kind in "biuf"]
                if len(numeric) != 1:
                    raise SignalFileError(f"{path}: no array named 'samples' or 'emg' among "
                                         f"{sorted(keys)}")
                key = numeric[0]
            array = loaded[key]
            rate_key = next((k for k in ("fs_hz", "fs") if k in keys), None)
            if fs_hz is None and rate_key is not None:
                fs_hz = loaded[rate_key][()]
                if not is_rate(fs_hz):
                    raise SignalFileError(f"{path}: '{rate_key}' must be a positive rate in Hz, "
                                         f"got {fs_hz!r}")
            if "units" in keys:
                units = str(loaded["units"])
            if "column_names" in keys:
                names = [str(name) for name in loaded["column_names"]]
    if array.dtype.kind not in "biuf":
        raise SignalFileError(f"{path}: samples have dtype {array.dtype}, expected numbers")
    if array.ndim == 1:
        array = array[:, None]
    if array.ndim != 2:
        raise SignalFileError(f"{path}: samples have shape {array.shape}, expected (n, channels)")
    if array.shape[1] > array.shape[0]:
        raise SignalFileError(f"{path}: shape {array.shape} looks like (channels, n); "
                             "save the array as (n, channels)")
    if fs_hz is None:
        raise SignalFileError(f"{path}: sample rate unknown: pass --fs HZ")
    if names is not None and len(names) != array.shape[1]:
        raise SignalFileError(f"{path}: {len(names)} column_names for {array.shape[1]} columns")
    return _finish(array.astype(np.float64), fs_hz, units, path, names)


def _load_physical_action(path: Path, fs_hz: float | None) -> SignalFile:
    data = read_text_bytes(path)
    header, offset, first_line, delim = find_data_start(data, path)
    values, _ = parse_table(data[offset:], delim, first_line, header, path)
    if values.shape[1] != len(PHYSICAL_ACTION_HINTS):
        raise SignalFileError(f"{path}: {values.shape[1]} columns, the UCI physical-action layout "
                             f"has {len(PHYSICAL_ACTION_HINTS)}")
    names = [f"{muscle}_{side}" for muscle, side in PHYSICAL_ACTION_HINTS]
    return _finish(values, fs_hz or UCI_FS_HZ, "µV", path, names,
                   hints=PHYSICAL_ACTION_HINTS, clip_level=PHYSICAL_ACTION_CLIP)


def _load_lower_limb(path: Path, fs_hz: float | None) -> SignalFile:
    data = read_text_bytes(path)
    header, offset, first_line, _ = find_data_start(data, path)
    lines = data[offset:].split(b"\n")
    while lines and not any(cell.strip() for cell in lines[-1].split(b"\t")[:4]):
        lines.pop()  # gait files end with rows where only the angle continues
    body = _NUMBER_WITH_UNIT.sub(b"", b"\n".join(lines))  # the stray "7.5V"
    values, _ = parse_table(body, "\t", first_line, header, path)
    if values.shape[1] not in (5, 6):
        raise SignalFileError(f"{path}: {values.shape[1]} columns, the UCI lower-limb layout has "
                             "4 EMG columns, the knee angle and an optional event column")
    angle, known = values[:, 4].copy(), np.isfinite(values[:, 4])
    if not known.any():
        raise SignalFileError(f"{path}: the knee-angle column (5) is empty")
    if not known.all():  # e.g. the last row of some files; the angle is 50 Hz resampled anyway
        angle = np.interp(np.arange(len(angle)), np.flatnonzero(known), angle[known])
    names = [muscle for muscle, _ in LOWER_LIMB_HINTS]
    return _finish(values[:, :4], fs_hz or UCI_FS_HZ, "mV", path, names,
                   hints=LOWER_LIMB_HINTS, aux={"angle": angle})


def _finish(values: np.ndarray, fs_hz: float, units: str, path: Path,
            names: list[str] | None, *, hints: list[tuple[str, str | None]] | None = None,
            clip_level: float | None = None, aux: dict[str, np.ndarray] | None = None) -> SignalFile:
    """Check for missing samples and build the SignalFile."""
    if values.shape[0] == 0:
        raise SignalFileError(f"{path}: no samples")
    if not is_rate(fs_hz):
        raise SignalFileError(f"{path}: the sample rate {fs_hz!r} Hz is not one coach can use (above 0, at most "
                              "1000000): pass --fs HZ")
    bad = ~np.isfinite(values)
    if bad.any():
        col = int(np.argmax(bad.any(axis=0)))
        start = int(np.argmax(bad[:, col]))
        good_after = np.flatnonzero(~bad[start:, col])
        run = int(good_after[0]) if good_after.size else values.shape[0] - start
        label = f"'{names[col]}'" if names else str(col + 1)
        raise SignalFileError(f"{path}: column {label} has {run} missing value(s) from "
                             f"{start / fs_hz:.3f} s (sample {start}); gaps are not filled, "
                             "fix or trim the file")
    check_magnitudes(values, path, names, fs_hz)
    return SignalFile(samples=values, fs_hz=float(fs_hz), units=units, source=str(path),
                     column_names=names, channel_hints=hints, clip_level=clip_level,
                     aux=aux or {})
