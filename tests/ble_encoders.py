"""Packet encoders for the BLE sensor profiles, written from the byte layouts in SENSORS.md.

They share no code with ``coach_tui.sources.ble``, so a round trip checks the decoders against the
text rather than against themselves. Decoder tests, bumble peripherals and end-to-end tests use
them to make packets. Out-of-range values raise ValueError instead of wrapping silently.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Sequence

import numpy as np

# --- coach open sensor profile v1 (SENSORS.md §1) -------------------------------------------

COACH_KIND_CODES = {"raw": 0, "envelope": 1}
#: sample format -> (code, bytes per sample)
COACH_FORMATS = {"int16": (0, 2), "int24": (1, 3), "float32": (2, 4)}


def coach_v1_info(
    channels: int,
    sample_rate_hz: float,
    scale: float = 1.0,
    *,
    kind: str = "raw",
    fmt: str = "int16",
    name: str = "coach sensor",
    version: int = 1,
) -> bytes:
    """The info characteristic: ``u8 version, u8 kind, u8 channels, u8 sample_format,
    f32 sample_rate_hz, f32 scale`` (little-endian), then the UTF-8 name."""
    header = struct.pack(
        "<BBBBff",
        version,
        COACH_KIND_CODES[kind],
        channels,
        COACH_FORMATS[fmt][0],
        sample_rate_hz,
        scale,
    )
    return header + name.encode("utf-8")


def encode_coach_v1(
    samples_counts: np.ndarray,
    first_index: int,
    kind: str = "raw",
    fmt: str = "int16",
    version: int = 1,
) -> bytes:
    """One data notification for ``samples_counts`` of shape (n, channels): integer counts for
    int16/int24, µV for float32. ``first_index`` is written modulo 2**32, as the u32 wraps."""
    samples = np.asarray(samples_counts)
    if samples.ndim != 2:
        raise ValueError(f"samples must be (n, channels), got shape {samples.shape}")
    code, size = COACH_FORMATS[fmt]
    header = struct.pack(
        "<BBBBI", version, COACH_KIND_CODES[kind], samples.shape[1], code, first_index % 2**32
    )
    if fmt == "float32":
        return header + b"".join(struct.pack("<f", float(v)) for v in samples.reshape(-1))
    return header + b"".join(_signed_bytes(int(v), size, "little") for v in samples.reshape(-1))


def _signed_bytes(value: int, size: int, byteorder: str) -> bytes:
    try:
        return value.to_bytes(size, byteorder, signed=True)
    except OverflowError:
        raise ValueError(f"{value} does not fit in a signed {8 * size}-bit field") from None


# --- MyoWare 2.0 Wireless Shield examples (SENSORS.md §2) -----------------------------------


def encode_myoware_ascii(value: float, decimals: int = 2) -> bytes:
    """One BLE-peripheral-example notification: the value as ASCII decimal, e.g. b"1843.00"."""
    return f"{value:.{decimals}f}".encode("ascii")


def encode_myoware_uart_lines(rows: Iterable[Sequence[float]], decimals: int = 0) -> bytes:
    """BLE-UART-example text: one ``"<envelope>,<raw>\\n"`` line per (envelope, raw) row."""
    return b"".join(
        f"{envelope:.{decimals}f},{raw:.{decimals}f}\n".encode("ascii") for envelope, raw in rows
    )


# --- Thalmic Myo (SENSORS.md §3) --------------------------------------------------------------


def encode_myo(two_samples: np.ndarray) -> bytes:
    """One 16-byte EMG notification from int values of shape (2, 8): s0c0…s0c7, s1c0…s1c7."""
    samples = np.asarray(two_samples)
    if samples.shape != (2, 8):
        raise ValueError(f"a Myo notification holds (2, 8) samples, got shape {samples.shape}")
    return b"".join(_signed_bytes(int(v), 1, "big") for v in samples.reshape(-1))


# --- OpenBCI Ganglion (SENSORS.md §4) ---------------------------------------------------------

GANGLION_UV_PER_COUNT = 1.2e6 / (8388607 * 1.5 * 51)
#: firmware 2: a raw sample, then 100 packets of two
GANGLION_FW2_CYCLE_SAMPLES = 201
_RAW_PADDING = b"ABCDEFG"  # what the firmware puts after the four raw values


def encode_ganglion_raw(counts: Sequence[int]) -> bytes:
    """Firmware 2 raw packet: id 0, four int24 big-endian counts, padding to 20 bytes."""
    return b"\x00" + b"".join(_signed_bytes(int(c), 3, "big") for c in counts) + _RAW_PADDING


def pack_ganglion_fields(fields: Sequence[int], bits: int) -> bytes:
    """Eight ``bits``-wide two's-complement fields, MSB first (s1.ch1…s1.ch4, s2.ch1…s2.ch4)."""
    if len(fields) != 8:
        raise ValueError(f"a Ganglion packet holds 8 fields, got {len(fields)}")
    packed = 0
    for value in fields:
        if not -(1 << (bits - 1)) <= value < 1 << (bits - 1):
            raise ValueError(f"{value} does not fit in a signed {bits}-bit field")
        packed = (packed << bits) | (value & ((1 << bits) - 1))
    return packed.to_bytes(bits, "big")  # 8 fields × bits = bits bytes


def ganglion_fw2_delta_field(previous: int, current: int) -> int:
    """``previous − current`` with its lowest bit overwritten by the sign (1 when negative)."""
    delta = int(previous) - int(current)
    return (delta & ~1) | (1 if delta < 0 else 0)


def encode_ganglion_fw2_compressed(
    packet_id: int, previous: Sequence[int], s1: Sequence[int], s2: Sequence[int], accel: int = 0
) -> bytes:
    """Firmware 2 compressed packet: ids 1–100 are 18-bit (byte 19 = ``accel``), 101–200 19-bit.
    ``previous`` is the true sample before ``s1``, as the firmware keeps it."""
    if not 1 <= packet_id <= 200:
        raise ValueError(f"firmware 2 compressed ids are 1–200, got {packet_id}")
    bits = 18 if packet_id <= 100 else 19
    fields = [ganglion_fw2_delta_field(p, c) for p, c in zip(previous, s1)]
    fields += [ganglion_fw2_delta_field(p, c) for p, c in zip(s1, s2)]
    tail = bytes([accel & 0xFF]) if bits == 18 else b""
    return bytes([packet_id]) + pack_ganglion_fields(fields, bits) + tail


def ganglion_fw2_packet_spans(n_samples: int) -> list[tuple[int, int]]:
    """(first sample, sample count) of each firmware 2 packet of an ``n_samples`` stream: one raw
    packet every 201 samples, pairs in between. ValueError when the stream ends mid-pair."""
    spans = []
    start = 0
    while start < n_samples:
        size = 1 if start % GANGLION_FW2_CYCLE_SAMPLES == 0 else 2
        if start + size > n_samples:
            raise ValueError(f"{n_samples} samples end in the middle of a firmware 2 packet")
        spans.append((start, size))
        start += size
    return spans


def encode_ganglion_fw2_stream(counts: np.ndarray, bits: int = 19, accel: int = 0) -> list[bytes]:
    """Firmware 2 packets for ``counts`` of shape (n, 4), starting with a raw packet."""
    counts = np.asarray(counts, dtype=np.int64)
    id_base = 0 if bits == 18 else 100
    packets = []
    for start, size in ganglion_fw2_packet_spans(len(counts)):
        if size == 1:
            packets.append(encode_ganglion_raw(counts[start]))
            continue
        position = (start % GANGLION_FW2_CYCLE_SAMPLES + 1) // 2  # 1…100
        packets.append(
            encode_ganglion_fw2_compressed(
                id_base + position, counts[start - 1], counts[start], counts[start + 1], accel
            )
        )
    return packets


def ganglion_fw2_decoded_counts(counts: np.ndarray) -> np.ndarray:
    """What a decoder following SENSORS.md recovers from ``encode_ganglion_fw2_stream(counts)``
    with no loss: raw samples exactly, every later one as the previous decoded value minus the
    transmitted field (so the lost lowest bits accumulate until the next raw packet)."""
    counts = np.asarray(counts, dtype=np.int64)
    decoded = counts.copy()
    for i in range(len(counts)):
        if i % GANGLION_FW2_CYCLE_SAMPLES:
            for ch in range(counts.shape[1]):
                decoded[i, ch] = decoded[i - 1, ch] - ganglion_fw2_delta_field(
                    counts[i - 1, ch], counts[i, ch]
                )
    return decoded


def encode_ganglion_fw3(
    packet_id: int, s1: Sequence[int], s2: Sequence[int], accel: int = 0
) -> bytes:
    """Firmware 3 packet: ids 0–99 carry each count >> 6 in 18 bits (byte 19 = ``accel``),
    100–199 each count >> 5 in 19 bits."""
    if not 0 <= packet_id <= 199:
        raise ValueError(f"firmware 3 sample ids are 0–199, got {packet_id}")
    bits = 18 if packet_id < 100 else 19
    fields = [int(v) >> (24 - bits) for v in (*s1, *s2)]
    tail = bytes([accel & 0xFF]) if bits == 18 else b""
    return bytes([packet_id]) + pack_ganglion_fields(fields, bits) + tail


#: firmware 3: 100 packets of two samples, then one sample that is never sent
GANGLION_FW3_CYCLE_SAMPLES = 201


def ganglion_fw3_packet_starts(n_packets: int, first_position: int = 0) -> list[int]:
    """The ADC sample index of each firmware 3 packet's first sample, counted from the first
    packet's: packet k sits at ring position (first_position + k) mod 100, and each wrap of the
    ring skips the cycle's unsent sample 200."""
    starts = []
    for k in range(n_packets):
        cycle, position = divmod(first_position + k, 100)
        starts.append(GANGLION_FW3_CYCLE_SAMPLES * cycle + 2 * position - 2 * first_position)
    return starts


def encode_ganglion_fw3_stream(
    counts: np.ndarray, bits: int = 19, first_position: int = 0, accel: int = 0
) -> list[bytes]:
    """Firmware 3 packets for ``counts`` of shape (n, 4), one row per ADC sample from the first
    packet's first sample, which sits at ring position ``first_position`` (0–99): as many whole
    packets as the samples fill (:func:`ganglion_fw3_packet_starts`; sample 200 of each cycle is
    never sent). The first packet after ``b`` is not modelled (see ``ganglion_firmware``)."""
    counts = np.asarray(counts, dtype=np.int64)
    id_base = 0 if bits == 18 else 100
    packets = []
    for k, start in enumerate(ganglion_fw3_packet_starts(len(counts), first_position)):
        if start + 2 > len(counts):
            break
        packets.append(
            encode_ganglion_fw3(id_base + (first_position + k) % 100, counts[start], counts[start + 1], accel)
        )
    return packets


def ganglion_fw3_decoded_counts(counts: np.ndarray, bits: int) -> np.ndarray:
    """What a decoder recovers from firmware 3 packets: each count with its 24 − bits lowest bits
    cleared (rounded towards −∞)."""
    shift = 24 - bits
    return (np.asarray(counts, dtype=np.int64) >> shift) << shift


def encode_ganglion_impedance(channel: int, ohms: int) -> bytes:
    """Impedance report: id 200 + channel (5 = reference), ASCII digits, then "Z" as the
    firmware sends it."""
    if not 1 <= channel <= 5:
        raise ValueError(f"impedance channels are 1–4 and 5 (reference), got {channel}")
    return bytes([200 + channel]) + f"{int(ohms)}Z".encode("ascii")
