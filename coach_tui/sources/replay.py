"""ReplaySource: plays a loaded recording as Blocks, at real time, faster, or flat out."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path

import numpy as np

from coach_tui.sources.block import Block, SensorStatus
from coach_tui.sources.signal_files import SignalFile, load_signal_file


class ReplaySource:
    """Async iterator of :class:`Block`s cut from a :class:`SignalFile`.

    Blocks hold ``block_ms`` of samples (float32, in the recording's units); ``first_index``
    counts from 0 and blocks are contiguous. With ``speed`` (1.0 = real time) each block is released
    once its last sample would have been recorded, on a fixed schedule from the start (no drift),
    and ``t_host`` is the scheduled host time of its first sample; with ``speed=None`` blocks come
    as fast as the consumer takes them and ``t_host`` is the time each is handed out. Every
    ``async for`` plays the recording from the start.
    """

    def __init__(self, recording: SignalFile, sensor_id: str = "replay", block_ms: float = 20,
                 speed: float | None = 1.0) -> None:
        if block_ms <= 0:
            raise ValueError(f"block_ms must be positive, got {block_ms}")
        if speed is not None and speed <= 0:
            raise ValueError(f"speed must be positive or None, got {speed}")
        self.recording = recording
        self.sensor_id = sensor_id
        self.speed = speed
        self.block_size = max(1, round(recording.fs_hz * block_ms / 1000))
        pace = f"at {speed:g}× real time" if speed is not None else "as fast as possible"
        self._status = SensorStatus(
            sensor_id=sensor_id,
            nominal_rate_hz=recording.fs_hz,
            channels=recording.channels,
            notes=[f"replay of {Path(recording.source).name} {pace}"],
        )

    @classmethod
    def from_path(cls, path: str | Path, fs_hz: float | None = None, **kw) -> ReplaySource:
        """Load ``path`` with :func:`load_signal_file` and replay it; ``kw`` go to the constructor."""
        return cls(load_signal_file(path, fs_hz=fs_hz), **kw)

    def status(self) -> list[SensorStatus]:
        """One status entry: connected while playing, samples handed out so far."""
        return [self._status]

    def __aiter__(self) -> AsyncIterator[Block]:
        return self._play()

    async def _play(self) -> AsyncIterator[Block]:
        samples = self.recording.samples
        total = samples.shape[0]
        status = self._status
        status.samples_received = 0
        status.measured_rate_hz = None
        status.connected = True
        scale = None if self.speed is None else 1.0 / (self.recording.fs_hz * self.speed)
        t0 = time.monotonic()
        try:
            for start in range(0, total, self.block_size):
                stop = min(start + self.block_size, total)
                if scale is None:
                    await asyncio.sleep(0)  # let the rest of the loop run between blocks
                    t_host = time.monotonic()
                else:
                    delay = t0 + stop * scale - time.monotonic()
                    await asyncio.sleep(max(delay, 0.0))
                    t_host = t0 + start * scale
                block = Block(
                    sensor_id=self.sensor_id,
                    first_index=start,
                    samples=samples[start:stop].astype(np.float32),
                    t_host=t_host,
                )
                status.samples_received = stop
                status.measured_rate_hz = self.recording.fs_hz  # a file has no lost samples
                yield block
        finally:
            status.connected = False
