"""A source streamed into a handler on the running asyncio loop, and stopped cleanly."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from coach_tui.sources.block import Block
from coach_tui.sources.source import Source


class SourceTask:
    """Calls ``on_block`` for every block of ``source`` until stopped (or ``on_block`` returns True)."""

    def __init__(self, source: Source, on_block: Callable[[Block], bool | None]):
        self.source = source
        self.on_block = on_block
        self._task: asyncio.Task | None = None

    def start(self) -> None:
        """Start streaming on the running loop."""
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def _run(self) -> None:
        async for block in self.source:
            if self.on_block(block):
                break
        await self.source.close()

    @property
    def done(self) -> bool:
        """True once streaming has ended (the source ran out, or ``on_block`` asked to stop)."""
        return self._task is not None and self._task.done()

    async def stop(self) -> None:
        """Close the source and wait for the last block to be handled."""
        await self.source.close()
        if self._task is not None:
            await asyncio.gather(self._task, return_exceptions=True)
