"""ReplaySource: exact, contiguous blocks of a recording, paced at the requested speed."""

from __future__ import annotations

import time

import numpy as np
import pytest
from conftest import LOWER_LIMB, PHYSICAL_ACTION, needs_shared_data

from coach_tui.sources.block import Block, SensorStatus
from coach_tui.sources.signal_files import SignalFile
from coach_tui.sources.replay import ReplaySource


def recording(n: int = 1000, channels: int = 3, fs: float = 1000.0) -> SignalFile:
    samples = np.random.default_rng(1).normal(scale=50.0, size=(n, channels))
    return SignalFile(samples=samples, fs_hz=fs, units="µV", source="/x/session.csv")


async def collect(source: ReplaySource) -> list[Block]:
    return [block async for block in source]


def assert_exact_replay(blocks: list[Block], rec: SignalFile, sensor_id: str) -> None:
    assert blocks[0].first_index == 0
    for previous, block in zip(blocks, blocks[1:]):
        assert block.first_index == previous.end_index
    assert all(b.sensor_id == sensor_id and b.gap_before == 0 and not b.resync for b in blocks)
    assert all(b.samples.dtype == np.float32 for b in blocks)
    joined = np.concatenate([b.samples for b in blocks])
    np.testing.assert_array_equal(joined, rec.samples.astype(np.float32))


async def test_blocks_concatenate_to_the_recording():
    rec = recording(n=1013)
    blocks = await collect(ReplaySource(rec, sensor_id="s1", block_ms=20, speed=None))
    assert [b.n_samples for b in blocks] == [20] * 50 + [13]
    assert_exact_replay(blocks, rec, "s1")


async def test_block_size_follows_the_rate():
    blocks = await collect(ReplaySource(recording(n=100, fs=250.0), block_ms=40, speed=None))
    assert blocks[0].n_samples == 10


async def test_paced_replay_takes_real_time_over_speed():
    rec = recording(n=1000)  # 1 s of data
    source = ReplaySource(rec, speed=10.0)
    start = time.monotonic()
    blocks = await collect(source)
    elapsed = time.monotonic() - start
    assert 0.08 <= elapsed < 1.0
    assert_exact_replay(blocks, rec, "replay")
    steps = np.diff([b.t_host for b in blocks])
    np.testing.assert_allclose(steps, 0.002, rtol=1e-6)  # 20 samples at 10 × 1000 Hz


async def test_unpaced_times_are_monotonic():
    blocks = await collect(ReplaySource(recording(n=500), speed=None))
    assert all(b.t_host <= c.t_host for b, c in zip(blocks, blocks[1:]))


async def test_status_reports_rate_channels_and_progress():
    source = ReplaySource(recording(n=200, channels=4), sensor_id="s", speed=None)
    (status,) = source.status()
    assert isinstance(status, SensorStatus)
    assert (status.sensor_id, status.nominal_rate_hz, status.channels) == ("s", 1000.0, 4)
    assert not status.connected and status.measured_rate_hz is None
    async for block in source:
        assert status.connected and status.samples_received == block.end_index
    assert not status.connected and status.samples_received == 200
    assert status.measured_rate_hz == 1000.0 and status.loss_fraction == 0.0
    assert "session.csv" in status.notes[0]


async def test_each_iteration_starts_over():
    source = ReplaySource(recording(n=100), speed=None)
    first, second = await collect(source), await collect(source)
    assert [b.first_index for b in first] == [b.first_index for b in second]


@pytest.mark.parametrize("kw", [{"block_ms": 0}, {"speed": 0}, {"speed": -1.0}])
def test_bad_arguments(kw):
    with pytest.raises(ValueError):
        ReplaySource(recording(), **kw)


async def test_from_path_reads_and_forwards(tmp_path):
    path = tmp_path / "a.csv"
    path.write_text("a,b\n" + "\n".join(f"{i},{-i}" for i in range(30)) + "\n")
    source = ReplaySource.from_path(path, fs_hz=500, sensor_id="file", block_ms=10, speed=None)
    assert source.recording.fs_hz == 500 and source.block_size == 5
    blocks = await collect(source)
    assert_exact_replay(blocks, source.recording, "file")


@needs_shared_data
@pytest.mark.parametrize("path", [PHYSICAL_ACTION / "sub02" / "Normal" / "Walking.txt.gz",
                                  LOWER_LIMB / "N_TXT" / "1Nmar.txt.gz"], ids=lambda p: p.stem)
async def test_real_recording_replays_exactly(path):
    source = ReplaySource.from_path(path, speed=None)
    assert_exact_replay(await collect(source), source.recording, "replay")
