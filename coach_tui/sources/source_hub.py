"""One source read once and handed to any number of readers.

Bluetooth sensors stay connected while the console runs; the placement check, the calibration
and the live screen each read the same stream through a reader of their own, which they may close
(stop reading) without disconnecting the sensors.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncIterator

from coach_tui.sources.block import Block, SensorStatus
from coach_tui.sources.source import Source


class HubReader:
    """A ``Source`` view of a hub: the blocks that arrive after it was opened, until it is closed.

    A reader that falls more than ``max_blocks`` behind loses its oldest blocks; the next block of
    that sensor then carries the lost samples as a gap, so nothing downstream is misaligned.
    """

    def __init__(self, hub: SourceHub, max_blocks: int):
        self._hub = hub
        self._blocks: deque[Block] = deque()
        self._max_blocks = max_blocks
        self._lost: dict[str, int] = {}
        self._wake = asyncio.Event()
        self._closed = False
        #: Blocks dropped because this reader fell behind.
        self.dropped = 0

    def put(self, block: Block) -> None:
        """Queue a block (called by the hub)."""
        if len(self._blocks) >= self._max_blocks:
            oldest = self._blocks.popleft()
            self._lost[oldest.sensor_id] = self._lost.get(oldest.sensor_id, 0) + oldest.gap_before + oldest.n_samples
            self.dropped += 1
        self._blocks.append(block)
        self._wake.set()

    def finish(self) -> None:
        """End iteration once the queued blocks are read (the hub's source ended)."""
        self._closed = True
        self._wake.set()

    def __aiter__(self) -> AsyncIterator[Block]:
        return self._read()

    async def _read(self) -> AsyncIterator[Block]:
        while True:
            while self._blocks:
                block = self._blocks.popleft()
                lost = self._lost.pop(block.sensor_id, 0)
                if lost:
                    block = Block(block.sensor_id, block.first_index, block.samples, block.t_host,
                                  block.gap_before + lost, True)
                yield block
            if self._closed:
                return
            self._wake.clear()
            await self._wake.wait()

    def status(self) -> list[SensorStatus]:
        """The hub source's status."""
        return self._hub.status()

    async def close(self) -> None:
        """Stop reading; the hub and its sensors keep running."""
        self._hub.detach(self)
        self.finish()


class SourceHub:
    """Reads ``source`` in one task and copies every block to each open reader."""

    def __init__(self, source: Source, max_blocks_per_reader: int = 4096):
        self.source = source
        self.max_blocks_per_reader = max_blocks_per_reader
        self._readers: list[HubReader] = []
        self._task: asyncio.Task | None = None

    def start(self) -> None:
        """Start reading on the running loop."""
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def _run(self) -> None:
        try:
            async for block in self.source:
                for reader in self._readers:
                    reader.put(block)
        finally:
            for reader in self._readers:
                reader.finish()

    def reader(self) -> HubReader:
        """A new reader of the blocks from now on."""
        reader = HubReader(self, self.max_blocks_per_reader)
        self._readers.append(reader)
        return reader

    def detach(self, reader: HubReader) -> None:
        """Stop copying blocks to ``reader``."""
        if reader in self._readers:
            self._readers.remove(reader)

    def status(self) -> list[SensorStatus]:
        """The source's per-sensor status."""
        return self.source.status()

    async def close(self) -> None:
        """Close the source (disconnecting sensors) and end every reader."""
        await self.source.close()
        if self._task is not None:
            await asyncio.gather(self._task, return_exceptions=True)
