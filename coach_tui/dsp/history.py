"""The recent part of a stream of values, addressed by absolute sample index, in bounded memory."""

from __future__ import annotations

import numpy as np


class StreamHistory:
    """An append-only stream of floats that keeps only what its reader still needs.

    Values are addressed by their index since the stream began; ``forget_before`` drops what no
    reader will ask for again, so memory follows what is kept, not how long the stream has run.
    Appending costs amortised O(n) (capacity doubles; forgotten values are compacted away).
    ``dtype`` float32 (7 significant digits, far finer than any sEMG amplitude) halves what a long
    held contraction costs a set's analysis.
    """

    def __init__(self, dtype: type = np.float64):
        self._data = np.zeros(1024, dtype=dtype)
        self._offset = 0  # absolute index of _data[0]
        self._used = 0  # values held in _data
        self._keep = 0  # absolute index of the first value kept

    @property
    def size(self) -> int:
        """Values appended since the stream began (the next value's index)."""
        return self._offset + self._used

    @property
    def first(self) -> int:
        """Index of the first value still held."""
        return self._keep

    def extend(self, values: np.ndarray) -> None:
        """Append ``values`` (1-D)."""
        n = values.shape[0]
        if self._used + n > self._data.shape[0]:
            skip = self._keep - self._offset
            held = self._used - skip
            capacity = self._data.shape[0]
            if 2 * (held + n) > capacity:  # half full after growing: amortised O(1), at most 2× what is held
                capacity = 2 * (held + n)
            data = np.zeros(capacity, dtype=self._data.dtype) if capacity != self._data.shape[0] else self._data
            data[:held] = self._data[skip : self._used]
            self._data, self._offset, self._used = data, self._keep, held
        self._data[self._used : self._used + n] = values
        self._used += n

    def view(self, start: int, end: int | None = None) -> np.ndarray:
        """Values ``[start, end)`` (absolute indices; ``end`` defaults to the newest); ``start`` must
        not be before ``first``."""
        if start < self._keep:
            raise IndexError(f"value {start} was forgotten (history starts at {self._keep})")
        end = self.size if end is None else min(end, self.size)
        return self._data[start - self._offset : max(start, end) - self._offset]

    def forget_before(self, index: int) -> None:
        """Drop values before ``index`` (they will not be asked for again)."""
        self._keep = max(self._keep, min(index, self.size))
