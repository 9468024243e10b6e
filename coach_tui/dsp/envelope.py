"""Moving-RMS envelope computed causally, chunk by chunk, with exact chunk invariance."""

from __future__ import annotations

import numpy as np


class MovingRms:
    """RMS over the last ``window`` samples of each channel (channels-first arrays).

    Uses the van Herk / Gil-Werman block decomposition: the stream is cut into fixed blocks of
    ``window`` samples counted from the first sample; each window sum is a prefix sum of the
    current block plus a suffix sum of the previous one. Every output is built from the same
    additions in the same order however the input is chunked, so chunked output is bit-identical
    to one call, there is no running-sum drift on long recordings, and the cost is O(n) per
    call. Before ``window`` samples have been seen the missing history counts as zeros.
    Rectification is implicit: the RMS of ``|x|`` equals the RMS of ``x``.
    """

    def __init__(self, window: int, n_channels: int):
        if window < 1:
            raise ValueError(f"envelope window must be at least one sample, got {window}")
        self.window = window
        self._block = np.zeros((n_channels, window))
        self._filled = 0
        self._prefix = np.zeros((n_channels, 1))
        self._prev_suffix = np.zeros((n_channels, window + 1))

    def process(self, x: np.ndarray) -> np.ndarray:
        """Envelope of ``x`` (shape ``(channels, n)``), continuing from the previous call."""
        w = self.window
        squares = x * x
        sums = np.empty_like(squares)
        pos, n = 0, squares.shape[1]
        while pos < n:
            take = min(n - pos, w - self._filled)
            piece = squares[:, pos : pos + take]
            prefix = np.cumsum(np.concatenate([self._prefix, piece], axis=1), axis=1)[:, 1:]
            start = self._filled
            sums[:, pos : pos + take] = prefix + self._prev_suffix[:, start + 1 : start + 1 + take]
            self._block[:, start : start + take] = piece
            self._filled += take
            self._prefix = prefix[:, -1:]
            if self._filled == w:
                self._prev_suffix[:, :w] = np.cumsum(self._block[:, ::-1], axis=1)[:, ::-1]
                self._filled = 0
                self._prefix = np.zeros_like(self._prefix)
            pos += take
        sums /= w
        return np.sqrt(sums, out=sums)
