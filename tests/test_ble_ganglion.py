"""The OpenBCI Ganglion as its firmware really behaves: the board's firmware version picks the
decoder, and firmware 3's packing (ported from its source, tests/ganglion_firmware.py) — one ADC
sample in 201 never sent, and a first packet after start whose id belies its data."""

from __future__ import annotations

import numpy as np
import pytest
from ble_encoders import GANGLION_UV_PER_COUNT, encode_ganglion_fw2_stream, ganglion_fw2_decoded_counts
from ble_harness import (  # noqa: F401 - world is a fixture
    ble_source,
    collect,
    samples_of,
    stitched,
    world,
)
from ble_peripherals import Firmware, ganglion_fw3_board, peripheral_spec
from ganglion_firmware import fw3_transmission, fw3_transmitted_counts

from coach_tui.sources.ble.ble_source import BleSensor
from coach_tui.sources.ble.decode_ganglion import unpack_fields
from coach_tui.sources.ble.profiles import PROFILES, profile

FW2, FW3 = PROFILES["ganglion_fw2"], PROFILES["ganglion_fw3"]


def microvolts(counts) -> np.ndarray:
    return (np.asarray(counts, dtype=np.float64) * GANGLION_UV_PER_COUNT).astype(np.float32)


def adc_samples(n: int, seed: int) -> np.ndarray:
    """An EMG-like 24-bit signal on an electrode offset, as the board's ADC reads it."""
    rng = np.random.default_rng(seed)
    return (1_500_000 + np.cumsum(rng.integers(-40_000, 40_000, size=(n, 4)), axis=0)).clip(-(2**23), 2**23 - 1)


# ---------------------------------------------------------------------------------------------
# The board's firmware picks the decoder
# ---------------------------------------------------------------------------------------------
async def test_a_firmware_2_board_configured_as_firmware_3_streams_as_firmware_2_and_says_so(world):
    rng = np.random.default_rng(4)
    counts = np.cumsum(rng.integers(-2000, 2000, size=(2 * 201 + 1, 4)), axis=0)
    sensor = await world.add_peripheral(peripheral_spec(FW2, "Ganglion-1a2b", software_revision="2.0.1"))
    firmware = Firmware(sensor, FW2, lambda: encode_ganglion_fw2_stream(counts, bits=19), rate_hz=200)
    source = ble_source(world, [BleSensor("s1", "ganglion_fw3", name="Ganglion-1a2b")])  # as coach scan wrote it

    blocks = await collect(source, samples_of("s1", len(counts)))
    status = source.status()[0]
    await source.close()

    assert (status.profile, status.notes) == ("ganglion_fw2", [FW2.title, "firmware 2.0.1"])
    assert status.events == [
        "found Ganglion-1a2b by name",
        'board reports firmware 2.0.1: using it (config.toml says ganglion_fw3; set profile = "ganglion_fw2" to match)',
    ]
    indices, samples = stitched(blocks)
    assert np.array_equal(indices, np.arange(len(counts)))
    assert np.array_equal(samples, microvolts(ganglion_fw2_decoded_counts(counts)))
    assert (status.samples_lost, status.malformed) == (0, 0)
    assert firmware.control_writes() == [b"b", b"s"]


# ---------------------------------------------------------------------------------------------
# Firmware 3 as the board packs it
# ---------------------------------------------------------------------------------------------
def test_the_first_packet_after_start_would_read_near_full_scale_and_is_dropped():
    adc = adc_samples(2 * 201, seed=1)
    sent = [p for p in fw3_transmission(adc) if p is not None]
    assert [p[0] for p in sent[:3]] == [99, 100, 101]  # id 99, holding 19-bit data
    misread = (unpack_fields(sent[0][1:], 18) << 6)[:4] * GANGLION_UV_PER_COUNT
    truth = microvolts(fw3_transmitted_counts(adc[:1], 19))[0]
    assert np.abs(misread - truth).max() > 1000  # µV: nonsense, on every channel but the first
    decoder = profile("ganglion_fw3").new_decoder()
    assert decoder.decode(sent[0]) is None
    first = decoder.decode(sent[1])
    assert first.first_index == 2  # the first cycle runs one ring position behind its ids
    np.testing.assert_array_equal(first.samples, microvolts(fw3_transmitted_counts(adc[2:4], 19)))
    assert decoder.stats.malformed == 0


def test_in_18_bit_mode_the_first_packet_s_id_is_255_and_dropped_without_complaint():
    adc = adc_samples(3 * 201, seed=2)
    sent = [p for p in fw3_transmission(adc, use_accel=True) if p is not None]
    assert [p[0] for p in sent[:3]] == [255, 0, 1]
    decoder = profile("ganglion_fw3").new_decoder()
    out = [d for d in (decoder.decode(p) for p in sent) if d is not None]
    indices = np.concatenate([np.arange(d.first_index, d.first_index + 2) for d in out])
    assert indices[0] == 2 and [(d.first_index, d.gap_before, d.unsent) for d in out if d.gap_before] == [
        (201, 1, 1), (402, 1, 1)
    ]
    truth = np.array(fw3_transmitted_counts(adc, 18))
    np.testing.assert_array_equal(np.concatenate([d.samples for d in out]), microvolts(truth[indices]))
    assert decoder.stats.malformed == 0


async def test_firmware_3_never_sends_one_sample_in_201_and_streams_at_199_hz(world):
    cycles = 4
    adc = adc_samples(cycles * 201, seed=3)
    sensor = await world.add_peripheral(peripheral_spec(FW3, "Ganglion 1.3 (c3d4)", software_revision="3.0.2"))
    ganglion_fw3_board(sensor, FW3, adc)
    source = ble_source(world, [BleSensor("s1", "ganglion_fw3", address=sensor.address)])

    last = cycles * 201 - 1  # the last cycle's sample 200 is never sent: its 199 ends the stream
    blocks = await collect(source, lambda b: bool(b) and b[-1].end_index == last)
    status = source.status()[0]
    await source.close()

    gaps = [(b.first_index, b.gap_before, b.resync) for b in blocks if b.gap_before]
    assert gaps == [(201 * c, 1, False) for c in range(1, cycles)]  # each cycle's sample 200
    indices, samples = stitched(blocks)
    assert indices[0] == 2  # samples 0 and 1 came in the first packet after start: dropped
    assert np.array_equal(samples, microvolts(np.array(fw3_transmitted_counts(adc, 19))[indices]))
    # 200 of every 201 ADC samples arrive — at 200 Hz, 199.0 Hz — and none is lost on the link
    per_cycle = [np.count_nonzero((indices >= 201 * c) & (indices < 201 * (c + 1))) for c in range(1, cycles)]
    assert per_cycle == [200] * (cycles - 1)
    assert status.samples_received == len(indices) == 200 * cycles - 2
    assert (status.samples_lost, status.packets_lost, status.loss_fraction) == (0, 0, 0.0)
    # indices count the ADC's samples, the unsent ones too; the measured rate is what is delivered
    assert status.measured_rate_hz == pytest.approx(199.0, rel=0.1)


def test_firmware_3_s_measured_rate_is_what_arrives_199_hz():
    """Sample level, exact arrival times: the ADC runs at 200 Hz, 200 of every 201 samples are sent."""
    from coach_tui.sources.ble.notification_queue import Connection
    from coach_tui.sources.ble.timeline import Timeline
    from coach_tui.sources.block import SensorStatus

    adc = adc_samples(20 * 201, seed=4)
    fw3 = profile("ganglion_fw3")
    timeline = Timeline("s1", fw3, SensorStatus("s1", 200.0, 4))
    timeline.begin(Connection(fw3.new_decoder(), 200.0))
    for k, packet in enumerate(fw3_transmission(adc)):
        if packet is not None:
            timeline.take(packet, k / 200.0, fw3.data_uuids[0])
    assert timeline.status.samples_lost == 0
    assert timeline.status.measured_rate_hz == pytest.approx(200.0 * 200 / 201, abs=0.05)


async def test_firmware_3_packets_lost_on_air_cost_their_two_samples_exactly(world):
    adc = adc_samples(201 + 100, seed=5)
    sensor = await world.add_peripheral(peripheral_spec(FW3, "Ganglion 1.3 (e5f6)", software_revision="3.0.2"))
    ganglion_fw3_board(sensor, FW3, adc, lost={20, 21, 77})
    source = ble_source(world, [BleSensor("s1", "ganglion_fw3", address=sensor.address)])

    blocks = await collect(source, lambda b: bool(b) and b[-1].end_index == 301)
    status = source.status()[0]
    await source.close()

    # packet k of the first cycle holds samples 2k, 2k + 1; then the unsent sample 200
    assert [(b.first_index, b.gap_before) for b in blocks if b.gap_before] == [(44, 4), (156, 2), (201, 1)]
    assert (status.samples_lost, status.packets_lost) == (6, 3)
    indices, samples = stitched(blocks)
    assert np.array_equal(samples, microvolts(np.array(fw3_transmitted_counts(adc, 19))[indices]))
