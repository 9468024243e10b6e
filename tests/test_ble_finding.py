"""Finding and keeping a real device, as the firmware and BlueZ behave (bleak against bumble
peripherals): a Ganglion that advertises its name only, a sensor the system still holds connected
after a crash, a battery level the system keeps to itself; and the D-Bus side of that seam."""

from __future__ import annotations

import asyncio
import dataclasses

import numpy as np
import pytest
from ble_encoders import coach_v1_info, encode_ganglion_fw3_stream, encode_myo
from ble_harness import (  # noqa: F401 - world is a fixture
    COACH,
    FAST,
    ble_source,
    coach_stream,
    collect,
    samples_of,
    wait_until,
    world,
)
from ble_peripherals import Firmware, peripheral_spec
from bleak import BleakClient, BleakScanner
from fake_system_bluetooth import FakeSystemBluetooth

from coach_tui.sources.ble.ble_source import NOT_FOUND, BleSensor
from coach_tui.sources.ble.device_setup import BATTERY_UNKNOWN
from coach_tui.sources.ble.profiles import PROFILES
from coach_tui.sources.ble.sensor_link import CLOSED_STALE
from coach_tui.sources.ble.system_bluetooth import NoSystemBluetooth, battery_in, held_in

GANGLION = PROFILES["ganglion_fw3"]
MYO = PROFILES["myo"]


async def name_only_ganglion(world, name: str):
    """A firmware-3 Ganglion as the firmware advertises: its name only, no service UUID."""
    sensor = await world.add_peripheral(peripheral_spec(GANGLION, name, advertise_service=False,
                                                        software_revision="3.0.2"))
    counts = np.random.default_rng(len(name)).integers(-(2**23), 2**23, size=(4000, 4))
    Firmware(sensor, GANGLION, lambda: encode_ganglion_fw3_stream(counts), rate_hz=100)
    return sensor


# ---------------------------------------------------------------------------------------------
# A Ganglion advertises its name only
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("by", ["profile only", "name", "address"])
async def test_a_ganglion_that_advertises_its_name_only_is_found(world, by):
    sensor = await name_only_ganglion(world, "Ganglion 1.3 (a1b2)")
    assert sensor.spec.advertised_service_uuids == ()
    configured = {"profile only": {}, "name": {"name": "Ganglion 1.3 (a1b2)"}, "address": {"address": sensor.address}}
    source = ble_source(world, [BleSensor("s1", "ganglion_fw3", **configured[by])])

    await collect(source, samples_of("s1", 100))
    status = source.status()[0]
    await source.close()

    assert status.address == sensor.address and status.state == "streaming"
    by_name = ["found Ganglion 1.3 (a1b2) by name"]
    assert status.events == (by_name if by != "address" else [])


async def test_ganglions_found_by_name_prefix_reconnect_to_their_own_address(world):
    # Two boards near each other, two sensors configured by profile only: each keeps the board it
    # found, by its address, across a reconnect (old boards call themselves "Simblee").
    first = await name_only_ganglion(world, "Ganglion 1.3 (a1b2)")
    second = await name_only_ganglion(world, "Simblee")
    source = ble_source(world, [BleSensor("s1", "ganglion_fw3"), BleSensor("s2", "ganglion_fw3")])

    blocks = await collect(source, lambda b: samples_of("s1", 100)(b) and samples_of("s2", 100)(b))
    claimed = {s.sensor_id: s.address for s in source.status()}
    assert sorted(claimed.values()) == sorted([first.address, second.address])
    board_of = {p.address: p for p in (first, second)}
    await board_of[claimed["s1"]].disconnect()
    await wait_until(lambda: source.status()[0].reconnects == 1 and source.status()[0].connected)
    await collect(source, lambda b: len(b) >= 40, into=blocks)
    statuses = source.status()
    await source.close()

    assert {s.sensor_id: s.address for s in statuses} == claimed
    assert board_of[claimed["s1"]].connections_count == 2 and board_of[claimed["s2"]].connections_count == 1
    assert {e for s in statuses for e in s.events} == {"found Ganglion 1.3 (a1b2) by name", "found Simblee by name"}


# ---------------------------------------------------------------------------------------------
# A stale connection the system still holds
# ---------------------------------------------------------------------------------------------
async def crash_leaving_a_connection(world, address: str) -> BleakClient:
    """Another program connects the sensor and dies without disconnecting: the system holds the
    link, and the sensor, connected, stops advertising."""
    device = await BleakScanner.find_device_by_address(address, timeout=2.0, backend=world.scanner_backend)
    leftover = BleakClient(device, backend=world.client_backend)
    await leftover.connect()
    await world.peripheral(address).wait_for(lambda: not world.peripheral(address).advertising)
    return leftover


async def stale_coach_sensor(world):
    sensor = await world.add_peripheral(peripheral_spec(COACH, "coach-stale", info=coach_v1_info(1, 1000.0, 0.5)))
    counts = np.random.default_rng(3).integers(-32768, 32768, size=(4000, 1))
    Firmware(sensor, COACH, lambda: coach_stream(counts, 20), rate_hz=50)
    await crash_leaving_a_connection(world, sensor.address)
    return sensor


@pytest.mark.parametrize("by", ["address", "name"])
async def test_a_stale_connection_is_closed_before_scanning_and_the_sensor_streams(world, by):
    sensor = await stale_coach_sensor(world)
    system = FakeSystemBluetooth(world)
    configured = {"address": sensor.address} if by == "address" else {"name": "coach-stale"}
    source = ble_source(world, [BleSensor("s1", "coach_v1", **configured)], system=system)

    await collect(source, samples_of("s1", 200))
    status = source.status()[0]
    await source.close()

    assert system.disconnected == [sensor.address]
    assert status.events == [CLOSED_STALE] + (["found coach-stale by name"] if by == "name" else [])
    assert status.state == "streaming"
    assert sensor.connections_count == 2  # the crashed program's, then ours


async def test_without_closing_it_a_stale_connection_hides_the_sensor_for_ever(world):
    # What happens on a system the reader cannot ask (or before this was handled).
    sensor = await stale_coach_sensor(world)
    settings = dataclasses.replace(FAST, scan_timeout_s=0.3)
    source = ble_source(world, [BleSensor("s1", "coach_v1", address=sensor.address)], settings,
                        system=NoSystemBluetooth())

    async def iterate() -> None:
        async for _ in source:
            pass

    iteration = asyncio.ensure_future(iterate())
    await wait_until(lambda: "attempt 2" in source.status()[0].state)
    status = source.status()[0]
    await source.close()
    await asyncio.wait_for(iteration, 2)
    assert status.state.startswith(NOT_FOUND) and status.samples_received == 0


async def test_a_connection_another_sensor_of_the_reader_holds_is_never_closed(world):
    present = await world.add_peripheral(peripheral_spec(COACH, "coach-held", info=coach_v1_info(1, 1000.0, 0.5)))
    counts = np.zeros((4000, 1), dtype=int)
    Firmware(present, COACH, lambda: coach_stream(counts, 20), rate_hz=50)
    system = FakeSystemBluetooth(world)
    # s2 searches by service for a second coach sensor that is not there, again and again, while
    # s1 holds the one that is: s2 must not take it from s1.
    settings = dataclasses.replace(FAST, scan_timeout_s=0.2)
    source = ble_source(world, [BleSensor("s1", "coach_v1", name="coach-held"), BleSensor("s2", "coach_v1")],
                        settings, system=system)

    await collect(source, lambda b: samples_of("s1", 400)(b) and "attempt 3" in source.status()[1].state)
    statuses = source.status()
    await source.close()

    assert system.disconnected == []
    assert present.connections_count == 1 and statuses[0].reconnects == 0
    assert statuses[1].state.startswith(NOT_FOUND)


# ---------------------------------------------------------------------------------------------
# A battery level the system keeps to itself
# ---------------------------------------------------------------------------------------------
async def myo_without_battery_service(world):
    """A Myo as a program sees it under BlueZ ≥ 5.48: the Battery Service is hidden."""
    sensor = await world.add_peripheral(peripheral_spec(MYO, "Myo-hidden", battery_level=None))
    counts = np.zeros((4000, 8), dtype=int)
    Firmware(sensor, MYO, lambda: (encode_myo(counts[k:k + 2]) for k in range(0, 4000, 2)), rate_hz=100)
    return sensor


async def test_a_hidden_battery_level_comes_from_the_system_and_is_polled(world):
    sensor = await myo_without_battery_service(world)
    system = FakeSystemBluetooth(world, batteries={sensor.address: 64.0})
    settings = dataclasses.replace(FAST, battery_poll_s=0.1)
    source = ble_source(world, [BleSensor("s1", "myo", name="Myo-hidden")], settings, system=system)

    await collect(source, samples_of("s1", 20))
    assert source.status()[0].battery_pct == 64.0
    system.batteries[sensor.address] = 63.0
    await wait_until(lambda: source.status()[0].battery_pct == 63.0)
    await source.close()
    reads = system.battery_reads
    await asyncio.sleep(0.3)
    assert system.battery_reads == reads  # polling ends with the connection
    assert BATTERY_UNKNOWN not in source.status()[0].events


async def test_a_battery_level_nobody_can_read_is_said_to_be_unknown(world):
    await myo_without_battery_service(world)
    source = ble_source(world, [BleSensor("s1", "myo", name="Myo-hidden")], system=FakeSystemBluetooth(world))

    await collect(source, samples_of("s1", 20))
    status = source.status()[0]
    await source.close()
    assert status.battery_pct is None and status.events == ["found Myo-hidden by name", BATTERY_UNKNOWN]
    assert BATTERY_UNKNOWN.startswith("battery: unknown")


# ---------------------------------------------------------------------------------------------
# BlueZ's managed objects, as GetManagedObjects gives them (variants unwrapped)
# ---------------------------------------------------------------------------------------------
BLUEZ_OBJECTS = {
    "/org/bluez/hci0": {"org.bluez.Adapter1": {"Address": "00:1A:7D:DA:71:13", "Powered": True}},
    "/org/bluez/hci0/dev_C0_B0_00_00_00_01": {
        "org.bluez.Device1": {"Address": "C0:B0:00:00:00:01", "Name": "Myo", "Connected": True,
                              "UUIDs": ["D5060001-A904-DEB9-4748-2C7F4A124842"]},
        "org.bluez.Battery1": {"Percentage": 87},
    },
    "/org/bluez/hci1/dev_C0_B0_00_00_00_02": {
        "org.bluez.Device1": {"Address": "c0:b0:00:00:00:02", "Alias": "Ganglion 1.3 (a1b2)", "Connected": True},
    },
    "/org/bluez/hci0/dev_C0_B0_00_00_00_03": {
        "org.bluez.Device1": {"Address": "C0:B0:00:00:00:03", "Name": "coach-1", "Connected": False},
        "org.bluez.Battery1": {"Percentage": 50},
    },
}


def test_held_devices_are_the_connected_ones_on_any_adapter():
    held = held_in(BLUEZ_OBJECTS)
    assert [(d.address, d.name, d.service_uuids, d.path) for d in held] == [
        ("C0:B0:00:00:00:01", "Myo", ("d5060001-a904-deb9-4748-2c7f4a124842",), "/org/bluez/hci0/dev_C0_B0_00_00_00_01"),
        ("C0:B0:00:00:00:02", "Ganglion 1.3 (a1b2)", (), "/org/bluez/hci1/dev_C0_B0_00_00_00_02"),
    ]


def test_battery_level_is_battery1_percentage_of_the_device():
    assert battery_in(BLUEZ_OBJECTS, "c0:b0:00:00:00:01") == 87.0
    assert battery_in(BLUEZ_OBJECTS, "C0:B0:00:00:00:02") is None  # no Battery1
    assert battery_in(BLUEZ_OBJECTS, "C0:B0:00:00:00:09") is None  # unknown device


# ---------------------------------------------------------------------------------------------
# What coach check says
# ---------------------------------------------------------------------------------------------
async def test_coach_check_says_what_happened_in_the_trainer_s_words_and_json_carries_it(world):
    from ble_encoders import encode_ganglion_fw2_stream

    from coach_tui.commands.check import _check_json, _check_text
    from coach_tui.dsp.analysis_settings import AnalysisSettings
    from coach_tui.workflows.sensor_check import collect as check_collect
    from coach_tui.workflows.sensor_check import grade_sensors

    fw2 = PROFILES["ganglion_fw2"]
    ganglion = await world.add_peripheral(peripheral_spec(fw2, "Ganglion 1.3 (a1b2)", advertise_service=False,
                                                          software_revision="2.0.1"))
    counts = np.cumsum(np.random.default_rng(8).integers(-2000, 2000, size=(10 * 201 + 1, 4)), axis=0)
    Firmware(ganglion, fw2, lambda: encode_ganglion_fw2_stream(counts), rate_hz=200)
    stale = await stale_coach_sensor(world)
    await myo_without_battery_service(world)
    source = ble_source(world, [BleSensor("g", "ganglion_fw3"), BleSensor("c", "coach_v1", address=stale.address),
                                BleSensor("m", "myo", name="Myo-hidden")], system=FakeSystemBluetooth(world))
    names = {"g": "left glute max", "c": "right glute max", "m": "left biceps"}

    received = await check_collect(source, 0.5)
    report = grade_sensors(received, source.status(), names, AnalysisSettings(), 0.5, simulated=False)

    said = {
        "g": ["found Ganglion 1.3 (a1b2) by name",
              'board reports firmware 2.0.1: using it (config.toml says ganglion_fw3; set profile = "ganglion_fw2" '
              "to match)"],
        "c": [CLOSED_STALE],
        "m": ["found Myo-hidden by name", BATTERY_UNKNOWN],
    }
    lines = _check_text(report).splitlines()
    for sensor_id, events in said.items():
        for event in events:
            assert f"  {names[sensor_id]}: {event}" in lines
    sensors = {s["sensor_id"]: s for s in _check_json(report)["sensors"]}
    assert {sid: s["events"] for sid, s in sensors.items()} == said
    assert sensors["g"]["profile"] == "ganglion_fw2" and sensors["m"]["battery_pct"] is None
    assert all(s["streaming"] for s in sensors.values())
