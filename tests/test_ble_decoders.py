"""BLE profiles and packet decoders: golden byte vectors written out by hand from SENSORS.md, then
property-based round trips through the independent encoders in ``ble_encoders`` with random
signals, drops, counter wraps and injected malformed packets."""

from __future__ import annotations

import itertools
import re

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from coach_tui.sources.ble.decode_coach import CoachSensorInfo, CoachV1Decoder, parse_coach_info
from coach_tui.sources.ble.decode_myo import MyoDecoder
from coach_tui.sources.ble.decode_myoware import MyoWareBleDecoder, MyoWareUartDecoder
from coach_tui.sources.ble.profiles import PROFILES, matching_profile, profile, read_firmware

from ble_encoders import (
    GANGLION_UV_PER_COUNT,
    coach_v1_info,
    encode_coach_v1,
    encode_ganglion_fw2_stream,
    encode_ganglion_fw3_stream,
    ganglion_fw3_packet_starts,
    encode_ganglion_impedance,
    encode_myo,
    encode_myoware_ascii,
    encode_myoware_uart_lines,
    ganglion_fw2_decoded_counts,
    ganglion_fw2_packet_spans,
    ganglion_fw3_decoded_counts,
)

FAST = settings(max_examples=60, deadline=None)


def ganglion_uv(counts) -> np.ndarray:
    """Expected Ganglion output for known counts (float64 product, then float32)."""
    return (np.asarray(counts, dtype=np.float64).reshape(-1, 4) * GANGLION_UV_PER_COUNT).astype(
        np.float32
    )


def fw2():
    return profile("ganglion_fw2").new_decoder()


#: The first packet a firmware-3 board sends after ``b``, which the decoder drops; id 100, as
#: firmware 3.0.0 sends it (3.0.1 and later send id 99: see test_ble_ganglion.py).
FW3_FIRST_AFTER_START = b"\x64" + bytes(19)


def fw3():
    """A firmware-3 decoder past the first packet after start."""
    decoder = profile("ganglion_fw3").new_decoder()
    assert decoder.decode(FW3_FIRST_AFTER_START) is None
    return decoder


def decode_all(decoder, packets):
    """Every non-None decode result, in order."""
    return [out for out in (decoder.decode(p) for p in packets) if out is not None]


# --- profiles -----------------------------------------------------------------------------------

UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


def test_profiles_cover_every_sensor_in_sensors_md():
    assert set(PROFILES) == {
        "coach_v1",
        "myoware_ble",
        "myoware_uart",
        "myo",
        "ganglion_fw2",
        "ganglion_fw3",
    }
    for key, p in PROFILES.items():
        assert p.key == key
        uuids = [p.service_uuid, *p.data_uuids, p.control_uuid, p.info_uuid, p.battery_uuid]
        assert all(UUID.match(u) for u in uuids if u is not None), key
        assert p.units in {"uV", "counts", "unitless"}
        assert p.kind in {"raw", "envelope"}
        assert p.loss_detection in {"sample_counter", "packet_id", "arrival_time"}
        assert p.use_start_notify is True


def test_profile_details_from_sensors_md():
    coach = profile("coach_v1")
    assert coach.info_uuid == "9cc95722-0f40-4a84-bdf4-defc43a196c4"
    assert (coach.start_commands, coach.stop_commands) == ((b"\x01",), (b"\x00",))
    assert coach.battery_uuid == "00002a19-0000-1000-8000-00805f9b34fb"
    assert coach.channels is None and coach.nominal_rate_hz is None
    myo = profile("myo")
    assert myo.data_uuids == (
        "d5060105-a904-deb9-4748-2c7f4a124842",
        "d5060205-a904-deb9-4748-2c7f4a124842",
        "d5060305-a904-deb9-4748-2c7f4a124842",
        "d5060405-a904-deb9-4748-2c7f4a124842",
    )
    assert myo.control_uuid == "d5060401-a904-deb9-4748-2c7f4a124842"
    assert myo.start_commands == (bytes.fromhex("090101"), bytes.fromhex("0103030000"))
    assert myo.stop_commands[0] == bytes.fromhex("0103000000")
    for key in ("ganglion_fw2", "ganglion_fw3"):
        g = profile(key)
        assert g.service_uuid == "0000fe84-0000-1000-8000-00805f9b34fb"
        assert g.data_uuids == ("2d30c082-f39f-4ce6-923f-3484ea480596",)
        assert g.control_uuid == "2d30c083-f39f-4ce6-923f-3484ea480596"
        assert (g.start_commands, g.stop_commands, g.write_with_response) == (
            (b"b",),
            (b"s",),
            False,
        )
    uart = profile("myoware_uart")
    assert (uart.data_uuids, uart.control_uuid) == (
        ("6e400003-b5a3-f393-e0a9-e50e24dcca9e",),
        "6e400002-b5a3-f393-e0a9-e50e24dcca9e",
    )


def test_profile_scale_is_units_per_count_and_the_ganglion_one_is_sensors_md():
    assert PROFILES["ganglion_fw2"].scale == PROFILES["ganglion_fw3"].scale == GANGLION_UV_PER_COUNT
    assert {key: p.scale for key, p in PROFILES.items() if not key.startswith("ganglion")} == {
        "coach_v1": None, "myoware_ble": 1.0, "myoware_uart": 1.0, "myo": 1.0,
    }


@pytest.mark.parametrize(
    ("key", "revision", "note"),
    [
        ("ganglion_fw2", "2.0.1", "firmware 2.0.1"),
        ("ganglion_fw2", "1.1.1", "firmware 1.1.1"),  # firmware 1 sends firmware 2's packets
        ("ganglion_fw3", "v3.1.2", "firmware v3.1.2"),
    ],
)
def test_a_board_whose_firmware_its_profile_reads_is_read_as_configured(key, revision, note):
    choice = read_firmware(profile(key), revision)
    assert (choice.profile.key, choice.note, choice.event) == (key, note, None)


def test_a_board_of_unknown_firmware_is_read_as_configured_with_a_warning():
    choice = read_firmware(profile("ganglion_fw3"), "beta")
    assert choice.profile.key == "ganglion_fw3"
    assert choice.event.startswith("board reports firmware 'beta', which coach-tui does not know: read as "
                                   "OpenBCI Ganglion (firmware 3)")


@pytest.mark.parametrize(("key", "revision", "other"), [("ganglion_fw2", "3.0.0", "ganglion_fw3"),
                                                        ("ganglion_fw3", "2.0.1", "ganglion_fw2"),
                                                        ("ganglion_fw3", "1.1.1", "ganglion_fw2")])
def test_the_board_s_firmware_picks_the_profile_over_the_configured_one(key, revision, other):
    choice = read_firmware(profile(key), revision)
    assert choice.profile.key == other
    assert choice.event == (f"board reports firmware {revision}: using it (config.toml says {key}; "
                            f'set profile = "{other}" to match)')


def test_unknown_profile_names_the_key_and_the_known_ones():
    with pytest.raises(ValueError, match=r"'polar_h10'.*coach_v1.*ganglion_fw3"):
        profile("polar_h10")


@pytest.mark.parametrize(
    ("name", "uuids", "expected"),
    [
        (None, ["9CC9571F-0F40-4A84-BDF4-DEFC43A196C4"], "coach_v1"),
        (
            "ESP32 quad",
            ["6e400001-b5a3-f393-e0a9-e50e24dcca9e", "9cc9571f-0f40-4a84-bdf4-defc43a196c4"],
            "coach_v1",
        ),
        ("MyoWareSensor1", ["ec3af789-2154-49f4-a9fc-bc6c88e9e930"], "myoware_ble"),
        ("UART thing", ["6e400001-b5a3-f393-e0a9-e50e24dcca9e"], "myoware_uart"),
        ("Myo", [], "myo"),
        (None, ["d5060001-a904-deb9-4748-2c7f4a124842"], "myo"),
        ("Ganglion-1a2b", [], "ganglion_fw3"),
        ("Simblee", [], "ganglion_fw3"),
        ("Polar H10", ["0000180d-0000-1000-8000-00805f9b34fb"], None),
        (None, [], None),
    ],
)
def test_matching_profile(name, uuids, expected):
    found = matching_profile(name, uuids)
    assert (found.key if found else None) == expected


def test_new_decoder_per_profile():
    with pytest.raises(ValueError, match="info"):
        profile("coach_v1").new_decoder()
    coach = profile("coach_v1").new_decoder(coach_v1_info(3, 1000.0, 0.5))
    assert coach.channels == 3
    for key in ("myoware_ble", "myoware_uart", "myo", "ganglion_fw2", "ganglion_fw3"):
        decoder = profile(key).new_decoder()
        assert decoder.channels == PROFILES[key].channels
        assert decoder.stats.packets == 0


# --- coach v1: info -----------------------------------------------------------------------------

INFO_INT16 = bytes.fromhex("01000200 00007a44 0000003f") + b"esp32"  # 2 ch, 1000 Hz, 0.5 µV


def test_parse_coach_info():
    assert parse_coach_info(INFO_INT16) == CoachSensorInfo(
        1, "raw", 2, "int16", 1000.0, 0.5, "esp32"
    )
    float_info = parse_coach_info(
        bytes.fromhex("01010802 00004843 0000803f") + "bíceps\0\0".encode()
    )
    assert float_info == CoachSensorInfo(1, "envelope", 8, "float32", 200.0, 1.0, "bíceps")


@pytest.mark.parametrize(
    ("hex_info", "message"),
    [
        ("0100020000007a44", "8 bytes, shorter than its 12-byte header"),
        ("02000200 00007a44 0000003f", "version 2 is not supported"),
        ("01070200 00007a44 0000003f", "kind 7 is unknown"),
        ("01000000 00007a44 0000003f", "0 channels is outside 1–8"),
        ("01000900 00007a44 0000003f", "9 channels is outside 1–8"),
        ("01000203 00007a44 0000003f", "sample format 3 is unknown"),
        ("01000200 00000000 0000003f", "sample rate 0.0 Hz"),
        ("01000200 0000c07f 0000003f", "sample rate nan Hz"),
        ("01000200 00007a44 000000bf", "scale -0.5"),
        ("01000200 00007a44 0000003f ff", "device name is not UTF-8"),
    ],
)
def test_malformed_coach_info_says_what_is_wrong(hex_info, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        parse_coach_info(bytes.fromhex(hex_info))


# --- coach v1: data -----------------------------------------------------------------------------


def coach_decoder(hex_info: str) -> CoachV1Decoder:
    return CoachV1Decoder(parse_coach_info(bytes.fromhex(hex_info)))


def test_coach_v1_int16_packet():
    decoder = CoachV1Decoder(parse_coach_info(INFO_INT16))
    out = decoder.decode(bytes.fromhex("01000200 07000000 0100 ffff 0001 00ff ff7f 0080"))
    assert out.samples.dtype == np.float32
    np.testing.assert_array_equal(out.samples, [[0.5, -0.5], [128.0, -128.0], [16383.5, -16384.0]])
    assert (out.first_index, out.gap_before, out.resync) == (7, 0, False)


def test_coach_v1_int24_packets_unroll_the_counter_across_its_wrap():
    decoder = coach_decoder("01000101 00007a44 0000803e")  # 1 ch, int24, 0.25 µV per count
    first = decoder.decode(bytes.fromhex("01000101 ffffffff 010000 ffff7f 000080 feffff"))
    np.testing.assert_array_equal(first.samples, [[0.25], [2097151.75], [-2097152.0], [-0.5]])
    assert (first.first_index, first.gap_before) == (2**32 - 1, 0)
    wrapped = decoder.decode(bytes.fromhex("01000101 03000000 010000"))
    assert (wrapped.first_index, wrapped.gap_before) == (2**32 + 3, 0)
    after_gap = decoder.decode(bytes.fromhex("01000101 0a000000 020000"))
    assert (after_gap.first_index, after_gap.gap_before) == (2**32 + 10, 6)
    np.testing.assert_array_equal(after_gap.samples, [[0.5]])
    assert decoder.decode(bytes.fromhex("01000101 05000000 020000")) is None
    assert decoder.stats.reasons == {"coach v1: stale packet (index went backwards)": 1}
    assert decoder.decode(bytes.fromhex("01000101 0b000000 030000")).first_index == 2**32 + 11


def test_coach_v1_float32_envelope_packet_ignores_scale_and_rejects_non_finite():
    decoder = coach_decoder("01010102 00004843 00000000")  # envelope, float32, scale 0 unused
    out = decoder.decode(bytes.fromhex("01010102 00000000 0000c03f 000010c0"))
    np.testing.assert_array_equal(out.samples, [[1.5], [-2.25]])
    assert decoder.decode(bytes.fromhex("01010102 02000000 0000c07f")) is None
    assert decoder.stats.reasons == {"coach v1: non-finite float32 sample": 1}
    assert decoder.decode(bytes.fromhex("01010102 02000000 0000803f")).gap_before == 0


@pytest.mark.parametrize(
    ("hex_packet", "reason"),
    [
        ("01000100 05000000 0100020003", "coach v1: length 13 does not match header (expected 14)"),
        ("01000100 05000000", "coach v1: length 8 does not match header (expected 10)"),
        ("0100010005", "coach v1: 5-byte packet is shorter than the 8-byte header"),
        ("02000100 05000000 0100", "coach v1: header version 2 does not match info (1)"),
        ("01010100 05000000 0100", "coach v1: header kind 1 does not match info (0)"),
        ("01000200 05000000 01000200", "coach v1: header channels 2 does not match info (1)"),
        ("01000101 05000000 010000", "coach v1: header sample format 1 does not match info (0)"),
    ],
)
def test_malformed_coach_v1_packet_is_counted_and_shifts_nothing(hex_packet, reason):
    decoder = coach_decoder("01000100 00007a44 0000803f")  # 1 ch, int16, 1 µV per count
    assert decoder.decode(bytes.fromhex("01000100 03000000 0100 0200")).first_index == 3
    assert decoder.decode(bytes.fromhex(hex_packet)) is None
    out = decoder.decode(bytes.fromhex("01000100 05000000 0300"))
    np.testing.assert_array_equal(out.samples, [[3.0]])
    assert (out.first_index, out.gap_before) == (5, 0)
    assert (decoder.stats.packets, decoder.stats.malformed) == (3, 1)
    assert decoder.stats.reasons == {reason: 1}


STALE = "coach v1: stale packet (index went backwards)"
UNEXPLAINED = "coach v1: index jumps further ahead than the time since the last packet explains"


def ramp_packets(first: int, count: int, per_packet: int = 20) -> list[bytes]:
    """Coach v1 int16 packets of a ramp whose value is the sample index (mod 2**15)."""
    return [
        encode_coach_v1((np.arange(k, k + per_packet) % 2**15).reshape(-1, 1), k)
        for k in range(first, first + count * per_packet, per_packet)
    ]


def test_coach_v1_a_jump_ahead_the_elapsed_time_cannot_explain_is_rejected_as_corrupt():
    decoder = CoachV1Decoder(parse_coach_info(coach_v1_info(1, 1000.0, 1.0)))  # 20 ms a packet
    good = ramp_packets(0, 10)
    wild = encode_coach_v1(np.zeros((20, 1), dtype=int), 2**31 - 7)  # header-valid, index corrupt
    after_a_second = ramp_packets(1200, 1)[0]  # 1 s lost: 1000 samples
    stream = [*good[:5], wild, *good[5:], after_a_second]
    elapsed = [None, 0.02, 0.02, 0.02, 0.02, 0.01, 0.01, 0.02, 0.02, 0.02, 0.02, 1.02]
    outputs = decode_timed(decoder, stream, elapsed)
    assert [(o.first_index, o.gap_before, o.resync) for o in outputs] == [
        *((k, 0, False) for k in range(0, 200, 20)), (1200, 1000, False)
    ]
    np.testing.assert_array_equal(np.concatenate([o.samples for o in outputs[:10]])[:, 0], np.arange(200))
    assert decoder.stats.reasons == {UNEXPLAINED: 1}


def test_coach_v1_time_counts_from_the_last_packet_taken_through_rejected_ones():
    decoder = CoachV1Decoder(parse_coach_info(coach_v1_info(1, 1000.0, 1.0)))
    first, later = ramp_packets(0, 1)[0], ramp_packets(1020, 1)[0]  # 1 s lost in between
    assert decoder.decode(first).first_index == 0
    assert decoder.decode(b"\x01\x00", elapsed_s=0.98) is None  # a short packet during the loss
    out = decoder.decode(later, elapsed_s=0.04)
    assert (out.first_index, out.gap_before) == (1020, 1000)


@pytest.mark.parametrize(("wild_index", "reason"), [(1_000_000, STALE), (3_000_000_000, UNEXPLAINED)])
def test_coach_v1_re_anchors_on_three_packets_in_a_row_that_continue_each_other(wild_index, reason):
    # The first packet of a connection has nothing to be checked against: a corrupt index there
    # puts every genuine packet out of sequence, until three of them agree.
    decoder = CoachV1Decoder(parse_coach_info(coach_v1_info(1, 1000.0, 1.0)))
    wild = encode_coach_v1(np.zeros((20, 1), dtype=int), wild_index)
    good = ramp_packets(0, 6)
    outputs = decode_timed(decoder, [wild, *good], [None] + [0.02] * 6)
    resumed = wild_index + 20 + 40  # after the wild packet's samples and the two rejected packets'
    assert [(o.first_index, o.gap_before, o.resync) for o in outputs] == [
        (wild_index, 0, False), (resumed, 40, True), (resumed + 20, 0, False), (resumed + 40, 0, False),
        (resumed + 60, 0, False),
    ]
    np.testing.assert_array_equal(np.concatenate([o.samples for o in outputs[1:]])[:, 0], np.arange(40, 120))
    assert decoder.stats.reasons == {reason: 2}


def test_coach_v1_out_of_sequence_packets_that_do_not_continue_each_other_never_re_anchor():
    decoder = CoachV1Decoder(parse_coach_info(coach_v1_info(1, 1000.0, 1.0)))
    good = ramp_packets(0, 8)
    stale = [good[1], good[3], good[0], good[2]]  # backwards, and never one after the other
    outputs = decode_timed(decoder, [*good[:4], *stale, *good[4:]], [None] + [0.02] * 11)
    assert [(o.first_index, o.gap_before, o.resync) for o in outputs] == [(k, 0, False) for k in range(0, 160, 20)]
    assert decoder.stats.reasons == {STALE: 4}


# --- MyoWare ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("packet", "value"),
    [
        (b"1843.00", 1843.0),
        (b"-12.5", -12.5),
        (b"7", 7.0),
        (b" 42.25\r\n", 42.25),
        (b"0.5\x00", 0.5),
    ],
)
def test_myoware_ble_value(packet, value):
    out = MyoWareBleDecoder().decode(packet)
    np.testing.assert_array_equal(out.samples, np.array([[value]], dtype=np.float32))
    assert (out.first_index, out.gap_before, out.resync) == (None, 0, False)


@pytest.mark.parametrize(
    "packet",
    [
        b"",
        b"nan",
        b"inf",
        b"-inf",
        b"abc",
        b"1.2.3",
        b"1e999",
        b"\xff\xfe",
        b"1" * 65,
        b"12,5",
        b".",
    ],
)
def test_myoware_ble_garbage_is_counted_and_skipped(packet):
    decoder = MyoWareBleDecoder()
    assert decoder.decode(packet) is None
    assert decoder.stats.reasons == {"myoware ble: not a decimal number": 1}


def test_myoware_uart_lines_split_and_packed_across_notifications():
    decoder = MyoWareUartDecoder()
    np.testing.assert_array_equal(decoder.decode(b"12.5,2048\n3").samples, [[12.5, 2048.0]])
    np.testing.assert_array_equal(decoder.decode(b"00,1024\r\n").samples, [[300.0, 1024.0]])
    np.testing.assert_array_equal(decoder.decode(b"1,2\n3,4\n5,").samples, [[1, 2], [3, 4]])
    assert decoder.decode(b"") is None
    out = decoder.decode(b"6\n")
    np.testing.assert_array_equal(out.samples, [[5.0, 6.0]])
    assert out.samples.dtype == np.float32 and out.first_index is None
    assert decoder.stats.malformed == 0


def test_myoware_uart_garbage_lines_are_counted_blank_lines_ignored():
    decoder = MyoWareUartDecoder()
    out = decoder.decode(b"abc,1\n1,2,3\nnan,4\n\r\n\n7,8\n")
    np.testing.assert_array_equal(out.samples, [[7.0, 8.0]])
    assert decoder.stats.reasons == {"myoware uart: line is not '<envelope>,<raw>'": 3}


def test_myoware_uart_overlong_partial_line_is_dropped_up_to_the_next_line_end():
    decoder = MyoWareUartDecoder()
    assert decoder.decode(b"1" * 70) is None
    assert decoder.decode(b"1" * 70) is None
    out = decoder.decode(b"23,45\n11,12\n")  # "…23,45" is the tail of the dropped line
    np.testing.assert_array_equal(out.samples, [[11.0, 12.0]])
    assert decoder.stats.reasons == {"myoware uart: no line end within 64 bytes": 1}


# --- Myo ----------------------------------------------------------------------------------------


def test_myo_packet_is_two_samples_sample_major():
    out = MyoDecoder().decode(bytes.fromhex("00017f80ff02fe10 f0e0d0c0b0a09080"))
    np.testing.assert_array_equal(
        out.samples,
        [[0, 1, 127, -128, -1, 2, -2, 16], [-16, -32, -48, -64, -80, -96, -112, -128]],
    )
    assert out.samples.dtype == np.float32
    assert (out.first_index, out.gap_before) == (None, 0)


@pytest.mark.parametrize("length", [0, 15, 17, 32])
def test_myo_wrong_length_is_counted(length):
    decoder = MyoDecoder()
    assert decoder.decode(bytes(length)) is None
    assert decoder.stats.reasons == {f"myo: {length}-byte notification (expected 16)": 1}


# --- Ganglion -----------------------------------------------------------------------------------

RAW_1000 = bytes.fromhex("00 0003e8 0007d0 fff448 000000 41424344454647")  # 1000 2000 -3000 0
#: id 1, 18-bit fields d1 = (2, -3, 0, 4), d2 = (-1, 6, -5, 0), then the accelerometer byte
FW2_18_BIT = "01 0000bfffd000000004ffffc0006fffec0000"


def test_ganglion_raw_packet():
    out = fw2().decode(
        bytes.fromhex("00 000001 ffffff 7fffff 800000 41424344454647")
    )
    np.testing.assert_array_equal(out.samples, ganglion_uv([1, -1, 8388607, -8388608]))
    assert (out.first_index, out.gap_before, out.resync) == (0, 0, False)


@pytest.mark.parametrize("accel", ["00", "7f", "ff"])
def test_ganglion_fw2_18_bit_deltas(accel):
    # s1 = last - d1, s2 = s1 - d2
    decoder = fw2()
    decoder.decode(RAW_1000)
    out = decoder.decode(bytes.fromhex(FW2_18_BIT + accel))
    np.testing.assert_array_equal(
        out.samples, ganglion_uv([[998, 2003, -3000, -4], [999, 1997, -2995, -4]])
    )
    assert (out.first_index, out.gap_before, out.resync) == (1, 0, False)


def test_ganglion_fw2_19_bit_deltas():
    # raw (0, 0, 100, -100); fields d1 = (262142, -262143, 10, -7), d2 = (0, 0, -1, 2)
    decoder = fw2()
    decoder.decode(bytes.fromhex("00 000000 000000 000064 ffff9c 41424344454647"))
    out = decoder.decode(bytes.fromhex("65 7fffd0000400057fff90000000003ffff80002"))
    np.testing.assert_array_equal(
        out.samples, ganglion_uv([[-262142, 262143, 90, -93], [-262142, 262143, 91, -95]])
    )
    assert out.first_index == 1


def test_ganglion_fw2_mutes_after_a_loss_until_the_next_raw_packet():
    decoder = fw2()
    assert decoder.decode(RAW_1000).first_index == 0
    assert decoder.decode(bytes.fromhex(FW2_18_BIT + "00")).first_index == 1
    assert decoder.decode(b"\x03" + bytes(19)) is None  # id 2 lost, so id 3 is muted
    assert decoder.decode(b"\x64" + bytes(19)) is None  # ids 4…99 lost, 100 muted
    resync = decoder.decode(bytes.fromhex("00 000005 000006 000007 000008 41424344454647"))
    np.testing.assert_array_equal(resync.samples, ganglion_uv([5, 6, 7, 8]))
    # samples 3…200 never came out: ids 2…100 are 99 packets of 2
    assert (resync.first_index, resync.gap_before, resync.resync) == (201, 198, True)
    following = decoder.decode(b"\x01" + bytes(19))
    np.testing.assert_array_equal(following.samples, ganglion_uv([[5, 6, 7, 8], [5, 6, 7, 8]]))
    assert (following.first_index, following.gap_before, following.resync) == (202, 0, False)
    assert decoder.stats.malformed == 0


def test_ganglion_fw2_joining_mid_cycle_mutes_until_the_first_raw_packet():
    decoder = fw2()
    assert decoder.decode(b"\xc7" + bytes(19)) is None  # id 199: position 99, samples 197-198
    assert decoder.decode(b"\xc8" + bytes(19)) is None
    raw = decoder.decode(RAW_1000)
    assert (raw.first_index, raw.gap_before, raw.resync) == (201, 4, True)


def test_ganglion_fw3_18_bit_absolute_values():
    # fields (1, -1, 131071, -131072), (0, 2, -2, 100), each << 6; id 5 holds samples 10 and 11
    out = fw3().decode(bytes.fromhex("05 00007ffff7fffe0000000000002ffff80064 00"))
    np.testing.assert_array_equal(
        out.samples, ganglion_uv([[64, -64, 8388544, -8388608], [0, 128, -128, 6400]])
    )
    assert (out.first_index, out.gap_before, out.resync) == (10, 0, False)


def test_ganglion_fw3_19_bit_absolute_values():
    # fields (262143, -262144, 3, -3), (1, -1, 0, 7), each << 5; id 150 holds samples 100 and 101
    out = fw3().decode(bytes.fromhex("96 7ffff000000001ffffd00003ffffc000000007"))
    np.testing.assert_array_equal(
        out.samples, ganglion_uv([[8388576, -8388608, 96, -96], [32, -32, 0, 224]])
    )
    assert out.first_index == 100


def test_ganglion_fw3_id_0_is_data_and_a_loss_costs_only_its_samples():
    decoder = fw3()
    assert decoder.decode(b"\x63" + bytes(19)).first_index == 198  # id 99
    first = decoder.decode(b"\x00" + bytes(19))
    np.testing.assert_array_equal(first.samples, np.zeros((2, 4), dtype=np.float32))
    # sample 200 of the cycle is never sent: a gap, but no loss on the link
    assert (first.first_index, first.gap_before, first.unsent) == (201, 1, 1)
    after_loss = decoder.decode(b"\x03" + bytes(19))  # ids 1 and 2 lost
    assert (after_loss.first_index, after_loss.gap_before, after_loss.resync, after_loss.unsent) == (207, 4, False, 0)


@pytest.mark.parametrize(("lost", "gap"), [(100, 201), (150, 301), (2, 4)], ids=["one-cycle", "1.5-cycles", "short"])
def test_ganglion_fw3_whole_lost_cycles_are_counted_from_the_silence(lost, gap):
    # a notification when its second sample is taken (200 Hz); packets 10 … 10 + lost - 1 never
    # arrive; a lost cycle also holds its unsent sample 200
    starts = ganglion_fw3_packet_starts(lost + 20)
    counts = random_walk(np.random.default_rng(21), starts[-1] + 2, 2**20)
    truth = ganglion_fw3_decoded_counts(counts, 18)
    packets = encode_ganglion_fw3_stream(counts, bits=18)
    decoder = fw3()
    assert decoder.decode(packets[0]).first_index == 0
    assert [decoder.decode(packets[k], elapsed_s=0.01).gap_before for k in range(1, 10)] == [0] * 9
    after = decoder.decode(packets[10 + lost], elapsed_s=(starts[10 + lost] - starts[9]) / 200.0)
    assert (after.first_index, after.gap_before) == (20 + gap, gap)
    np.testing.assert_array_equal(after.samples, ganglion_uv(truth[20 + gap : 22 + gap]))
    following = decoder.decode(packets[11 + lost], elapsed_s=0.01)
    assert (following.first_index, following.gap_before) == (22 + gap, 0)


def test_ganglion_silence_adds_up_through_impedance_reports_and_rejected_packets():
    decoder = fw3()
    decoder.decode(b"\x05" + bytes(19))  # id 5: samples 10, 11
    assert decoder.decode(encode_ganglion_impedance(1, 5000), elapsed_s=0.4) is None
    assert decoder.decode(b"\x05" + bytes(5), elapsed_s=0.3) is None  # truncated
    out = decoder.decode(b"\x06" + bytes(19), elapsed_s=0.31)  # id 6, one cycle later: 1.01 s
    assert (out.first_index, out.gap_before) == (213, 201)


def test_ganglion_without_arrival_times_ids_alone_count_modulo_the_cycle():
    decoder = fw3()
    decoder.decode(b"\x05" + bytes(19))
    out = decoder.decode(b"\x06" + bytes(19))  # a cycle may have been lost: nothing says so
    assert (out.first_index, out.gap_before) == (12, 0)


@pytest.mark.parametrize("lost", [101, 152, 1], ids=["one-cycle", "1.5-cycles", "short"])
def test_ganglion_fw2_after_whole_lost_cycles_nothing_comes_out_until_the_raw_packet(lost):
    n_samples = 4 * 201 + 1  # four cycles and the raw packet of the fifth
    counts = random_walk(np.random.default_rng(22), n_samples, 1000)
    truth = ganglion_fw2_decoded_counts(counts)
    spans = ganglion_fw2_packet_spans(n_samples)
    packets = encode_ganglion_fw2_stream(counts, bits=19)
    received = [*range(41), *range(41 + lost, len(packets))]  # packets 41 … 40 + lost never arrive
    ready_s = [(start + size) / 200.0 for start, size in spans]
    decoder = fw2()
    emitted = []
    for k, previous in zip(received, [None, *received]):
        out = decoder.decode(packets[k], elapsed_s=None if previous is None else ready_s[k] - ready_s[previous])
        if out is not None:
            emitted.append((k, out))

    resumed_at = next(k for k in received if k > 40 and spans[k][1] == 1)  # the next raw packet
    assert [k for k, _ in emitted] == [*range(41), *(k for k in received if k >= resumed_at)]
    raw = emitted[41][1]
    start = spans[resumed_at][0]
    assert (raw.first_index, raw.gap_before, raw.resync) == (start, start - spans[41][0], True)
    for k, out in emitted:  # never a sample decoded from a stale base
        first, size = spans[k]
        assert out.first_index == first
        np.testing.assert_array_equal(out.samples, ganglion_uv(truth[first : first + size]))


@pytest.mark.parametrize("new_decoder", [fw2, fw3])
def test_ganglion_impedance_reports(new_decoder):
    decoder = new_decoder()
    assert decoder.decode(bytes.fromhex("c9") + b"12345Z") is None
    assert decoder.decode(bytes.fromhex("cd") + b"500Z\n") is None
    assert decoder.decode(bytes.fromhex("cb") + b"678") is None
    assert decoder.impedance_ohms == {1: 12345.0, 5: 500.0, 3: 678.0}
    assert decoder.stats.malformed == 0
    assert decoder.decode(bytes.fromhex("ca") + b"12a4Z") is None
    assert decoder.decode(bytes.fromhex("cc") + b"Z") is None
    assert decoder.stats.malformed == 2
    assert decoder.impedance_ohms == {1: 12345.0, 5: 500.0, 3: 678.0}


@pytest.mark.parametrize(
    ("new_decoder", "packet", "reason"),
    [
        (fw2, b"", "ganglion fw2: empty notification"),
        (fw2, b"\xce" + bytes(19), "ganglion fw2: unknown packet id 206"),
        (fw2, b"\xff" + bytes(19), "ganglion fw2: unknown packet id 255"),
        (
            fw2,
            b"\x05" + bytes(18),
            "ganglion fw2: sample packet of 19 bytes (expected 20)",
        ),
        (fw3, b"\xc8" + bytes(19), "ganglion fw3: unknown packet id 200"),
        (
            fw3,
            b"\x00" + bytes(20),
            "ganglion fw3: sample packet of 21 bytes (expected 20)",
        ),
    ],
)
def test_ganglion_malformed_packets(new_decoder, packet, reason):
    decoder = new_decoder()
    assert decoder.decode(packet) is None
    assert decoder.stats.reasons == {reason: 1}


# --- property-based round trips -----------------------------------------------------------------

COACH_RANGES = {"int16": 2**15, "int24": 2**23}


@FAST
@given(
    fmt=st.sampled_from(["int16", "int24", "float32"]),
    channels=st.integers(1, 8),
    sizes=st.lists(st.integers(1, 12), min_size=1, max_size=25),
    start=st.one_of(st.integers(2**32 - 300, 2**32 - 1), st.integers(0, 2**32 - 1)),
    scale=st.sampled_from([0.5, 0.0185, 1.0, 3.3]),
    drops=st.sets(st.integers(0, 24), max_size=8),
    injections=st.dictionaries(
        st.integers(0, 25), st.sampled_from(["truncated", "header", "short", "stale", "wild"]), max_size=6
    ),
    timed=st.booleans(),
    seed=st.integers(0, 2**32 - 1),
)
def test_coach_v1_round_trip(fmt, channels, sizes, start, scale, drops, injections, timed, seed):
    rng = np.random.default_rng(seed)
    n = sum(sizes)
    if fmt == "float32":
        signal = rng.normal(0.0, 500.0, (n, channels)).astype(np.float32)
        expected_uv = signal
    else:
        bound = COACH_RANGES[fmt]
        signal = rng.integers(-bound, bound, (n, channels))
        expected_uv = (signal * float(np.float32(scale))).astype(np.float32)
    decoder = CoachV1Decoder(parse_coach_info(coach_v1_info(channels, 1000.0, scale, fmt=fmt)))

    # Timed: packet k (and what is injected before it) arrives when its last sample is ready, at
    # 1000 Hz. A wild packet holds a corrupt index that no other continues; without arrival times
    # it could not be told from a loss.
    stream, arrivals, kept, injected, last_sent = [], [], [], 0, None
    offsets = np.concatenate([[0], np.cumsum(sizes)])
    for k, size in enumerate(sizes):
        samples = signal[offsets[k] : offsets[k + 1]]
        packet = encode_coach_v1(samples, start + offsets[k], fmt=fmt)
        variant = injections.get(k)
        # before the first packet there is nothing to be stale or wild against
        if variant in ("stale", "wild") and (last_sent is None or (variant == "wild" and not timed)):
            variant = "truncated"
        if variant:
            stream.append(
                {
                    "truncated": packet[:-1],
                    "header": packet[:2] + bytes([channels + 1]) + packet[3:],
                    "short": packet[:5],
                    "stale": last_sent,
                    "wild": encode_coach_v1(samples, start + offsets[k] + 2**30 + 1_000_003 * k, fmt=fmt),
                }[variant]
            )
            arrivals.append(offsets[k + 1] / 1000.0)
            injected += 1
        if k not in drops:
            stream.append(packet)
            arrivals.append(offsets[k + 1] / 1000.0)
            kept.append(k)
            last_sent = packet
    elapsed = [None, *np.diff(arrivals)] if timed else [None] * len(stream)

    outputs = decode_timed(decoder, stream, elapsed)
    assert len(outputs) == len(kept)
    assert (decoder.stats.packets, decoder.stats.malformed) == (len(stream), injected)
    if not kept:
        return
    # the decoder unrolls the counter from the first index it sees
    wraps = (start + offsets[kept[0]]) // 2**32 * 2**32
    previous_end = None
    for k, out in zip(kept, outputs):
        np.testing.assert_array_equal(out.samples, expected_uv[offsets[k] : offsets[k + 1]])
        assert out.first_index == start + offsets[k] - wraps
        assert out.gap_before == (0 if previous_end is None else offsets[k] - previous_end)
        previous_end = offsets[k + 1]


MYOWARE_GARBAGE = [b"", b"nan", b"abc", b"1.2.3", b"\xff\xfe", b"9" * 70, b"--1"]


@FAST
@given(
    centi_counts=st.lists(st.integers(-409_500, 409_500), max_size=40),
    garbage=st.lists(st.tuples(st.integers(0, 40), st.sampled_from(MYOWARE_GARBAGE)), max_size=8),
)
def test_myoware_ble_round_trip(centi_counts, garbage):
    packets = [encode_myoware_ascii(c / 100) for c in centi_counts]
    for position, junk in sorted(garbage, reverse=True):
        packets.insert(min(position, len(packets)), junk)
    decoder = MyoWareBleDecoder()
    outputs = decode_all(decoder, packets)
    values = [out.samples[0, 0] for out in outputs]
    assert values == [np.float32(c / 100) for c in centi_counts]
    assert decoder.stats.malformed == len(garbage)


UART_GARBAGE = [b"abc,1\n", b"1,2,3\n", b"nan,4\n", b"12\n", b",\n", b"\xff\xfe,1\n", b"1;2\n"]


@FAST
@given(
    rows=st.lists(st.tuples(st.integers(0, 4095), st.integers(0, 4095)), max_size=40),
    garbage=st.lists(st.tuples(st.integers(0, 40), st.sampled_from(UART_GARBAGE)), max_size=6),
    cuts=st.sets(st.integers(1, 600), max_size=40),
)
def test_myoware_uart_round_trip(rows, garbage, cuts):
    lines = [encode_myoware_uart_lines([row]) for row in rows]
    for position, junk in sorted(garbage, reverse=True):
        lines.insert(min(position, len(lines)), junk)
    text = b"".join(lines)
    bounds = [0, *sorted(c for c in cuts if c < len(text)), len(text)]
    decoder = MyoWareUartDecoder()
    outputs = decode_all(decoder, [text[a:b] for a, b in itertools.pairwise(bounds)])
    decoded = np.concatenate([out.samples for out in outputs]) if outputs else np.empty((0, 2))
    np.testing.assert_array_equal(decoded, np.array(rows, dtype=np.float32).reshape(-1, 2))
    assert decoder.stats.malformed == len(garbage)


@FAST
@given(
    n_packets=st.integers(0, 30),
    garbage=st.lists(
        st.tuples(st.integers(0, 30), st.sampled_from([0, 1, 15, 17, 32])), max_size=6
    ),
    seed=st.integers(0, 2**32 - 1),
)
def test_myo_round_trip(n_packets, garbage, seed):
    signal = np.random.default_rng(seed).integers(-128, 128, (n_packets, 2, 8))
    packets = [encode_myo(two) for two in signal]
    for position, length in sorted(garbage, reverse=True):
        packets.insert(min(position, len(packets)), bytes(length))
    decoder = MyoDecoder()
    outputs = decode_all(decoder, packets)
    assert len(outputs) == n_packets
    for two, out in zip(signal, outputs):
        np.testing.assert_array_equal(out.samples, two)
    assert decoder.stats.malformed == len(garbage)


def random_walk(rng, n: int, max_step: int) -> np.ndarray:
    """A 4-channel int24 signal whose steps never exceed ``max_step`` (clipping only shrinks
    them)."""
    steps = rng.integers(-max_step, max_step + 1, (n, 4))
    return np.clip(rng.integers(-(2**22), 2**22, 4) + np.cumsum(steps, axis=0), -(2**23), 2**23 - 1)


GANGLION_JUNK = ["unknown_id", "truncated", "long", "bad_impedance", "impedance"]


def ganglion_stream(packets, drops, injections, last_sample_id):
    """The packets as received: ``drops`` removed, junk inserted before the packets named in
    ``injections``. Returns (stream, the packet number each notification of the stream was sent
    with, kept packet numbers, malformed injected, impedance sent)."""
    unknown_ids = [i for i in range(last_sample_id + 1, 256) if not 201 <= i <= 205]
    stream, owners, kept, malformed, impedance = [], [], [], 0, {}
    for k, packet in enumerate(packets):
        junk = injections.get(k)
        if junk == "impedance":
            channel = k % 5 + 1
            stream.append(encode_ganglion_impedance(channel, 1000 + k))
            impedance[channel] = 1000.0 + k
        elif junk:
            stream.append(
                {
                    "unknown_id": bytes([unknown_ids[k % len(unknown_ids)]]) + packet[1:],
                    "truncated": packet[:19],
                    "long": packet + b"\x00",
                    "bad_impedance": b"\xcb12x4Z",
                }[junk]
            )
            malformed += 1
        if junk:
            owners.append(k)
        if k not in drops:
            stream.append(packet)
            owners.append(k)
            kept.append(k)
    return stream, owners, kept, malformed, impedance


#: Longest a notification is held up on its way (a board's buffer, a connection event): well under
#: the half cycle (0.5 s) that the decoders take for a lost cycle.
MAX_DELAY_S = 0.3


def elapsed_between(owners, ready_s, rng) -> list[float | None]:
    """``elapsed_s`` of each received notification, sent with packet ``k`` when its last sample was
    ready (``ready_s[k]``, seconds) and arriving up to ``MAX_DELAY_S`` later, in order."""
    elapsed, previous = [], None
    for k in owners:
        arrival = ready_s[k] + rng.uniform(0.0, MAX_DELAY_S)
        arrival = arrival if previous is None else max(arrival, previous)
        elapsed.append(None if previous is None else arrival - previous)
        previous = arrival
    return elapsed


def decode_timed(decoder, stream, elapsed):
    """Every non-None decode result of ``stream`` given each notification's ``elapsed_s``."""
    outputs = (decoder.decode(packet, elapsed_s=e) for packet, e in zip(stream, elapsed))
    return [out for out in outputs if out is not None]


def lost_packets(n_packets, drops, run, timed) -> set[int]:
    """The dropped packet numbers: ``drops`` and, when arrival times are known, the ``run``
    (where it starts as a fraction of the stream, length) of consecutive packets, which may hold
    whole id cycles."""
    where, length = run
    first = int(where * n_packets)
    return set(drops) | (set(range(first, first + length)) if timed else set())


@FAST
@given(
    bits=st.sampled_from([18, 19]),
    n_packets=st.integers(1, 700),
    step=st.sampled_from(["small", "medium", "largest"]),
    drops=st.sets(st.integers(0, 699), max_size=12),
    run=st.tuples(st.floats(0.0, 0.9), st.integers(0, 350)),
    timed=st.booleans(),
    injections=st.dictionaries(st.integers(0, 699), st.sampled_from(GANGLION_JUNK), max_size=8),
    seed=st.integers(0, 2**32 - 1),
)
def test_ganglion_fw2_round_trip_mutes_exactly_until_resync(
    bits, n_packets, step, drops, run, timed, injections, seed
):
    rng = np.random.default_rng(seed)
    n_samples = sum(1 if k % 101 == 0 else 2 for k in range(n_packets))
    max_step = {"small": 3, "medium": 1000, "largest": 2 ** (bits - 1) - 1}[step]
    signal = random_walk(rng, n_samples, max_step)
    decoded_counts = ganglion_fw2_decoded_counts(signal)
    spans = ganglion_fw2_packet_spans(n_samples)
    packets = encode_ganglion_fw2_stream(signal, bits=bits)
    lost = lost_packets(n_packets, drops, run, timed)
    stream, owners, kept, malformed, impedance = ganglion_stream(packets, lost, injections, 200)
    ready_s = [(start + size) / 200.0 for start, size in spans]
    elapsed = elapsed_between(owners, ready_s, rng) if timed else [None] * len(stream)

    decoder = fw2()
    outputs = decode_timed(decoder, stream, elapsed)

    # The model, in true sample numbers: a raw packet always comes out; a compressed one only when
    # synced and its predecessor arrived. The gap is every sample since the last one emitted.
    expected = []
    if kept:
        # the decoder counts samples from the cycle of the first packet it sees
        cycle_base = spans[kept[0]][0] // 201 * 201
        emitted_end, synced, previous = spans[kept[0]][0], False, None
        for k in kept:
            start, size = spans[k]
            if size == 1 or (synced and previous == k - 1):
                gap = start - emitted_end
                expected.append((start, size, gap, gap > 0))
                emitted_end, synced = start + size, True
            else:
                synced = False
            previous = k
    assert len(outputs) == len(expected)
    for out, (start, size, gap, resync) in zip(outputs, expected):
        np.testing.assert_array_equal(
            out.samples, ganglion_uv(decoded_counts[start : start + size])
        )
        assert (out.first_index, out.gap_before, out.resync) == (start - cycle_base, gap, resync)
    assert (decoder.stats.packets, decoder.stats.malformed) == (len(stream), malformed)
    assert decoder.impedance_ohms == impedance


@FAST
@given(
    bits=st.sampled_from([18, 19]),
    n_packets=st.integers(1, 700),
    first_position=st.integers(0, 99),
    drops=st.sets(st.integers(0, 699), max_size=12),
    run=st.tuples(st.floats(0.0, 0.9), st.integers(0, 350)),
    timed=st.booleans(),
    injections=st.dictionaries(st.integers(0, 699), st.sampled_from(GANGLION_JUNK), max_size=8),
    seed=st.integers(0, 2**32 - 1),
)
def test_ganglion_fw3_round_trip_loses_only_dropped_samples(
    bits, n_packets, first_position, drops, run, timed, injections, seed
):
    rng = np.random.default_rng(seed)
    starts = ganglion_fw3_packet_starts(n_packets, first_position)
    signal = random_walk(rng, starts[-1] + 2, 2**20)
    decoded_counts = ganglion_fw3_decoded_counts(signal, bits)
    packets = encode_ganglion_fw3_stream(signal, bits=bits, first_position=first_position)
    assert len(packets) == n_packets
    lost = lost_packets(n_packets, drops, run, timed)
    stream, owners, kept, malformed, impedance = ganglion_stream(packets, lost, injections, 199)
    ready_s = [(start + 2) / 200.0 for start in starts]
    elapsed = elapsed_between(owners, ready_s, rng) if timed else [None] * len(stream)

    decoder = fw3()
    outputs = decode_timed(decoder, stream, elapsed)
    assert len(outputs) == len(kept)
    if kept:
        # the decoder numbers samples from the cycle position of the first packet it sees
        base = starts[kept[0]] - 2 * ((first_position + kept[0]) % 100)
    previous_end = None
    for k, out in zip(kept, outputs):
        start = starts[k]
        np.testing.assert_array_equal(out.samples, ganglion_uv(decoded_counts[start : start + 2]))
        gap = 0 if previous_end is None else start - previous_end
        # the samples ≡ 200 modulo 201 (as the decoder numbers them) in the gap were never sent
        unsent = 0 if previous_end is None else (start - base) // 201 - (previous_end - base) // 201
        assert (out.first_index, out.gap_before, out.resync, out.unsent) == (start - base, gap, False, unsent)
        previous_end = start + 2
    assert (decoder.stats.packets, decoder.stats.malformed) == (len(stream) + 1, malformed)  # + the first after start
    assert decoder.impedance_ohms == impedance


# --- robustness: arbitrary bytes never raise and never produce a malformed packet -------------

FUZZ_DECODERS = {
    "coach_v1": lambda: profile("coach_v1").new_decoder(coach_v1_info(3, 1000.0, 0.5, fmt="int24")),
    **{key: (lambda key=key: profile(key).new_decoder()) for key in PROFILES if key != "coach_v1"},
}


@settings(max_examples=40, deadline=None)
@given(
    key=st.sampled_from(sorted(FUZZ_DECODERS)),
    packets=st.lists(
        st.one_of(
            st.binary(max_size=40),
            # a coach v1 header for 3 × int24, a random index and one random frame
            st.binary(min_size=13, max_size=13).map(lambda b: b"\x01\x00\x03\x01" + b),
            # a Ganglion packet with any sample or impedance id
            st.binary(min_size=19, max_size=19).map(lambda b: bytes([b[0] % 206]) + b),
        ),
        max_size=30,
    ),
)
def test_decoders_never_raise_on_arbitrary_bytes(key, packets):
    decoder = FUZZ_DECODERS[key]()
    for packet in packets:
        out = decoder.decode(packet)
        if out is not None:
            assert out.samples.dtype == np.float32
            assert out.samples.ndim == 2 and out.samples.shape[1] == decoder.channels
            assert out.samples.shape[0] > 0 and out.gap_before >= 0
            assert np.all(np.isfinite(out.samples))
    assert decoder.stats.packets == len(packets)
