"""A channel's rest level as a set goes on: its first quiet stretch, replaced by a clearly quieter one."""

from __future__ import annotations

from collections import deque

import numpy as np

from coach_tui.dsp.onsets import RestBaseline

#: The envelope is summed in pieces of this length; rest windows are whole numbers of pieces.
PIECE_MS = 100.0


class RestLevel:
    """One channel's rest level (mean and SD of its envelope over ``window_ms``), kept as it streams.

    The level is ``known`` (a calibration, the quietest moment before the set) or else the first
    whole window of the stream (until then, the pieces seen so far stand in). A later window
    replaces it when its mean is below the level's mean by more than ``margin`` × the level's SD —
    as far below rest as an onset is above it. So a set started mid-movement, or under a held
    load, gets the client's rest once the muscle relaxes, while noise alone never drags the level
    down (the quietest of many windows at rest would sit below a typical one, and onsets would
    come early). ``at(index)`` answers as of a sample index (from pieces complete by then), so
    the answer does not depend on how the stream was chunked; ``forget_before`` bounds memory.
    """

    def __init__(self, fs_hz: float, window_ms: float, margin: float, known: RestBaseline | None = None):
        self._piece = max(1, round(PIECE_MS * fs_hz / 1000))
        self._margin = margin
        self._buffer = np.zeros(self._piece)
        self._filled = 0
        self._seen = 0
        self._recent: deque[tuple[float, float]] = deque(maxlen=max(1, round(window_ms / PIECE_MS)))
        self._level = known
        self._standing_in = known is None
        #: (first sample index it holds for, rest level), oldest first.
        self._changes: list[tuple[int, RestBaseline]] = [(0, known)] if known is not None else []

    def add(self, values: np.ndarray) -> None:
        """Take the next envelope values (1-D)."""
        pos = 0
        while pos < values.shape[0]:
            take = min(values.shape[0] - pos, self._piece - self._filled)
            self._buffer[self._filled : self._filled + take] = values[pos : pos + take]
            self._filled += take
            pos += take
            if self._filled == self._piece:
                self._filled = 0
                self._seen += self._piece
                self._recent.append((float(self._buffer.sum()), float(self._buffer @ self._buffer)))
                self._piece_done()

    def _piece_done(self) -> None:
        n = len(self._recent) * self._piece
        mean = sum(p[0] for p in self._recent) / n
        window = RestBaseline(mean, float(np.sqrt(max(0.0, sum(p[1] for p in self._recent) / n - mean * mean))))
        whole = len(self._recent) == self._recent.maxlen
        if self._standing_in:
            self._standing_in = not whole
        elif window.mean >= self._level.mean - self._margin * self._level.sd or not whole:
            return
        self._level = window
        self._changes.append((self._seen, window))

    def at(self, index: int) -> RestBaseline:
        """The rest level as of sample ``index`` (before the first piece: the known level, else zero)."""
        found = self._changes[0][1] if self._changes else RestBaseline(0.0, 0.0)
        for since, level in self._changes:
            if since > index:
                break
            found = level
        return found

    def forget_before(self, index: int) -> None:
        """Nothing before sample ``index`` will be asked for again."""
        while len(self._changes) > 1 and self._changes[1][0] <= index:
            self._changes.pop(0)
