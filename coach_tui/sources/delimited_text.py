"""Delimited text tables of samples, as every text reader of ``signal_files`` and ``signal_stream``
parses them: the header lines above the first numeric row (the last names the columns when it
names one per column), the delimiter taken from that row (tab, semicolon, comma, whitespace; ``;``
with ``,`` inside numbers means decimal commas), a trailing delimiter tolerated, every row checked
for its column count and numbers (an error naming the line); a time column's sample rate, its gaps
refused naming where; the unit named in a column's name.
"""

from __future__ import annotations

import io
import math
import re
from pathlib import Path

import numpy as np

from coach_tui.sources.signal_file_limits import SignalFileError

#: Lines searched for the first numeric row before giving up.
MAX_HEADER_LINES = 1000
#: A first column of these names (lower case) is the time, in seconds times the value.
TIME_SCALE = {
    "time": 1.0, "t": 1.0, "time_s": 1.0, "time (s)": 1.0, "time[s]": 1.0, "seconds": 1.0,
    "timestamp": 1.0, "time_ms": 1e-3, "time (ms)": 1e-3, "time[ms]": 1e-3, "ms": 1e-3,
}
_UNIT_IN_NAME = re.compile(r"(?<![A-Za-z])(µV|μV|uV|mV)(?![A-Za-z])")


def _numeric_delimiter(line: str) -> str | None | bool:
    """The delimiter that splits ``line`` into numbers only, or False if the line is not data."""
    for delim in ("\t", ";", ",", None):
        if delim is not None and delim not in line:
            continue
        cells = [c for c in _cells(line, delim) if c]
        if delim == ";":
            cells = [c.replace(",", ".") for c in cells]
        if cells and all(_is_number(c) for c in cells):
            return delim
    return False


def _strip(line: str, delim: str | None) -> str:
    """Strip surrounding whitespace, except a tab delimiter (it may bound an empty cell)."""
    return line.strip(" \t\r\n\f\v".replace(delim or "", ""))


def _cells(line: str, delim: str | None) -> list[str]:
    return [cell.strip() for cell in line.split(delim)]


def _is_number(token: str) -> bool:
    try:
        float(token)
    except ValueError:
        return False
    return True


def find_data_start(data: bytes, path: Path) -> tuple[list[str], int, int, str | None]:
    """Return (non-blank header lines, byte offset and 1-based line number of the first numeric
    row, its delimiter)."""
    header: list[str] = []
    pos = 0
    for line_no in range(1, MAX_HEADER_LINES + 1):
        if pos >= len(data):
            break
        end = data.find(b"\n", pos)
        end = len(data) if end < 0 else end + 1
        raw = data[pos:end]
        try:
            line = raw.decode("utf-8").strip()
        except UnicodeDecodeError:
            line = raw.decode("latin-1").strip()
        delim = _numeric_delimiter(line)
        if delim is not False:
            return header, pos, line_no, delim
        if line.strip(" \t,;"):
            header.append(line)
        pos = end
    if not data.strip():
        raise SignalFileError(f"{path}: file is empty")
    where = "in the file" if pos >= len(data) else f"in the first {MAX_HEADER_LINES} lines"
    raise SignalFileError(f"{path}: no numeric data rows {where}")


def parse_table(body: bytes, delim: str | None, first_line: int, header: list[str],
                 path: Path, last: bool = True) -> tuple[np.ndarray, list[str] | None]:
    """Parse the numeric rows; return (float64 (n, columns), column names from the header).

    ``last``: the body ends the file (trailing rows of empty cells are dropped), else it is a piece
    of a file read in pieces (``signal_stream``)."""
    content_end = len(body.rstrip(b" \t\r\n\f\v" + (delim or "").encode()))
    if not content_end:
        raise SignalFileError(f"{path}: no numeric data rows")
    line_end = body.find(b"\n", content_end)
    if last:
        body = body[:line_end] if line_end >= 0 else body  # drop trailing rows of empty cells
    if delim == ";" and b"," in body:
        body = body.replace(b",", b".")
    newline = body.find(b"\n")
    first_row = _strip(body[: newline if newline >= 0 else len(body)].decode("latin-1"), delim)
    trailing_delim = delim is not None and delim.strip() != "" and first_row.endswith(delim)
    if trailing_delim:
        first_row = first_row[: -len(delim)]
    ncols = len(_cells(first_row, delim))
    try:
        values = np.loadtxt(io.BytesIO(body), delimiter=delim, comments=None, ndmin=2,
                            dtype=np.float64, encoding="latin-1",
                            usecols=range(ncols) if trailing_delim else None)
    except ValueError:
        values = _parse_slowly(body, delim, trailing_delim, ncols, first_line, path)
    names = None
    if header:
        last = header[-1]
        if trailing_delim and last.endswith(delim):
            last = last[: -len(delim)]
        cells = [c.strip("\"'") for c in _cells(last, delim)]
        if len(cells) > 1 and all(c and not _is_number(c) for c in cells):
            if len(cells) != ncols:
                hint = " (decimal commas in a comma-separated file? use ; between columns or . for decimals)" \
                    if delim == "," and ncols > len(cells) else ""
                raise SignalFileError(f"{path}: the header names {len(cells)} columns but the data rows have "
                                      f"{ncols}{hint}")
            names = cells
    return values, names


def _parse_slowly(body: bytes, delim: str | None, trailing_delim: bool, ncols: int,
                  first_line: int, path: Path) -> np.ndarray:
    """Line-by-line parse: empty cells become NaN, anything malformed raises with its line."""
    rows: list[list[float]] = []
    for line_no, raw in enumerate(body.split(b"\n"), start=first_line):
        line = _strip(raw.decode("latin-1"), delim)
        if not line:
            continue
        if trailing_delim and line.endswith(delim):
            line = line[: -len(delim)]
        cells = _cells(line, delim)
        if len(cells) != ncols:
            raise SignalFileError(f"{path}: line {line_no} has {len(cells)} columns, the first data "
                                 f"row (line {first_line}) has {ncols}")
        row = []
        for col, cell in enumerate(cells, start=1):
            try:
                row.append(float(cell) if cell else math.nan)
            except ValueError:
                raise SignalFileError(f"{path}: line {line_no}, column {col}: {cell!r} is not a "
                                     "number") from None
        rows.append(row)
    return np.array(rows, dtype=np.float64).reshape(-1, ncols)


def rate_from_time(time: np.ndarray, path: Path, first_line: int) -> float:
    """The sample rate of an evenly stepping time column; a gap or a step back is refused."""
    span = float(time[-1] - time[0]) if len(time) > 1 else 0.0
    if not (np.all(np.isfinite(time)) and span > 0 and np.all(np.diff(time) > 0)):
        raise SignalFileError(f"{path}: the time column does not increase steadily: pass --fs HZ")
    refuse_gaps(time, path, first_line)
    return (len(time) - 1) / span


def refuse_gaps(time: np.ndarray, path: Path, first_line: int) -> None:
    """Refuse an increasing time column with a step over 1.5 × its median step, naming where."""
    steps = np.diff(time)
    typical = float(np.median(steps))
    gaps = np.flatnonzero(steps > 1.5 * typical)
    if gaps.size:
        i = int(gaps[0])
        missing = round(steps[i] / typical) - 1
        raise SignalFileError(
            f"{path}: the time column jumps from {time[i]:.4g} s to {time[i + 1]:.4g} s at line {first_line + i + 1} "
            f"(its steps are {typical * 1000:.3g} ms elsewhere): about {missing} samples are missing there"
            f"{f' and at {gaps.size - 1} more places' if gaps.size > 1 else ''}. Split the file at the gap, or "
            "remove the time column and pass --fs HZ to treat the samples as continuous")


def unit_in(name: str) -> str | None:
    """The unit a column name gives ("µV" or "mV"), or None."""
    match = _UNIT_IN_NAME.search(name)
    if match is None:
        return None
    return "mV" if match.group(1) == "mV" else "µV"
