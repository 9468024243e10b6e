"""Moving sums and the moving-RMS envelope, computed causally, chunk by chunk, with exact chunk
invariance."""

from __future__ import annotations

import numpy as np


class MovingSum:
    """Sum over the last ``window`` samples of each channel (channels-first arrays).

    Uses the van Herk / Gil-Werman block decomposition: the stream is cut into fixed blocks of
    ``window`` samples counted from the first sample; each window sum is a prefix sum of the
    current block plus a suffix sum of the previous one. Every output is built from the same
    additions in the same order however the input is chunked, so chunked output is bit-identical
    to one call, there is no running-sum drift on long recordings, and the cost is O(n) per
    call. Before ``window`` samples have been seen the missing history counts as zeros.
    """

    def __init__(self, window: int, n_channels: int):
        if window < 1:
            raise ValueError(f"window must be at least one sample, got {window}")
        self.window = window
        self._block = np.zeros((n_channels, window))
        self._filled = 0
        self._prefix = np.zeros(n_channels)
        self._prev_suffix = np.zeros((n_channels, window + 1))

    def process(self, values: np.ndarray) -> np.ndarray:
        """Window sums of ``values`` (shape ``(channels, n)``), continuing from the previous call."""
        w = self.window
        n_ch, n = values.shape
        sums = np.empty((n_ch, n))
        pos = 0
        while pos < n:
            start = self._filled
            take = min(n - pos, w - start)
            # Column 0 carries the block's running sum, so the cumulative sum continues it exactly.
            run = np.empty((n_ch, take + 1))
            run[:, 0] = self._prefix
            run[:, 1:] = values[:, pos : pos + take]
            self._block[:, start : start + take] = run[:, 1:]
            run.cumsum(axis=1, out=run)
            np.add(run[:, 1:], self._prev_suffix[:, start + 1 : start + 1 + take], out=sums[:, pos : pos + take])
            self._filled += take
            self._prefix = run[:, -1].copy()
            if self._filled == w:
                self._prev_suffix[:, :w] = self._block[:, ::-1].cumsum(axis=1)[:, ::-1]
                self._filled = 0
                self._prefix[:] = 0.0
            pos += take
        return sums


class MovingRms:
    """RMS over the last ``window`` samples of each channel (channels-first arrays): the square
    root of a :class:`MovingSum` of the squares over ``window``, so chunk-invariant bit for bit.
    Before ``window`` samples have been seen the missing history counts as zeros. Rectification
    is implicit: the RMS of ``|x|`` equals the RMS of ``x``.
    """

    def __init__(self, window: int, n_channels: int):
        if window < 1:
            raise ValueError(f"envelope window must be at least one sample, got {window}")
        self.window = window
        self._sums = MovingSum(window, n_channels)

    def process(self, x: np.ndarray) -> np.ndarray:
        """Envelope of ``x`` (shape ``(channels, n)``), continuing from the previous call."""
        sums = self._sums.process(np.multiply(x, x))
        sums /= self.window
        return np.sqrt(sums, out=sums)
