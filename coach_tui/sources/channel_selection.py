"""A source narrowed to the channels that are placed on the client.

A Ganglion has four channels and a Myo eight; a trainer may place electrodes on two. Downstream
(pipelines, bars, recordings) sees only the placed channels of each sensor, in the given order.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace

import numpy as np

from coach_tui.sources.block import Block, SensorStatus
from coach_tui.sources.source import Source


class ChannelSelection:
    """``source`` with only ``columns[sensor_id]`` of each sensor (sensors not named are left out)."""

    def __init__(self, source: Source, columns: dict[str, list[int]]):
        for sensor_id, picked in columns.items():
            if not picked or len(set(picked)) != len(picked) or min(picked) < 0:
                raise ValueError(f"sensor {sensor_id!r}: channels {picked} must be distinct, 0 or more, at least one")
        self.source = source
        self.columns = {sid: np.asarray(picked) for sid, picked in columns.items()}
        #: Per sensor: why its blocks are being left out (a placed channel it does not have).
        self.problems: dict[str, str] = {}

    def __aiter__(self) -> AsyncIterator[Block]:
        return self._read()

    async def _read(self) -> AsyncIterator[Block]:
        async for block in self.source:
            picked = self.columns.get(block.sensor_id)
            if picked is None:
                continue
            if picked.max() >= block.samples.shape[1]:
                self.problems[block.sensor_id] = (
                    f"sends {block.samples.shape[1]} channel(s) but channel {picked.max() + 1} is placed: "
                    f"fix its channels in config.toml")
                continue
            yield replace(block, samples=np.ascontiguousarray(block.samples[:, picked]))

    def status(self) -> list[SensorStatus]:
        """The selected sensors' status, with their selected channel count (and any problem in ``notes``)."""
        return [replace(s, channels=len(self.columns[s.sensor_id]),
                        notes=[*s.notes, *([self.problems[s.sensor_id]] if s.sensor_id in self.problems else [])])
                for s in self.source.status() if s.sensor_id in self.columns]

    async def close(self) -> None:
        """Close the underlying source."""
        await self.source.close()
