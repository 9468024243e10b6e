"""Joining small blocks: same samples, same gaps, fewer calls."""

import numpy as np
import pytest

from coach_tui.sources.block import Block
from coach_tui.sources.block_coalescer import BlockCoalescer


def _block(sensor: str, first: int, n: int, gap: int = 0, resync: bool = False) -> Block:
    samples = (np.arange(first, first + n, dtype=np.float32) + (1000 if sensor == "b" else 0)).reshape(n, 1)
    return Block(sensor, first, samples, t_host=first / 100, gap_before=gap, resync=resync)


def test_contiguous_blocks_join_until_max_samples_then_flush_returns_the_rest():
    joiner = BlockCoalescer(max_samples=25)
    out = []
    for i in range(6):
        out += joiner.add(_block("a", 10 * i, 10))
    out += joiner.flush()
    assert [(b.first_index, b.n_samples) for b in out] == [(0, 30), (30, 30)]
    assert np.array_equal(np.concatenate([b.samples for b in out])[:, 0], np.arange(60, dtype=np.float32))
    assert out[0].t_host == 0.0 and out[1].t_host == 0.3
    assert joiner.flush() == []


def test_a_gap_or_resync_starts_a_new_block_and_keeps_its_mark():
    joiner = BlockCoalescer(max_samples=1000)
    out = []
    out += joiner.add(_block("a", 0, 10))
    out += joiner.add(_block("a", 10, 10))
    out += joiner.add(_block("a", 25, 10, gap=5))
    out += joiner.add(_block("a", 35, 10, resync=True))
    out += joiner.add(_block("a", 45, 10))
    out += joiner.flush()
    assert [(b.first_index, b.n_samples, b.gap_before, b.resync) for b in out] == [
        (0, 20, 0, False), (25, 10, 5, False), (35, 20, 0, True)]


def test_sensors_are_kept_apart():
    joiner = BlockCoalescer(max_samples=1000)
    for i in range(3):
        assert joiner.add(_block("a", 10 * i, 10)) == []
        assert joiner.add(_block("b", 10 * i, 10)) == []
    out = {b.sensor_id: b for b in joiner.flush()}
    assert out["a"].samples[:, 0].tolist() == list(range(30))
    assert out["b"].samples[:, 0].tolist() == [1000 + i for i in range(30)]


def test_max_samples_must_be_positive():
    with pytest.raises(ValueError, match="max_samples"):
        BlockCoalescer(0)
