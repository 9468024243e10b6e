"""Helpers of the Bluetooth reader's tests: a bumble world fixture, a reader on it, and ways to
collect and check what it yields."""

from __future__ import annotations

import asyncio
import itertools
import random
from collections.abc import Callable

import numpy as np
import pytest
from ble_encoders import encode_coach_v1
from bumble_link import BumbleWorld

from coach_tui.sources.ble.ble_source import BleSensor, BleSettings, BleSource
from coach_tui.sources.ble.profiles import PROFILES
from coach_tui.sources.block import Block

#: Short retries, one second of silence for the watchdog (a loaded machine stalls less than that).
FAST = BleSettings(
    scan_timeout_s=1.0,
    connect_timeout_s=5.0,
    gatt_timeout_s=5.0,
    backoff_base_s=0.05,
    backoff_cap_s=0.2,
    watchdog_min_silence_s=1.0,
    close_timeout_s=2.0,
)
COACH = PROFILES["coach_v1"]


@pytest.fixture
async def world(request):
    """A bumble world; ``@pytest.mark.parametrize("world", [{…}], indirect=True)`` passes options."""
    async with BumbleWorld(**getattr(request, "param", {})) as w:
        yield w
    assert not w.callback_errors
    for p in w.peripherals:
        assert not p.hook_errors


def ble_source(world: BumbleWorld, sensors: list[BleSensor], settings: BleSettings = FAST, **kwargs) -> BleSource:
    return BleSource(
        sensors,
        settings,
        scanner_backend=world.scanner_backend,
        client_backend=world.client_backend,
        rng=random.Random(7),
        **kwargs,
    )


async def collect(
    source: BleSource, until: Callable[[list[Block]], bool], timeout: float = 20.0, into: list[Block] | None = None
) -> list[Block]:
    """Iterate ``source`` (appending to ``into``) until ``until(blocks)`` holds."""
    blocks = [] if into is None else into
    async with asyncio.timeout(timeout):
        async for block in source:
            blocks.append(block)
            if until(blocks):
                break
    return blocks


def samples_of(sensor_id: str, count: int) -> Callable[[list[Block]], bool]:
    return lambda blocks: sum(b.n_samples for b in blocks if b.sensor_id == sensor_id) >= count


async def wait_until(predicate: Callable[[], bool], timeout: float = 10.0) -> None:
    async with asyncio.timeout(timeout):
        while not predicate():
            await asyncio.sleep(0.02)


def stitched(blocks: list[Block], sensor_id: str = "s1") -> tuple[np.ndarray, np.ndarray]:
    """(sample indices, samples) of one sensor, after checking every block continues the previous."""
    mine = [b for b in blocks if b.sensor_id == sensor_id]
    for before, after in itertools.pairwise(mine):
        assert after.first_index == before.end_index + after.gap_before
    indices = np.concatenate([np.arange(b.first_index, b.end_index) for b in mine])
    return indices, np.concatenate([b.samples for b in mine])


def coach_stream(counts: np.ndarray, per_packet: int, fmt: str = "int16") -> list[bytes]:
    return [
        encode_coach_v1(counts[k : k + per_packet], k, fmt=fmt) for k in range(0, len(counts), per_packet)
    ]


def microvolts(counts: np.ndarray, scale: float) -> np.ndarray:
    """What a decoder makes of ``counts`` at ``scale`` µV per count."""
    return (np.asarray(counts, dtype=np.float64) * scale).astype(np.float32)
