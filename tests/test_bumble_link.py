"""The test-only bleak backend over bumble: bleak's public API against bumble GATT peripherals on an
in-process link (real advertising, LE connections, ATT/GATT), see tests/bumble_link/."""

from __future__ import annotations

import asyncio
import struct
import time

import pytest
from bleak import BleakClient, BleakScanner
from bleak.exc import BleakDeviceNotFoundError, BleakError
from bumble_link import (
    BATTERY_LEVEL_UUID,
    BumbleWorld,
    CharacteristicSpec,
    Peripheral,
    ServiceSpec,
    Write,
)

# coach open sensor profile v1 (SENSORS.md §1)
COACH_SERVICE = "9cc9571f-0f40-4a84-bdf4-defc43a196c4"
COACH_DATA = "9cc95720-0f40-4a84-bdf4-defc43a196c4"
COACH_CONTROL = "9cc95721-0f40-4a84-bdf4-defc43a196c4"
COACH_INFO = "9cc95722-0f40-4a84-bdf4-defc43a196c4"
# Thalmic Myo (SENSORS.md §3)
MYO_EMG_SERVICE = "d5060005-a904-deb9-4748-2c7f4a124842"
MYO_EMG = [f"d506{n:04x}-a904-deb9-4748-2c7f4a124842" for n in (0x0105, 0x0205, 0x0305, 0x0405)]


def coach_info(name: str, channels: int = 2, rate: float = 1000.0) -> bytes:
    return struct.pack("<BBBBff", 1, 0, channels, 0, rate, 0.5) + name.encode()


def coach_packets(count: int, channels: int = 2, samples: int = 40):
    """v1 raw int16 packets: 8-byte header with the first sample index, then samples × channels."""
    for k in range(count):
        first = k * samples
        body = struct.pack(f"<{samples * channels}h", *((first + i) % 32768 for i in range(samples * channels)))
        yield struct.pack("<BBBBI", 1, 0, channels, 0, first) + body


async def add_coach_sensor(world: BumbleWorld, name: str, rate_hz: float = 200.0, packets: int = 10_000, **kwargs) -> Peripheral:
    """A coach v1 sensor whose firmware streams on 0x01 and stops on 0x00, like the real one."""
    sensor = await world.add_peripheral(
        name=name,
        services=[
            ServiceSpec(
                COACH_SERVICE,
                [
                    CharacteristicSpec(COACH_DATA, "notify"),
                    CharacteristicSpec(COACH_CONTROL, ("write", "write-without-response")),
                    CharacteristicSpec(COACH_INFO, "read", coach_info(name)),
                ],
            )
        ],
        battery_level=87,
        **kwargs,
    )

    def firmware(write: Write) -> None:
        if write.data == b"\x01":
            sensor.start_stream(COACH_DATA, coach_packets(packets), rate_hz=rate_hz)
        elif write.data == b"\x00":
            sensor.stop_stream()

    sensor.on_write(firmware, COACH_CONTROL)
    return sensor


@pytest.fixture
async def world():
    async with BumbleWorld() as w:
        yield w
    assert not w.callback_errors
    for p in w.peripherals:
        assert not p.hook_errors


class Inbox:
    """A bleak notification callback collecting the bytes and waking a waiter at a count."""

    def __init__(self) -> None:
        self.packets: list[bytes] = []
        self.by_uuid: dict[str, list[bytes]] = {}
        self._wanted: tuple[int, asyncio.Future[None]] | None = None

    def __call__(self, characteristic, data: bytearray) -> None:
        self.packets.append(bytes(data))
        self.by_uuid.setdefault(characteristic.uuid, []).append(bytes(data))
        if self._wanted and len(self.packets) >= self._wanted[0] and not self._wanted[1].done():
            self._wanted[1].set_result(None)

    async def wait_for(self, count: int, timeout: float = 3.0) -> None:
        if len(self.packets) >= count:
            return
        self._wanted = (count, asyncio.get_running_loop().create_future())
        await asyncio.wait_for(self._wanted[1], timeout)


# ---------------------------------------------------------------------------------------------
# Scanning
# ---------------------------------------------------------------------------------------------
async def test_scan_finds_peripherals_by_service_uuid_and_by_name(world):
    left = await add_coach_sensor(world, "coach-left-glute")
    right = await add_coach_sensor(world, "coach-right-glute")
    myo = await world.add_peripheral(
        name="Myo", services=[ServiceSpec(MYO_EMG_SERVICE, [CharacteristicSpec(u, "notify") for u in MYO_EMG])],
        manufacturer_data={0x0059: b"\x01\x02"},
    )

    found = await BleakScanner.discover(
        timeout=0.2, service_uuids=[COACH_SERVICE], return_adv=True, backend=world.scanner_backend
    )
    assert set(found) == {left.address, right.address}
    device, adv = found[left.address]
    assert device.name == "coach-left-glute"
    assert adv.local_name == "coach-left-glute"
    assert adv.service_uuids == [COACH_SERVICE]

    everything = await BleakScanner.discover(timeout=0.2, return_adv=True, backend=world.scanner_backend)
    assert set(everything) == {left.address, right.address, myo.address}
    assert everything[myo.address][1].manufacturer_data == {0x0059: b"\x01\x02"}

    by_name = await BleakScanner.find_device_by_name("Myo", timeout=1.0, backend=world.scanner_backend)
    assert by_name is not None and by_name.address == myo.address
    by_filter = await BleakScanner.find_device_by_filter(
        lambda d, ad: COACH_SERVICE in ad.service_uuids and ad.local_name.startswith("coach-right"),
        timeout=1.0,
        backend=world.scanner_backend,
    )
    assert by_filter is not None and by_filter.address == right.address


@pytest.mark.serial
async def test_missing_device_is_none_quickly_and_advertising_can_be_switched(world):
    ghost = await add_coach_sensor(world, "coach-ghost", advertise=False)
    started = time.perf_counter()
    assert await BleakScanner.find_device_by_name("coach-ghost", timeout=0.5, backend=world.scanner_backend) is None
    assert await BleakScanner.find_device_by_name("nobody", timeout=0.1, backend=world.scanner_backend) is None
    assert time.perf_counter() - started < 1.0
    assert not ghost.advertising

    await ghost.start_advertising()
    found = await BleakScanner.find_device_by_name("coach-ghost", timeout=1.0, backend=world.scanner_backend)
    assert found is not None and found.address == ghost.address

    await ghost.stop_advertising()
    await asyncio.sleep(0.05)  # an advertisement already on its way may still land
    assert await BleakScanner.find_device_by_name("coach-ghost", timeout=0.2, backend=world.scanner_backend) is None


# ---------------------------------------------------------------------------------------------
# Connecting, reading, writing
# ---------------------------------------------------------------------------------------------
async def test_connect_discovers_services_reads_and_records_writes_in_order(world):
    sensor = await add_coach_sensor(world, "coach-1")
    device = await BleakScanner.find_device_by_name("coach-1", timeout=1.0, backend=world.scanner_backend)

    async with BleakClient(device, backend=world.client_backend, timeout=2.0) as client:
        assert client.is_connected and sensor.is_connected
        assert client.mtu_size == 247 and sensor.mtu == 247
        data = client.services.get_characteristic(COACH_DATA)
        assert data.properties == ["notify"]
        assert [d.uuid for d in data.descriptors] == ["00002902-0000-1000-8000-00805f9b34fb"]
        assert sorted(client.services.get_characteristic(COACH_CONTROL).properties) == ["write", "write-without-response"]
        assert data.max_write_without_response_size == 244

        assert await client.read_gatt_char(COACH_INFO) == coach_info("coach-1")
        assert await client.read_gatt_char(BATTERY_LEVEL_UUID) == bytes([87])
        sensor.set_value(BATTERY_LEVEL_UUID, bytes([55]))
        assert await client.read_gatt_char(BATTERY_LEVEL_UUID) == bytes([55])

        await client.write_gatt_char(COACH_CONTROL, b"\x09\x01\x01", response=True)
        await client.write_gatt_char(COACH_CONTROL, b"\x02", response=False)
        await client.write_gatt_char(COACH_CONTROL, bytes(range(200)), response=False)
        await client.write_gatt_char(COACH_CONTROL, b"\x00", response=True)
        writes = await sensor.wait_for_writes(4, COACH_CONTROL)
    assert [(w.data, w.with_response) for w in writes] == [
        (b"\x09\x01\x01", True),
        (b"\x02", False),
        (bytes(range(200)), False),
        (b"\x00", True),
    ]
    assert sensor.value(COACH_CONTROL) == b"\x00"
    await sensor.wait_disconnected()


async def test_connect_by_address_string_and_failures(world):
    sensor = await add_coach_sensor(world, "coach-2")
    # A plain address is resolved by scanning, as on BlueZ.
    async with BleakClient(sensor.address, backend=world.client_backend, timeout=2.0) as client:
        assert client.is_connected
        with pytest.raises(BleakError):
            await client.connect()  # already connected
    with pytest.raises(BleakDeviceNotFoundError):
        await BleakClient("C0:DE:AD:00:00:01", backend=world.client_backend, timeout=0.2).connect()

    # A known device that stopped advertising: the connect times out, and the central is usable after.
    device = await BleakScanner.find_device_by_name("coach-2", timeout=1.0, backend=world.scanner_backend)
    await sensor.stop_advertising()
    await asyncio.sleep(0.05)
    with pytest.raises(TimeoutError):
        await BleakClient(device, backend=world.client_backend, timeout=0.2).connect()
    await sensor.start_advertising()
    async with BleakClient(device, backend=world.client_backend, timeout=2.0) as client:
        assert await client.read_gatt_char(COACH_INFO) == coach_info("coach-2")


async def test_small_mtu_truncates_and_service_filter(world):
    sensor = await add_coach_sensor(world, "coach-old-fw", max_mtu=23)  # firmware that never raises the MTU
    device = await BleakScanner.find_device_by_name("coach-old-fw", timeout=1.0, backend=world.scanner_backend)
    inbox = Inbox()
    async with BleakClient(device, services=[COACH_SERVICE], backend=world.client_backend) as client:
        assert client.mtu_size == 23
        assert [s.uuid for s in client.services] == [COACH_SERVICE]
        with pytest.raises(BleakError):
            await client.write_gatt_char(COACH_CONTROL, bytes(21), response=False)  # > MTU - 3
        await client.write_gatt_char(COACH_CONTROL, bytes(range(60)), response=True)  # long write
        assert sensor.writes_to(COACH_CONTROL) == [bytes(range(60))]
        await client.start_notify(COACH_DATA, inbox)
        assert await sensor.notify(COACH_DATA, bytes(range(100)))
        await inbox.wait_for(1)
    assert inbox.packets == [bytes(range(20))]  # cut to MTU - 3, as a real stack does
    assert sensor.oversize_notifications == 1


async def test_parallel_connects_are_serialised_or_refused(world):
    sensors = [await add_coach_sensor(world, f"coach-par-{i}") for i in range(3)]
    found = await BleakScanner.discover(timeout=0.1, backend=world.scanner_backend)
    clients = [BleakClient(d, backend=world.client_backend, pair=True) for d in found]
    await asyncio.gather(*(c.connect() for c in clients))  # queued one after the other
    assert all(c.is_connected for c in clients) and all(s.is_connected for s in sensors)
    assert all(s.connection.is_encrypted for s in sensors)  # pair=True: bumble SMP "just works"
    for c in clients:
        await c.disconnect()

    async with BumbleWorld(serialize_connects=False) as strict:  # BlueZ-like: one connect at a time
        for i in range(2):
            await add_coach_sensor(strict, f"coach-strict-{i}")
        found = await BleakScanner.discover(timeout=0.1, backend=strict.scanner_backend)
        results = await asyncio.gather(
            *(BleakClient(d, backend=strict.client_backend).connect() for d in found), return_exceptions=True
        )
        assert results[0] is None and isinstance(results[1], BleakError)


# ---------------------------------------------------------------------------------------------
# Notifications
# ---------------------------------------------------------------------------------------------
@pytest.mark.serial
async def test_notifications_arrive_exact_and_in_order_at_200_per_second(world):
    count = 150
    sensor = await add_coach_sensor(world, "coach-3", rate_hz=200.0, packets=count)
    device = await BleakScanner.find_device_by_name("coach-3", timeout=1.0, backend=world.scanner_backend)
    inbox = Inbox()
    async with BleakClient(device, backend=world.client_backend) as client:
        await client.start_notify(COACH_DATA, inbox)
        started = time.perf_counter()
        await client.write_gatt_char(COACH_CONTROL, b"\x01", response=True)
        await inbox.wait_for(count)
        elapsed = time.perf_counter() - started
        await client.stop_notify(COACH_DATA)
    assert inbox.packets == list(coach_packets(count))
    assert len(inbox.packets[0]) == 8 + 40 * 2 * 2
    assert sensor.stream.sent == count
    assert elapsed > 0.6  # paced at 200/s (150 packets take 0.75 s), not dumped at once


async def test_stop_notify_and_stop_command_end_delivery(world):
    sensor = await add_coach_sensor(world, "coach-4", rate_hz=250.0)
    device = await BleakScanner.find_device_by_name("coach-4", timeout=1.0, backend=world.scanner_backend)
    inbox = Inbox()
    async with BleakClient(device, backend=world.client_backend) as client:
        await client.start_notify(COACH_DATA, inbox)
        await client.write_gatt_char(COACH_CONTROL, b"\x01", response=True)
        await inbox.wait_for(20)
        await client.stop_notify(COACH_DATA)
        assert not sensor.is_subscribed(COACH_DATA)
        received = len(inbox.packets)
        await asyncio.sleep(0.05)
        assert len(inbox.packets) == received  # unsubscribed: nothing more arrives
        assert sensor.stream.unsent > 0  # the sensor kept producing into the void
        await client.write_gatt_char(COACH_CONTROL, b"\x00", response=True)
        await sensor.wait_for(lambda: not sensor.stream.running)


async def test_rotation_over_four_characteristics_with_drops(world):
    myo = await world.add_peripheral(
        name="Myo", services=[ServiceSpec(MYO_EMG_SERVICE, [CharacteristicSpec(u, "notify") for u in MYO_EMG])]
    )
    device = await BleakScanner.find_device_by_name("Myo", timeout=1.0, backend=world.scanner_backend)
    inbox = Inbox()
    packets = [bytes([i]) * 16 for i in range(40)]
    async with BleakClient(device, backend=world.client_backend) as client:
        for uuid in MYO_EMG:  # subscribe to all four before starting (SENSORS.md)
            await client.start_notify(uuid, inbox)
        stream = myo.start_stream(MYO_EMG, packets, rate_hz=400.0, drop={5, 6, 33})
        await stream.wait(timeout=2.0)
        await inbox.wait_for(37)
    assert (stream.sent, stream.dropped) == (37, 3)
    assert inbox.packets == [p for i, p in enumerate(packets) if i not in {5, 6, 33}]
    for k, uuid in enumerate(MYO_EMG):
        assert inbox.by_uuid[uuid] == [p for i, p in enumerate(packets) if i % 4 == k and i not in {5, 6, 33}]


# ---------------------------------------------------------------------------------------------
# Disconnections
# ---------------------------------------------------------------------------------------------
async def test_peripheral_side_disconnect_fires_callback_and_reconnect_resumes(world):
    sensor = await add_coach_sensor(world, "coach-5", rate_hz=200.0)
    device = await BleakScanner.find_device_by_name("coach-5", timeout=1.0, backend=world.scanner_backend)
    lost = asyncio.Event()
    inbox = Inbox()
    client = BleakClient(device, disconnected_callback=lambda c: lost.set(), backend=world.client_backend)
    await client.connect()
    await client.start_notify(COACH_DATA, inbox)
    await client.write_gatt_char(COACH_CONTROL, b"\x01", response=True)
    await inbox.wait_for(20)

    await sensor.disconnect()  # mid-stream
    await asyncio.wait_for(lost.wait(), 1.0)
    assert not client.is_connected
    assert not sensor.stream.running  # firmware stops streaming when the central is gone
    before = len(inbox.packets)
    assert inbox.packets == list(coach_packets(before))

    # The sensor advertises again; the same client reconnects, re-subscribes and restarts.
    lost.clear()
    await client.connect()
    assert sensor.connections_count == 2
    await client.start_notify(COACH_DATA, inbox)
    await client.write_gatt_char(COACH_CONTROL, b"\x01", response=True)
    await inbox.wait_for(before + 20)
    assert inbox.packets[before:] == list(coach_packets(len(inbox.packets) - before))
    await client.disconnect()
    assert lost.is_set()  # as on BlueZ, the callback also fires for a disconnect we asked for
    await sensor.wait_disconnected()


@pytest.mark.serial
async def test_dropped_link_is_noticed_after_the_supervision_timeout(world):
    sensor = await add_coach_sensor(world, "coach-6", rate_hz=200.0)
    device = await BleakScanner.find_device_by_name("coach-6", timeout=1.0, backend=world.scanner_backend)
    lost = asyncio.Event()
    inbox = Inbox()
    client = BleakClient(device, disconnected_callback=lambda c: lost.set(), backend=world.client_backend)
    await client.connect()
    await client.start_notify(COACH_DATA, inbox)
    await client.write_gatt_char(COACH_CONTROL, b"\x01", response=True)
    await inbox.wait_for(10)

    started = time.perf_counter()
    await sensor.drop_link(supervision_timeout=0.3)
    await asyncio.sleep(0.1)
    assert client.is_connected  # the central has not noticed yet: a silent link
    received = len(inbox.packets)
    await asyncio.wait_for(lost.wait(), 1.0)
    assert 0.25 < time.perf_counter() - started < 1.0
    assert len(inbox.packets) == received
    assert not client.is_connected
    await client.connect()  # the sensor advertised again meanwhile
    assert await client.read_gatt_char(COACH_INFO) == coach_info("coach-6")
    await client.disconnect()


async def test_gatt_request_cut_by_a_lost_link_raises_bleak_error(world):
    sensor = await add_coach_sensor(world, "coach-7")
    # The link dies while the sensor handles this write: the response never comes.
    sensor.on_write(lambda w: sensor.drop_link(supervision_timeout=0.2) if w.data == b"\x42" else None, COACH_CONTROL)
    device = await BleakScanner.find_device_by_name("coach-7", timeout=1.0, backend=world.scanner_backend)
    client = BleakClient(device, backend=world.client_backend)
    await client.connect()
    with pytest.raises(BleakError):  # not CancelledError, not a 30 s GATT timeout
        await client.write_gatt_char(COACH_CONTROL, b"\x42", response=True)
    assert not client.is_connected


# ---------------------------------------------------------------------------------------------
# Load
# ---------------------------------------------------------------------------------------------
async def test_four_sensors_streaming_at_once_deliver_at_least_99_percent(world):
    count, rate = 200, 250.0  # 0.8 s of 168-byte packets per sensor, 1000 notifications/s in all
    sensors = [await add_coach_sensor(world, f"coach-load-{i}", rate_hz=rate, packets=count) for i in range(4)]
    found = await BleakScanner.discover(timeout=0.1, service_uuids=[COACH_SERVICE], backend=world.scanner_backend)
    assert {d.address for d in found} == {s.address for s in sensors}

    clients, inboxes = [], []
    for device in found:  # connects are serialised per adapter
        client = BleakClient(device, backend=world.client_backend)
        await client.connect()
        inbox = Inbox()
        await client.start_notify(COACH_DATA, inbox)
        clients.append(client)
        inboxes.append(inbox)
    await asyncio.gather(*(c.write_gatt_char(COACH_CONTROL, b"\x01", response=True) for c in clients))
    await asyncio.gather(*(s.stream.wait(timeout=3.0) for s in sensors))
    await asyncio.sleep(0.05)
    for inbox, sensor in zip(inboxes, sensors):
        assert sensor.stream.sent == count
        assert len(inbox.packets) >= 0.99 * count
        assert inbox.packets == list(coach_packets(count))[: len(inbox.packets)]
    for client in clients:
        await client.disconnect()
