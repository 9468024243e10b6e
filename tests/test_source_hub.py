"""One source, many readers; and a source narrowed to the placed channels."""

import asyncio

import numpy as np

from coach_tui.sources.channel_selection import ChannelSelection
from coach_tui.sources.simulated import SimulatedKit
from coach_tui.sources.source_hub import SourceHub


async def _read(reader, n):
    got = []
    async for block in reader:
        got.append(block)
        if len(got) == n:
            break
    return got


async def test_every_reader_gets_the_same_blocks_and_closing_one_leaves_the_others():
    kit = SimulatedKit(2, fs_hz=1000, seed=3, duration_s=1.0)
    hub = SourceHub(kit)
    first, second = hub.reader(), hub.reader()
    hub.start()
    a = await _read(first, 10)
    await first.close()
    b = await _read(second, 100)
    assert [(x.sensor_id, x.first_index) for x in a] == [(x.sensor_id, x.first_index) for x in b[:10]]
    assert all(np.array_equal(x.samples, y.samples) for x, y in zip(a, b))
    assert len(b) == 100  # 1 s × 2 sensors of 20 ms blocks: every block, after the first reader left
    assert first.status() == kit.status()
    await hub.close()


async def test_a_reader_that_falls_behind_loses_old_blocks_as_a_marked_gap():
    kit = SimulatedKit(2, fs_hz=1000, seed=3, duration_s=0.4)
    hub = SourceHub(kit, max_blocks_per_reader=4)
    slow = hub.reader()
    hub.start()
    await asyncio.sleep(0.2)  # the kit (not realtime) runs to its end meanwhile
    blocks = [b async for b in slow]
    assert slow.dropped == 40 - 4
    by_sensor = {}
    for block in blocks:
        by_sensor.setdefault(block.sensor_id, []).append(block)
    for sensor_blocks in by_sensor.values():
        first = sensor_blocks[0]
        assert first.resync and first.gap_before == first.first_index  # everything before it was lost
        assert first.end_index == sensor_blocks[1].first_index
    await hub.close()


async def test_channel_selection_keeps_the_placed_channels_in_order():
    class TwoSensors:
        def __init__(self, kit):
            self.kit = kit

        async def _blocks(self):
            async for block in self.kit:
                wide = np.hstack([block.samples, 2 * block.samples, 3 * block.samples])
                yield block.__class__(block.sensor_id, block.first_index, wide, block.t_host, block.gap_before)

        def __aiter__(self):
            return self._blocks()

        def status(self):
            return self.kit.status()

        async def close(self):
            await self.kit.close()

    kit = SimulatedKit(2, fs_hz=1000, seed=3, duration_s=0.1)
    first, second = (s.sensor_id for s in kit.sensors)
    selection = ChannelSelection(TwoSensors(kit), {first: [2, 0], second: [5]})
    blocks = [b async for b in selection]
    kept = [b for b in blocks if b.sensor_id == first]
    assert kept and all(b.samples.shape[1] == 2 and np.array_equal(b.samples[:, 0], 3 * b.samples[:, 1]) for b in kept)
    assert not [b for b in blocks if b.sensor_id == second]
    status = {s.sensor_id: s for s in selection.status()}
    assert status[first].channels == 2
    assert "channel 6 is placed" in status[second].notes[-1] and "config.toml" in status[second].notes[-1]
