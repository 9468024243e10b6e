"""A stream of sample rows kept on disk between two passes over a recording (bounded memory)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np


class Spool:
    """Rows of ``width`` values written once, in order, then read back a chunk at a time.

    A temporary file in ``folder``: a recording of hours costs disk, not memory. Values are kept
    exactly (their dtype is ``dtype``).
    """

    def __init__(self, folder: Path, name: str, width: int, dtype: type = np.float64):
        self.path = Path(folder) / name
        self.width = width
        self.dtype = np.dtype(dtype)
        self.rows = 0
        self._file = self.path.open("wb")

    def write(self, rows: np.ndarray) -> None:
        """Append ``(n, width)`` rows."""
        self._file.write(np.ascontiguousarray(rows, dtype=self.dtype).tobytes())
        self.rows += rows.shape[0]

    def read(self, chunk_rows: int, start: int = 0) -> Iterator[np.ndarray]:
        """The rows from row ``start`` on, ``chunk_rows`` at a time (the last chunk may be shorter)."""
        self._file.flush()
        with self.path.open("rb") as source:
            source.seek(start * self.width * self.dtype.itemsize)
            while True:
                values = np.fromfile(source, dtype=self.dtype, count=chunk_rows * self.width)
                if not values.size:
                    return
                yield values.reshape(-1, self.width)

    def close(self) -> None:
        """Close and delete the file."""
        self._file.close()
        self.path.unlink(missing_ok=True)
