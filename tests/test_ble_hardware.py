"""Real sensors through the platform's Bluetooth stack (BlueZ, CoreBluetooth, WinRT): skipped unless
asked for, since they need a switched-on sensor within range.

    COACH_HARDWARE=1 COACH_SENSOR_PROFILE=coach_v1 COACH_SENSOR_ADDRESS=AA:BB:CC:DD:EE:FF \\
        python -m pytest tests/test_ble_hardware.py -m hardware

``COACH_SENSOR_ADDRESS`` may be left out to take the first device advertising the profile
(``coach scan`` lists what is nearby).
"""

from __future__ import annotations

import asyncio
import os
import time

import pytest

from coach_tui.sources.ble.ble_source import BleSensor, BleSource
from coach_tui.sources.ble.bluetooth_errors import BluetoothUnavailable, check_bluetooth
from coach_tui.sources.ble.profiles import PROFILES

STREAM_S = 5.0

pytestmark = [
    pytest.mark.hardware,
    pytest.mark.skipif(
        os.environ.get("COACH_HARDWARE") != "1",
        reason="real Bluetooth sensor tests: set COACH_HARDWARE=1 and COACH_SENSOR_PROFILE (see README)",
    ),
]


@pytest.fixture
def sensor() -> BleSensor:
    profile = os.environ.get("COACH_SENSOR_PROFILE")
    if profile not in PROFILES:
        pytest.fail(f"COACH_SENSOR_PROFILE={profile!r}: set it to one of {', '.join(PROFILES)}")
    return BleSensor("hw", profile, address=os.environ.get("COACH_SENSOR_ADDRESS") or None)


async def test_a_real_sensor_streams_at_its_nominal_rate(sensor):
    try:
        await check_bluetooth()
    except BluetoothUnavailable as problem:
        pytest.fail(str(problem))
    source = BleSource([sensor])
    received = 0
    first_at = None
    try:
        async with asyncio.timeout(60):
            async for block in source:
                received += block.n_samples
                first_at = first_at or time.monotonic()
                if time.monotonic() - first_at >= STREAM_S:
                    break
    except TimeoutError:
        pytest.fail(f"no {STREAM_S:g} s of data within 60 s; sensor state: {source.status()[0].state}")
    finally:
        await source.close()

    status = source.status()[0]
    assert received > 0, status.state
    assert status.measured_rate_hz is not None
    if status.nominal_rate_hz:  # MyoWare says no rate: nothing to compare with
        assert status.measured_rate_hz == pytest.approx(status.nominal_rate_hz, rel=0.05)
