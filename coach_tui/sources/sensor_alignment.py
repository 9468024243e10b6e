"""Keeps the sensors of a set in step when one of them stops delivering.

A set's analysis lines the sensors up by sample count since the set started, so a sensor that
delivers nothing would hold everyone back: the set's clock and the reps of every muscle wait for it.
The aligner pads a sensor that has fallen behind with a marked gap — a block of no samples whose
``gap_before`` counts the samples it stands for — up to the others: at once while its link is
reported lost, else once it lags more than ``max_lag`` samples (a silent link not declared lost
yet). When the sensor delivers again, what it reports lost is reduced by the padding already given;
samples it delivers for a stretch already padded are dropped (counted in ``dropped``).

The blocks it returns are numbered by the set's own sample index (``first_index`` counts samples
since the set began, the same count on every sensor, gaps included), so they say exactly where each
gap lies; they are what the set stores and analyses, and a re-analysis of the stored set meets the
same gaps at the same samples.
"""

from __future__ import annotations

import numpy as np

from coach_tui.sources.block import Block


class SensorAligner:
    """Pads lagging sensors with gaps and fits a returning sensor's blocks after its padding."""

    def __init__(self, sensors: dict[str, int], max_lag: int):
        """``sensors``: each sensor id with its channel count; ``max_lag``: samples a sensor may lag
        the leading one before it is padded although its link is not reported lost."""
        self.max_lag = max_lag
        self._channels = dict(sensors)
        #: Samples of each sensor so far in the set (delivered, reported lost and padded).
        self.position = dict.fromkeys(sensors, 0)
        self._padded = dict.fromkeys(sensors, 0)  # padding not yet matched by samples the sensor reported lost
        self._seen: set[str] = set()
        #: Samples dropped because they arrived for a stretch already padded.
        self.dropped = dict.fromkeys(sensors, 0)

    def add(self, block: Block, lost: frozenset[str] = frozenset()) -> list[Block]:
        """Take one block; return what to store and analyse, in order: the block as fitted after
        any padding (or nothing, when all of it falls in a padded stretch), then padding for the
        sensors left behind (those in ``lost`` up to the leader)."""
        out = []
        fitted = self._fit(block)
        if fitted is not None:
            out.append(fitted)
        leader = max(self.position.values())
        for sensor_id, position in self.position.items():
            target = leader if sensor_id in lost else leader - self.max_lag
            if sensor_id != block.sensor_id and position < target:
                out.append(self._pad(sensor_id, target - position, block.t_host))
        return out

    def _fit(self, block: Block) -> Block | None:
        sid = block.sensor_id
        gap, padded = block.gap_before, self._padded[sid]
        if sid not in self._seen:
            # Its first block in the set: what it lost before the set began is no gap of the set.
            self._seen.add(sid)
            gap = padded
        if gap >= padded:  # the sensor reports at least the stretch already padded as lost
            self._padded[sid] = 0
            return self._placed(block, gap - padded, block.samples)
        overlap = padded - gap  # samples of this block fall in the padded stretch
        drop = min(overlap, block.n_samples)
        self.dropped[sid] += drop
        self._padded[sid] = overlap - drop
        if drop == block.n_samples:
            return None
        return self._placed(block, 0, block.samples[drop:])

    def _placed(self, block: Block, gap: int, samples: np.ndarray) -> Block:
        sid = block.sensor_id
        first = self.position[sid] + gap
        self.position[sid] = first + samples.shape[0]
        return Block(sid, first, samples, block.t_host, gap, block.resync)

    def _pad(self, sensor_id: str, n: int, t_host: float) -> Block:
        self._padded[sensor_id] += n
        self.position[sensor_id] += n
        empty = np.zeros((0, self._channels[sensor_id]), dtype=np.float32)
        return Block(sensor_id, self.position[sensor_id], empty, t_host, n)
