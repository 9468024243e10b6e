"""Joins each sensor's consecutive small blocks into fewer, longer ones.

Sensors deliver a few to a few dozen samples per packet (a Myo two, the simulated kit 20 ms). The
signal chain is chunk-invariant (see ``coach_tui.dsp.filters``), so processing ten packets at once
gives bit-identical numbers at a tenth of the per-call cost. A block with samples lost before it or
a resync starts a new run, so gaps stay marked exactly where they were.
"""

from __future__ import annotations

import numpy as np

from coach_tui.sources.block import Block


class BlockCoalescer:
    """Holds each sensor's contiguous blocks until ``max_samples`` or ``flush``."""

    def __init__(self, max_samples: int):
        if max_samples < 1:
            raise ValueError(f"BlockCoalescer.max_samples must be ≥ 1, got {max_samples}")
        self.max_samples = max_samples
        self._runs: dict[str, list[Block]] = {}
        self._sizes: dict[str, int] = {}

    def add(self, block: Block) -> list[Block]:
        """Take one block; return the joined blocks that are complete (possibly none)."""
        run = self._runs.get(block.sensor_id)
        done: list[Block] = []
        if run and (block.gap_before or block.resync or block.first_index != run[-1].end_index):
            done.append(self._take(block.sensor_id))
            run = None
        if run is None:
            self._runs[block.sensor_id] = [block]
            self._sizes[block.sensor_id] = block.n_samples
        else:
            run.append(block)
            self._sizes[block.sensor_id] += block.n_samples
        if self._sizes[block.sensor_id] >= self.max_samples:
            done.append(self._take(block.sensor_id))
        return done

    def flush(self) -> list[Block]:
        """Every held run as one block per sensor, in the order the sensors first appeared."""
        return [self._take(sensor_id) for sensor_id in list(self._runs)]

    def _take(self, sensor_id: str) -> Block:
        run = self._runs.pop(sensor_id)
        del self._sizes[sensor_id]
        first = run[0]
        if len(run) == 1:
            return first
        samples = np.concatenate([b.samples for b in run])
        return Block(first.sensor_id, first.first_index, samples, first.t_host, first.gap_before, first.resync)
