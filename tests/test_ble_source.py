"""BleSource end to end: bleak's public API against bumble GATT peripherals speaking each profile
(tests/bumble_link, tests/ble_peripherals), packets made by tests/ble_encoders from SENSORS.md.

Assertions are on counts and values, not on timing: the in-process link carries no radio timing,
and a loaded machine only makes things slower."""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
import math
import random
import time

import numpy as np
import pytest
from ble_encoders import (
    GANGLION_UV_PER_COUNT,
    coach_v1_info,
    encode_coach_v1,
    encode_ganglion_fw2_stream,
    encode_myo,
    encode_myoware_ascii,
    encode_myoware_uart_lines,
    ganglion_fw2_decoded_counts,
    ganglion_fw2_packet_spans,
)
from ble_peripherals import Firmware, failing_scanner_backend, ganglion_fw3_board, peripheral_spec
from ganglion_firmware import fw3_transmitted_counts
from bleak.exc import BleakBluetoothNotAvailableError, BleakBluetoothNotAvailableReason, BleakError
from ble_harness import (  # noqa: F401 - world is a fixture
    COACH,
    FAST,
    ble_source,
    coach_stream,
    collect,
    microvolts,
    samples_of,
    stitched,
    wait_until,
    world,
)
from bumble_link import BATTERY_LEVEL_UUID

from coach_tui.dsp.pipeline import Pipeline
from coach_tui.sources.ble.ble_source import NOT_FOUND, BleSensor, BleSettings, BleSource
from coach_tui.sources.ble.profiles import PROFILES
from coach_tui.sources.block import Block
from coach_tui.sources.simulated import SimulatedKit

# ---------------------------------------------------------------------------------------------
# Each profile
# ---------------------------------------------------------------------------------------------
async def test_coach_v1_int16_found_by_service_uuid_streams_exact_values(world):
    rng = np.random.default_rng(1)
    counts = rng.integers(-32768, 32768, size=(2500, 2))  # 2.5 s at 1000 Hz, 20 samples per packet: a measured rate
    sensor = await world.add_peripheral(peripheral_spec(COACH, "coach-a", info=coach_v1_info(2, 1000.0, 0.5)))
    firmware = Firmware(sensor, COACH, lambda: coach_stream(counts, 20), rate_hz=50)
    source = ble_source(world, [BleSensor("s1", "coach_v1")])  # no address, no name: by service UUID

    blocks = await collect(source, samples_of("s1", 2500))
    status = source.status()[0]
    assert status.connected and status.state == "streaming"
    assert (status.address, status.profile, status.channels, status.nominal_rate_hz) == (
        sensor.address, "coach_v1", 2, 1000.0
    )
    assert status.battery_pct == 80.0
    assert (status.samples_received, status.samples_lost, status.packets_lost, status.malformed) == (2500, 0, 0, 0)
    assert status.measured_rate_hz == pytest.approx(1000.0, rel=0.1)
    await source.close()

    indices, samples = stitched(blocks)
    assert samples.dtype == np.float32 and samples.shape == (2500, 2)
    assert np.array_equal(indices, np.arange(2500))
    assert np.array_equal(samples, microvolts(counts, 0.5))
    assert firmware.control_writes() == [b"\x01", b"\x00"]  # start, and stop on close
    assert firmware.subscribed_at_write == [True, True]  # subscribed before the start command
    assert [w.with_response for w in sensor.writes] == [True, True]
    assert source.status()[0].state == "closed" and not source.status()[0].connected
    await sensor.wait_disconnected()


async def test_coach_v1_int24_found_by_name_counts_injected_drops_exactly(world):
    rng = np.random.default_rng(2)
    counts = rng.integers(-(2**23), 2**23, size=(1000, 3))
    dropped = {10, 11, 30}  # packets of 20 samples: 40 samples lost at 200, 20 at 600
    info = coach_v1_info(3, 1000.0, 0.25, fmt="int24")
    sensor = await world.add_peripheral(peripheral_spec(COACH, "coach-b", info=info, advertise_service=False))
    firmware = Firmware(sensor, COACH, lambda: coach_stream(counts, 20, "int24"), rate_hz=50, drop=dropped)
    source = ble_source(world, [BleSensor("s1", "coach_v1", name="coach-b")])

    blocks = await collect(source, samples_of("s1", 1000 - 60))
    await source.close()

    gaps = [(b.first_index, b.gap_before) for b in blocks if b.gap_before]
    assert gaps == [(240, 40), (620, 20)]
    assert not any(b.resync for b in blocks)
    status = source.status()[0]
    assert (status.samples_received, status.samples_lost, status.packets_lost) == (940, 60, 3)
    indices, samples = stitched(blocks)
    assert np.array_equal(samples, microvolts(counts[indices], 0.25))
    assert firmware.control_writes() == [b"\x01", b"\x00"]


async def test_myoware_ble_ascii_envelope_by_address(world):
    profile = PROFILES["myoware_ble"]
    values = np.arange(150) * 3.0 + 0.25  # one ASCII value per notification
    sensor = await world.add_peripheral(peripheral_spec(profile, "MyoWare"))
    firmware = Firmware(sensor, profile, lambda: (encode_myoware_ascii(v) for v in values), rate_hz=100)
    source = ble_source(world, [BleSensor("s1", "myoware_ble", address=sensor.address.lower())])

    blocks = await collect(source, samples_of("s1", 150))
    status = source.status()[0]
    await source.close()

    _, samples = stitched(blocks)
    assert np.array_equal(samples[:, 0], values.astype(np.float32))  # every value, in order
    assert (status.channels, status.nominal_rate_hz, status.battery_pct) == (1, 0.0, None)  # rate unknown
    assert sensor.writes == []  # nothing to start or stop
    assert firmware.streams[0].sent == 150


async def test_myoware_uart_lines_split_across_notifications(world):
    profile = PROFILES["myoware_uart"]
    rows = [(float(e), float(r)) for e, r in zip(range(100, 400), range(2000, 2300))]
    text = encode_myoware_uart_lines(rows)
    chunks = [text[i : i + 20] for i in range(0, len(text), 20)]  # lines cut anywhere, several per chunk
    sensor = await world.add_peripheral(peripheral_spec(profile, "MyoWare-UART"))
    Firmware(sensor, profile, lambda: chunks, rate_hz=200)
    source = ble_source(world, [BleSensor("s1", "myoware_uart", address=sensor.address)])

    blocks = await collect(source, samples_of("s1", 300))
    await source.close()

    _, samples = stitched(blocks)
    assert np.array_equal(samples, np.array(rows, dtype=np.float32))
    assert source.status()[0].malformed == 0
    assert sensor.writes == []


async def test_myo_four_characteristics_exact_and_commands_in_order(world):
    profile = PROFILES["myo"]
    rng = np.random.default_rng(3)
    counts = rng.integers(-128, 128, size=(300, 8))  # 150 notifications of two samples
    sensor = await world.add_peripheral(peripheral_spec(profile, "Myo-left"))
    firmware = Firmware(
        sensor, profile, lambda: (encode_myo(counts[k : k + 2]) for k in range(0, 300, 2)), rate_hz=100
    )
    source = ble_source(world, [BleSensor("s1", "myo", name="Myo-left")])

    blocks = await collect(source, samples_of("s1", 300))
    status = source.status()[0]
    await sensor.notify(BATTERY_LEVEL_UUID, bytes([42]))  # the battery level notifies
    await wait_until(lambda: source.status()[0].battery_pct == 42.0)
    await source.close()

    _, samples = stitched(blocks)
    assert np.array_equal(samples, counts.astype(np.float32))  # rotation over the four, in order
    assert (status.channels, status.nominal_rate_hz, status.battery_pct) == (8, 200.0, 80.0)
    assert firmware.control_writes() == [
        bytes.fromhex("090101"),  # never sleep
        bytes.fromhex("0103030000"),  # raw EMG
        bytes.fromhex("0103000000"),  # close: EMG off
        bytes.fromhex("090100"),  # normal sleep again
    ]
    assert firmware.subscribed_at_write[0]  # all four subscribed before the first command
    assert sum(len(sensor.writes_to(u)) for u in profile.data_uuids) == 0


async def test_ganglion_fw2_lost_packet_mutes_until_raw_packet_and_marks_resync(world):
    profile = PROFILES["ganglion_fw2"]
    rng = np.random.default_rng(4)
    counts = np.cumsum(rng.integers(-2000, 2000, size=(2 * 201 + 1, 4)), axis=0)  # two cycles and a raw
    packets = encode_ganglion_fw2_stream(counts, bits=19)
    spans = ganglion_fw2_packet_spans(len(counts))
    dropped = 10  # a compressed packet of the first cycle: samples 19, 20; muted up to the raw at 201
    sensor = await world.add_peripheral(peripheral_spec(profile, "Ganglion-1a2b", software_revision="2.0.1"))
    firmware = Firmware(sensor, profile, lambda: packets, rate_hz=200, drop={dropped})
    source = ble_source(world, [BleSensor("s1", "ganglion_fw2", name="Ganglion-1a2b")])

    lost = 201 - spans[dropped][0]
    blocks = await collect(source, samples_of("s1", len(counts) - lost))
    await source.close()

    marked = [(b.first_index, b.gap_before, b.resync) for b in blocks if b.gap_before or b.resync]
    assert marked == [(201, lost, True)]
    assert source.status()[0].samples_lost == lost
    assert source.status()[0].notes == [profile.title, "firmware 2.0.1"]
    indices, samples = stitched(blocks)
    expected = (ganglion_fw2_decoded_counts(counts) * GANGLION_UV_PER_COUNT).astype(np.float32)
    assert np.array_equal(samples, expected[indices])
    assert firmware.control_writes() == [b"b", b"s"]
    assert [w.with_response for w in sensor.writes] == [False, False]  # write without response


@pytest.mark.parametrize("key", ["ganglion_fw3", "ganglion_fw2"])
async def test_ganglion_a_whole_lost_cycle_is_counted_from_the_silence(world, key):
    # Paced as the board sends (200 Hz: 100 packets/s); one second of packets — one whole id
    # cycle — never arrives, and the ids alone cannot tell.
    profile = PROFILES[key]
    rng = np.random.default_rng(14)
    if key == "ganglion_fw3":  # as the firmware packs it (test_ble_ganglion.py)
        counts = rng.integers(-(2**23), 2**23, size=(3 * 201, 4))
        truth = np.array(fw3_transmitted_counts(counts, 19))
        last = 3 * 201 - 1  # the third cycle's sample 200 is never sent
        dropped = range(100, 200)  # the second cycle: samples 201…401, its unsent 200 and 401 in the gap
        marked_expected = [(402, 202, False)]
        lost_on_link = 200
    else:
        counts = np.cumsum(rng.integers(-2000, 2000, size=(3 * 201 + 1, 4)), axis=0)
        packets = encode_ganglion_fw2_stream(counts, bits=19)
        truth = ganglion_fw2_decoded_counts(counts)
        spans = ganglion_fw2_packet_spans(len(counts))
        dropped = range(41, 142)  # ids 41…100, the raw packet, 1…40: nothing of this comes out
        marked_expected = [(402, 402 - 81, True)]  # muted until the raw packet of the third cycle
        last = spans[-1][0] + spans[-1][1]
        lost_on_link = marked_expected[0][1]
    sensor = await world.add_peripheral(peripheral_spec(profile, "Ganglion-5e6f"))
    if key == "ganglion_fw3":
        ganglion_fw3_board(sensor, profile, counts, lost=dropped)
    else:
        Firmware(sensor, profile, lambda: packets, rate_hz=100, drop=set(dropped))
    patient = dataclasses.replace(FAST, watchdog_min_silence_s=3.0)  # a second of silence is no dead link
    source = ble_source(world, [BleSensor("s1", key, address=sensor.address)], patient)

    blocks = await collect(source, lambda b: bool(b) and b[-1].end_index == last)
    await source.close()

    assert [(b.first_index, b.gap_before, b.resync) for b in blocks if b.gap_before or b.resync] == marked_expected
    assert source.status()[0].samples_lost == lost_on_link
    indices, samples = stitched(blocks)
    assert np.array_equal(samples, (truth[indices] * GANGLION_UV_PER_COUNT).astype(np.float32))


# ---------------------------------------------------------------------------------------------
# Losing the link
# ---------------------------------------------------------------------------------------------
class CoachFirmware:
    """Endless coach v1 packets of 20 samples whose value is a function of the sample index (and of
    ``seed``), counting either from power-on (free-running: the counter goes on while
    disconnected) or from each start."""

    per_packet = 20

    def __init__(self, rate_hz: float, free_running: bool, seed: int = 0):
        self.rate_hz = rate_hz
        self.free_running = free_running
        self.seed = seed
        self.powered_on = time.monotonic()
        self.starts: list[int] = []

    def counts(self, indices: np.ndarray) -> np.ndarray:
        return ((indices * 31 + self.seed * 4099) % 65536 - 32768).reshape(-1, 1)

    def packets(self):
        first = 0
        if self.free_running:
            first = math.ceil((time.monotonic() - self.powered_on) * self.rate_hz / self.per_packet) * self.per_packet
        self.starts.append(first)
        for index in itertools.count(first, self.per_packet):
            yield encode_coach_v1(self.counts(np.arange(index, index + self.per_packet)), index)


@pytest.mark.parametrize("free_running", [True, False], ids=["counter-continues", "counter-restarts"])
async def test_peripheral_disconnect_mid_stream_reconnects_and_marks_the_gap(world, free_running):
    device = CoachFirmware(1000.0, free_running)
    sensor = await world.add_peripheral(peripheral_spec(COACH, "coach-r", info=coach_v1_info(1, 1000.0, 0.5)))
    firmware = Firmware(sensor, COACH, device.packets, rate_hz=50)
    source = ble_source(world, [BleSensor("s1", "coach_v1", name="coach-r")])

    blocks = await collect(source, lambda b: len(b) >= 30)
    await sensor.disconnect()
    dropped_at = time.monotonic()
    await collect(source, lambda b: any(x.gap_before for x in b) and len(b) >= 90, into=blocks)
    await sensor.wait_for(lambda: sensor.connections_count == 2)
    status = source.status()[0]
    await source.close()

    (resumed,) = [b for b in blocks if b.gap_before]
    assert resumed.resync
    assert status.reconnects == 1 and status.connected
    assert status.samples_lost == resumed.gap_before
    indices, samples = stitched(blocks)
    first_stream, second_stream = firmware.streams
    # streaming again within one backoff (at most 0.2 s here) plus rediscovery, connect and start (~0.1 s)
    assert second_stream.started_at - dropped_at < FAST.backoff_cap_s + 1.0
    if free_running:  # exact: the block index is the device's own counter
        assert resumed.first_index == device.starts[1]
        assert np.array_equal(samples, microvolts(device.counts(indices), 0.5))
    else:  # estimated from the time away at the measured rate
        away = second_stream.started_at - first_stream.finished_at
        assert resumed.gap_before == pytest.approx(away * 1000.0, rel=0.3, abs=50)
        before = indices < resumed.first_index
        assert np.array_equal(samples[before], microvolts(device.counts(indices[before]), 0.5))
        restarted = indices[~before] - resumed.first_index
        assert np.array_equal(samples[~before], microvolts(device.counts(restarted), 0.5))
    assert firmware.control_writes() == [b"\x01", b"\x01", b"\x00"]
    assert firmware.subscribed_at_write == [True, True, True]


async def test_counter_less_myo_reconnect_estimates_the_gap_from_time(world):
    profile = PROFILES["myo"]
    rng = np.random.default_rng(6)
    counts = rng.integers(-128, 128, size=(4000, 8))
    shared = (encode_myo(counts[k : k + 2]) for k in range(0, 4000, 2))  # the sequence goes on
    sensor = await world.add_peripheral(peripheral_spec(profile, "Myo-right"))
    firmware = Firmware(sensor, profile, lambda: shared, rate_hz=100)
    source = ble_source(world, [BleSensor("s1", "myo", name="Myo-right")])

    blocks = await collect(source, lambda b: len(b) >= 50)
    await sensor.disconnect()
    await collect(source, lambda b: any(x.gap_before for x in b) and len(b) >= 150, into=blocks)
    status = source.status()[0]
    await source.close()

    (resumed,) = [b for b in blocks if b.gap_before]
    first_stream, second_stream = firmware.streams[:2]
    away = second_stream.started_at - first_stream.finished_at
    assert resumed.resync and status.reconnects == 1
    assert resumed.gap_before == pytest.approx(away * 200.0, rel=0.3, abs=20)
    _, samples = stitched(blocks)
    sent_before = 2 * first_stream.sent
    assert np.array_equal(samples[:sent_before], counts[:sent_before].astype(np.float32))
    after = samples[sent_before:]
    resumes_at = 2 * (first_stream.index)  # the packet cut by the disconnect is lost with it
    assert np.array_equal(after, counts[resumes_at : resumes_at + len(after)].astype(np.float32))


@pytest.mark.parametrize("how", ["stops-notifying", "link-dropped"])
async def test_silent_link_is_noticed_by_the_watchdog_and_reconnected(world, how):
    device = CoachFirmware(1000.0, free_running=True)
    sensor = await world.add_peripheral(peripheral_spec(COACH, "coach-s", info=coach_v1_info(1, 1000.0, 0.5)))
    firmware = Firmware(sensor, COACH, device.packets, rate_hz=50)
    source = ble_source(world, [BleSensor("s1", "coach_v1", address=sensor.address)])

    blocks = await collect(source, lambda b: len(b) >= 20)
    if how == "stops-notifying":
        sensor.stop_stream()  # the link stays up: only the watchdog can tell
    else:
        await sensor.drop_link(supervision_timeout=5.0)  # the central would notice only after 5 s
    await collect(source, lambda b: any(x.gap_before for x in b) and len(b) >= 60, into=blocks)
    status = source.status()[0]
    await source.close()

    (resumed,) = [b for b in blocks if b.gap_before]
    assert resumed.first_index == device.starts[1]  # the counter went on: the gap is exact
    assert status.reconnects == 1 and status.connected
    indices, samples = stitched(blocks)
    assert np.array_equal(samples, microvolts(device.counts(indices), 0.5))
    assert firmware.control_writes()[:2] == [b"\x01", b"\x01"]
    assert sensor.connections_count == 2


async def test_a_host_held_up_longer_than_the_silence_limit_is_not_a_silent_link(world):
    """The event loop blocked for longer than the watchdog's limit (a first import of scipy on a
    Raspberry Pi): what the sensor sent meanwhile is read, and the link is not called silent."""
    device = CoachFirmware(1000.0, free_running=False)
    sensor = await world.add_peripheral(peripheral_spec(COACH, "coach-h", info=coach_v1_info(1, 1000.0, 0.5)))
    Firmware(sensor, COACH, device.packets, rate_hz=50)
    source = ble_source(world, [BleSensor("s1", "coach_v1", address=sensor.address)])

    blocks = await collect(source, lambda b: len(b) >= 20)
    time.sleep(FAST.watchdog_min_silence_s + 1.0)  # the whole event loop held up, not the link
    await collect(source, lambda b: len(b) >= 80, into=blocks)
    status = source.status()[0]
    await source.close()

    assert status.reconnects == 0 and not any(b.gap_before or b.resync for b in blocks[1:])
    indices, samples = stitched(blocks)
    assert np.array_equal(samples, microvolts(device.counts(indices), 0.5))


# ---------------------------------------------------------------------------------------------
# Several sensors
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("world", [{"serialize_connects": False}], indirect=True, ids=["strict-adapter"])
async def test_four_sensors_streaming_at_once_deliver_at_least_99_percent_exact(world):
    # The world refuses a connect while another is pending (as BlueZ does): the reader's own
    # adapter lock must keep the four connects apart.
    refused = []

    class CountingClient(world.client_backend):
        async def connect(self, pair, **kwargs):
            try:
                await super().connect(pair, **kwargs)
            except BleakError as error:
                refused.append(error)
                raise

    devices, sensors, configured = [], [], []
    for i in range(4):
        device = CoachFirmware(1000.0, free_running=False, seed=i)
        peripheral = await world.add_peripheral(
            peripheral_spec(COACH, f"coach-{i}", info=coach_v1_info(1, 1000.0, 0.5))
        )
        Firmware(peripheral, COACH, device.packets, rate_hz=50)
        devices.append(device)
        sensors.append(peripheral)
        # two by address, one by name, one by service UUID (it must not take a device another names)
        by = [{"address": peripheral.address}, {"name": f"coach-{i}"}, {}, {"address": peripheral.address}][i]
        configured.append(BleSensor(f"s{i}", "coach_v1", **by))
    source = BleSource(configured, FAST, scanner_backend=world.scanner_backend, client_backend=CountingClient)

    blocks = await collect(source, lambda b: all(samples_of(f"s{i}", 1500)(b) for i in range(4)))
    statuses = source.status()
    await source.close()

    assert refused == []
    assert [p.connections_count for p in sensors] == [1, 1, 1, 1]
    assert [s.address for s in statuses] == [p.address for p in sensors]
    for i, device in enumerate(devices):
        indices, samples = stitched(blocks, f"s{i}")
        assert indices[0] == 0 and len(indices) >= 0.99 * indices[-1]
        assert np.array_equal(samples, microvolts(device.counts(indices), 0.5))
        assert statuses[i].reconnects == 0 and statuses[i].connected
    assert all(p.writes_to(COACH.control_uuid) == [b"\x01", b"\x00"] for p in sensors)


async def test_a_sensor_that_never_appears_says_so_and_does_not_hold_up_the_others(world):
    rng = np.random.default_rng(9)
    counts = rng.integers(-32768, 32768, size=(4000, 1))
    present = await world.add_peripheral(peripheral_spec(COACH, "coach-here", info=coach_v1_info(1, 1000.0, 0.5)))
    Firmware(present, COACH, lambda: coach_stream(counts, 20), rate_hz=50)
    settings = dataclasses.replace(FAST, scan_timeout_s=0.3)
    ghost = BleSensor("ghost", "coach_v1", address="C0:DE:AD:00:00:01")
    source = ble_source(world, [ghost, BleSensor("s1", "coach_v1", name="coach-here")], settings)

    blocks = await collect(source, lambda b: len(b) >= 40 and NOT_FOUND in source.status()[0].state)
    ghost, streaming = source.status()
    assert ghost.state.startswith(NOT_FOUND) and "attempt" in ghost.state
    assert not ghost.connected and ghost.samples_received == 0
    assert streaming.connected and streaming.state == "streaming"
    assert {b.sensor_id for b in blocks} == {"s1"}
    started = time.monotonic()
    await source.close()
    assert time.monotonic() - started < 5  # promptly, even mid-scan
    assert [s.state for s in source.status()] == ["closed", "closed"]


@pytest.mark.parametrize(
    ("ghost_adapter", "turn_s"),
    [(None, 0.2), ("hci1", 30.0)],
    ids=["same-adapter-scans-in-turns", "own-adapter-own-lock"],
)
async def test_a_sensor_searching_long_does_not_keep_the_others_from_connecting(world, ghost_adapter, turn_s):
    # The ghost starts first and searches for 30 s. On the same adapter it lets the other sensor
    # connect after one scanning turn; on an adapter of its own it never stands in its way.
    counts = np.random.default_rng(16).integers(-32768, 32768, size=(4000, 1))
    present = await world.add_peripheral(peripheral_spec(COACH, "coach-here", info=coach_v1_info(1, 1000.0, 0.5)))
    Firmware(present, COACH, lambda: coach_stream(counts, 20), rate_hz=50)
    settings = dataclasses.replace(FAST, scan_timeout_s=30.0, scan_turn_s=turn_s)
    ghost = BleSensor("ghost", "coach_v1", address="C0:DE:AD:00:00:02", adapter=ghost_adapter)
    source = ble_source(world, [ghost, BleSensor("s1", "coach_v1", name="coach-here", adapter="hci0")
                                if ghost_adapter else BleSensor("s1", "coach_v1", name="coach-here")], settings)

    blocks = await collect(source, samples_of("s1", 100), timeout=10.0)
    ghost_status = source.status()[0]
    await source.close()
    assert ghost_status.state.startswith("searching for C0:DE:AD:00:00:02") and not ghost_status.connected
    assert {b.sensor_id for b in blocks} == {"s1"}


async def test_the_adapter_of_a_sensor_goes_to_bleak_s_scanner_and_client(world):
    seen = []

    class Scanner(world.scanner_backend):
        def __init__(self, *args, **kwargs):
            seen.append(("scanner", kwargs.get("bluez")))
            super().__init__(*args, **kwargs)

    class Client(world.client_backend):
        def __init__(self, *args, **kwargs):
            seen.append(("client", kwargs.get("bluez")))
            super().__init__(*args, **kwargs)

    counts = np.zeros((400, 1), dtype=int)
    sensor = await world.add_peripheral(peripheral_spec(COACH, "coach-a2", info=coach_v1_info(1, 1000.0, 0.5)))
    Firmware(sensor, COACH, lambda: coach_stream(counts, 20), rate_hz=50)
    source = BleSource([BleSensor("s1", "coach_v1", name="coach-a2", adapter="hci1")], FAST,
                       scanner_backend=Scanner, client_backend=Client)
    await collect(source, samples_of("s1", 100))
    await source.close()
    assert seen == [("scanner", {"adapter": "hci1"}), ("client", {"adapter": "hci1"})]


# ---------------------------------------------------------------------------------------------
# Bad input, a slow consumer, keep-alive, no Bluetooth
# ---------------------------------------------------------------------------------------------
async def test_malformed_packets_are_counted_and_never_raise(world):
    rng = np.random.default_rng(10)
    counts = rng.integers(-32768, 32768, size=(600, 2))
    good = coach_stream(counts, 20)
    bad = [good[3][:-1], b"\x01", b"\x02" + good[4][1:], b""]  # short frame, short header, bad version, empty
    packets = good[:5] + bad + good[5:]
    sensor = await world.add_peripheral(peripheral_spec(COACH, "coach-m", info=coach_v1_info(2, 1000.0, 0.5)))
    Firmware(sensor, COACH, lambda: packets, rate_hz=100)
    source = ble_source(world, [BleSensor("s1", "coach_v1", name="coach-m")])

    blocks = await collect(source, samples_of("s1", 600))
    status = source.status()[0]
    await source.close()

    assert status.malformed == len(bad)
    assert status.samples_lost == 0
    _, samples = stitched(blocks)
    assert np.array_equal(samples, microvolts(counts, 0.5))


async def test_a_corrupt_index_is_rejected_and_the_stream_goes_on(world):
    rng = np.random.default_rng(15)
    counts = rng.integers(-32768, 32768, size=(1000, 1))
    good = coach_stream(counts, 20)
    wild = encode_coach_v1(counts[:20], 2**31 - 1000)  # header-valid, its index corrupt
    packets = good[:20] + [wild] + good[20:]
    sensor = await world.add_peripheral(peripheral_spec(COACH, "coach-w", info=coach_v1_info(1, 1000.0, 0.5)))
    Firmware(sensor, COACH, lambda: packets, rate_hz=50)
    source = ble_source(world, [BleSensor("s1", "coach_v1", name="coach-w")])

    blocks = await collect(source, samples_of("s1", 1000))
    status = source.status()[0]
    await source.close()

    assert (status.malformed, status.samples_lost, status.state) == (1, 0, "streaming")
    indices, samples = stitched(blocks)
    assert np.array_equal(indices, np.arange(1000))
    assert np.array_equal(samples, microvolts(counts, 0.5))


async def test_a_full_queue_drops_notifications_and_the_gaps_say_exactly_how_many(world):
    rng = np.random.default_rng(11)
    counts = rng.integers(-32768, 32768, size=(2000, 1))
    # 100 packets of 20 samples a second: 2000 Hz
    sensor = await world.add_peripheral(peripheral_spec(COACH, "coach-q", info=coach_v1_info(1, 2000.0, 0.5)))
    firmware = Firmware(sensor, COACH, lambda: coach_stream(counts, 20), rate_hz=100)
    tiny_queue = dataclasses.replace(FAST, queue_packets=4)
    source = ble_source(world, [BleSensor("s1", "coach_v1", name="coach-q")], tiny_queue)

    blocks = await collect(source, lambda b: len(b) >= 1)
    await asyncio.sleep(0.4)  # nobody reads: the 4-packet queue overflows
    def everything_sent_arrived(blocks: list[Block]) -> bool:
        return firmware.streams[0].sent == 100 and samples_of("s1", 2000 - source.status()[0].samples_lost)(blocks)

    await collect(source, everything_sent_arrived, into=blocks)
    status = source.status()[0]
    await source.close()

    assert status.host_drops > 0
    assert status.samples_lost == 20 * status.host_drops
    assert status.packets_lost == status.host_drops
    assert status.samples_received + status.samples_lost == 2000
    indices, samples = stitched(blocks)
    assert np.array_equal(samples, microvolts(counts[indices], 0.5))


async def test_a_consumer_may_stop_iterating_and_come_back_without_losing_anything(world):
    rng = np.random.default_rng(13)
    counts = rng.integers(-32768, 32768, size=(1000, 1))
    sensor = await world.add_peripheral(peripheral_spec(COACH, "coach-p", info=coach_v1_info(1, 1000.0, 0.5)))
    firmware = Firmware(sensor, COACH, lambda: coach_stream(counts, 20), rate_hz=200)
    source = ble_source(world, [BleSensor("s1", "coach_v1", name="coach-p")])

    blocks = await collect(source, lambda b: True)
    await firmware.streams[0].wait(timeout=10)  # everything sent while nobody reads: a backlog
    while sum(b.n_samples for b in blocks) < 1000:
        await collect(source, lambda b: True, into=blocks)  # one block per `async for`
    await source.close()

    assert source.status()[0].samples_lost == 0
    _, samples = stitched(blocks)
    assert np.array_equal(samples, microvolts(counts, 0.5))


async def test_keep_alive_command_is_written_on_its_interval(world, monkeypatch):
    profile = dataclasses.replace(PROFILES["myo"], keepalive_command=bytes.fromhex("090101"), keepalive_interval_s=0.1)
    monkeypatch.setitem(PROFILES, "myo", profile)
    counts = np.zeros((2000, 8), dtype=int)
    sensor = await world.add_peripheral(peripheral_spec(profile, "Myo-k"))
    packets = [encode_myo(counts[k : k + 2]) for k in range(0, 2000, 2)]
    firmware = Firmware(sensor, profile, lambda: packets, rate_hz=100)
    source = ble_source(world, [BleSensor("s1", "myo", name="Myo-k")])

    await collect(source, lambda b: len(b) >= 60)
    await source.close()

    writes = firmware.control_writes()
    assert writes[:2] == list(profile.start_commands) and writes[-2:] == list(profile.stop_commands)
    assert writes[2:-2] and set(writes[2:-2]) == {bytes.fromhex("090101")}


async def test_bluetooth_switched_off_becomes_the_status_and_retries_continue():
    powered_off = BleakBluetoothNotAvailableError("No powered adapters.", BleakBluetoothNotAvailableReason.POWERED_OFF)
    off_backend = failing_scanner_backend(powered_off)
    source = BleSource([BleSensor("s1", "coach_v1")], FAST, scanner_backend=off_backend, rng=random.Random(1))

    async def iterate() -> None:
        async for _ in source:
            pass

    iteration = asyncio.ensure_future(iterate())
    await wait_until(lambda: "attempt 2" in source.status()[0].state)
    assert source.status()[0].state.startswith("Bluetooth is off — turn it on")
    await source.close()
    await asyncio.wait_for(iteration, 2)  # iteration ends on close


def test_sensor_and_settings_validation():
    with pytest.raises(ValueError, match="unknown sensor profile"):
        BleSensor("s1", "polar_h10")
    with pytest.raises(ValueError, match="sensor_id"):
        BleSensor("", "myo")
    with pytest.raises(ValueError, match="address"):
        BleSensor("s1", "myo", address="")
    with pytest.raises(ValueError, match="adapter"):
        BleSensor("s1", "myo", adapter=" ")
    with pytest.raises(ValueError, match="queue_packets"):
        BleSettings(queue_packets=0)
    with pytest.raises(ValueError, match="backoff_cap_s"):
        BleSettings(backoff_base_s=2.0, backoff_cap_s=1.0)
    with pytest.raises(ValueError, match="unique"):
        BleSource([BleSensor("s1", "myo"), BleSensor("s1", "coach_v1")])
    with pytest.raises(ValueError, match="same address"):
        BleSource([
            BleSensor("a", "myo", address="AA:BB:CC:DD:EE:FF"),
            BleSensor("b", "myo", address="aa:bb:cc:dd:ee:ff"),
        ])
    status = BleSource([BleSensor("s1", "myo", name="Myo")]).status()[0]
    assert (status.state, status.connected, status.channels, status.nominal_rate_hz, status.profile) == (
        "not started", False, 8, 200.0, "myo"
    )


async def test_close_before_iterating_ends_iteration_at_once():
    source = BleSource([BleSensor("s1", "myo")])
    await source.close()
    await source.close()  # idempotent
    assert [b async for b in source] == []


# ---------------------------------------------------------------------------------------------
# End to end into the signal chain
# ---------------------------------------------------------------------------------------------
async def test_envelope_through_the_reader_equals_the_envelope_of_the_same_samples(world):
    kit = SimulatedKit(2, fs_hz=1000, seed=12, scenario="reps")
    microvolts_true = kit.generate(4.0)[kit.sensors[0].sensor_id]
    counts = np.clip(np.round(microvolts_true / 0.5), -32768, 32767).astype(np.int64).reshape(-1, 1)
    sensor = await world.add_peripheral(peripheral_spec(COACH, "coach-e2e", info=coach_v1_info(1, 1000.0, 0.5)))
    Firmware(sensor, COACH, lambda: coach_stream(counts, 20), rate_hz=200)
    source = ble_source(world, [BleSensor("s1", "coach_v1", name="coach-e2e")])

    live: Pipeline | None = None
    envelopes = []
    async with asyncio.timeout(20):
        async for block in source:
            assert block.gap_before == 0
            if live is None:
                status = source.status()[0]
                live = Pipeline(status.nominal_rate_hz, status.channels)
            envelopes.append(live.process(block.samples).envelope)
            if live.samples_seen >= len(counts):
                break
    await source.close()

    direct = Pipeline(1000.0, 1).process(microvolts(counts, 0.5)).envelope
    assert np.array_equal(np.concatenate(envelopes), direct)
    assert direct.max() > 10 * np.median(direct)  # reps: there are contractions in it


async def test_close_returns_when_a_sensor_task_swallows_its_cancellation(caplog):
    # A Bluetooth stack that catches the cancellation must not hang the console's quit (or a check):
    # close() waits close_timeout_s for the sensors' tasks, then goes on and logs what it left behind.
    source = BleSource([BleSensor("s1", "coach_v1", "AA:BB:CC:DD:EE:01")], BleSettings(close_timeout_s=0.2))
    swallowed = 0

    async def stubborn() -> None:
        nonlocal swallowed
        while True:
            try:
                await asyncio.sleep(10)
            except asyncio.CancelledError:
                swallowed += 1
                if swallowed > 1:
                    raise

    task = asyncio.create_task(stubborn())
    source._tasks.append(task)
    await asyncio.sleep(0)
    started = time.monotonic()
    await asyncio.wait_for(source.close(), timeout=5)
    assert time.monotonic() - started < 2 and swallowed == 1 and not task.done()
    assert "did not stop within 0.2 s of closing" in caplog.text
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
