"""The contract every data source fulfils (simulated kit, replay, Bluetooth).

A source is an async iterator of :class:`~coach_tui.sources.block.Block`s, one sensor per block,
interleaved in roughly time order. Per-sensor link state is read with :meth:`Source.status`, which
returns :class:`~coach_tui.sources.block.SensorStatus` snapshots; a sensor's nominal sample rate is
``status()[i].nominal_rate_hz`` and its channel count ``status()[i].channels``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Protocol

from coach_tui.sources.block import Block, SensorStatus


class Source(Protocol):
    """An async stream of raw-sample blocks plus per-sensor status.

    - ``async for block in source`` yields blocks until the source ends or is closed.
    - ``status()`` returns a snapshot (copies) of every sensor's status, in a stable sensor
      order; cheap enough to call on every UI frame.
    - ``await close()`` stops streaming and releases the link; iteration then ends. Calling it
      more than once is harmless.
    """

    def __aiter__(self) -> AsyncIterator[Block]:
        """Iterate over blocks of all sensors."""
        ...

    def status(self) -> list[SensorStatus]:
        """Snapshot of every sensor's status."""
        ...

    async def close(self) -> None:
        """Stop streaming; iteration ends at the next block."""
        ...
