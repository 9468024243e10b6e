"""OpenBCI Ganglion notifications (SENSORS.md §4): 4 channels, 200 Hz, 20-byte packets.

Byte 0 is the packet id. Firmware 2: ``0`` raw (4 × int24 big-endian, then padding), ``1–100``
18-bit and ``101–200`` 19-bit delta-compressed pairs of samples, sent as one raw packet then ids
1…100 (or 101…200), repeated. Firmware 3: ``0–99`` 18-bit and ``100–199`` 19-bit pairs of absolute
values. Both: ``201–205`` impedance reports. In 18-bit packets byte 19 carries an accelerometer
axis, which EMG ignores.

Sample indices count the board's ADC samples. They come from the packet id sequence: each
packet's place in the cycle gives the offset of its first sample, so a jump in ids counts the lost
samples modulo the cycle of 201 samples (about a second). Firmware 2 sends all 201. Firmware 3
(OpenBCI_Ganglion_Library v3.0.x ``processData``) resets its ring buffer after sample 200, so
sample 200 of every cycle is never sent: each cycle's first packet comes with ``gap_before`` = 1
(``unsent`` = 1: no loss on the link), and the samples arrive at 200 × 200/201 ≈ 199 Hz. Whole lost cycles are counted from the
silence since the previous sample packet (the ``elapsed_s`` of every notification since, at the
profile's sample rate): when it lasted half a cycle or more longer than the id jump accounts for,
the nearest whole number of cycles is added (without ``elapsed_s``, ids alone count).
This assumes a board buffers far fewer than half a cycle (50 packets) of notifications and the
host reads them promptly, so a silence that long is a loss, not a delay; an event loop blocked
for half a second would be counted as a lost cycle (firmware 2 then mutes until its next raw
packet: samples lost, never garbage).
"""

from __future__ import annotations

import math

import numpy as np

from coach_tui.sources.ble.decoders import DecodedPacket, DecoderStats, Silence

GANGLION_CHANNELS = 4
_PACKET_BYTES = 20
_FIELDS = 2 * GANGLION_CHANNELS
_IMPEDANCE_IDS = range(201, 206)


def unpack_fields(payload: bytes, bits: int) -> np.ndarray:
    """The eight ``bits``-wide two's-complement fields packed MSB-first at the start of
    ``payload`` (s1.ch1…s1.ch4, s2.ch1…s2.ch4), as int64."""
    total_bits = _FIELDS * bits
    packed = int.from_bytes(payload[: total_bits // 8], "big")
    mask = (1 << bits) - 1
    sign = 1 << (bits - 1)
    fields = []
    for i in range(_FIELDS):
        field = (packed >> (total_bits - (i + 1) * bits)) & mask
        fields.append(field - (1 << bits) if field & sign else field)
    return np.array(fields, dtype=np.int64)


class _CycleCounter:
    """Unrolls the position of each packet in a repeating id cycle into device sample indices,
    adding the whole cycles that the silence before a packet says were lost (module docstring)."""

    def __init__(self, cycle_samples: int, rate_hz: float) -> None:
        self._cycle_samples = cycle_samples
        self._rate_hz = rate_hz
        self._next_index: int | None = None
        #: since the last placed packet
        self.silence = Silence()

    def place(self, offset: int, n_samples: int) -> tuple[int, int]:
        """(first sample index, samples lost just before) of the packet just heard, whose first
        sample sits ``offset`` samples into the cycle. The first packet placed starts the count."""
        if self._next_index is None:
            first, lost = offset, 0
        else:
            lost = (offset - self._next_index) % self._cycle_samples
            if self.silence.seconds is not None:
                unexplained = self.silence.seconds * self._rate_hz - (lost + n_samples)
                if unexplained >= self._cycle_samples / 2:
                    lost += self._cycle_samples * math.floor(unexplained / self._cycle_samples + 0.5)
            first = self._next_index + lost
        self._next_index = first + n_samples
        self.silence.took()
        return first, lost


class _GanglionDecoder:
    """What both firmwares share: ids, lengths, impedance reports, stats, the count scale.

    ``uv_per_count`` and ``rate_hz`` are the profile's scale and sample rate."""

    channels = GANGLION_CHANNELS
    _label: str
    _last_sample_id: int
    _CYCLE_SAMPLES: int

    def __init__(self, uv_per_count: float, rate_hz: float) -> None:
        self.stats = DecoderStats()
        self._uv_per_count = uv_per_count
        self._counter = _CycleCounter(self._CYCLE_SAMPLES, rate_hz)
        #: Latest impedance per channel 1–4 and 5 (the reference), in ohms as reported.
        self.impedance_ohms: dict[int, float] = {}

    def decode(
        self, packet: bytes, characteristic: str | None = None, *, elapsed_s: float | None = None
    ) -> DecodedPacket | None:
        """Decode one notification (None for rejected, muted or impedance packets)."""
        self.stats.packets += 1
        self._counter.silence.heard(elapsed_s)
        if not packet:
            self.stats.reject(f"{self._label}: empty notification")
            return None
        packet_id = packet[0]
        if packet_id in _IMPEDANCE_IDS:
            self._store_impedance(packet_id, packet[1:])
            return None
        if packet_id > self._last_sample_id:
            self.stats.reject(f"{self._label}: unknown packet id {packet_id}")
            return None
        if len(packet) != _PACKET_BYTES:
            self.stats.reject(
                f"{self._label}: sample packet of {len(packet)} bytes (expected {_PACKET_BYTES})"
            )
            return None
        return self._decode_samples(packet_id, packet)

    def _decode_samples(self, packet_id: int, packet: bytes) -> DecodedPacket | None:
        raise NotImplementedError

    def _microvolts(self, counts: np.ndarray) -> np.ndarray:
        return (counts.reshape(-1, GANGLION_CHANNELS) * self._uv_per_count).astype(np.float32)

    def _store_impedance(self, packet_id: int, text: bytes) -> None:
        # ASCII digits, which the firmware follows with "Z" (and a line end).
        digits = text.rstrip(b"\r\n\x00").removesuffix(b"Z")
        if not (0 < len(digits) <= 9 and digits.isdigit()):
            self.stats.reject(f"{self._label}: impedance report is not ASCII digits")
            return
        self.impedance_ohms[packet_id - 200] = float(digits)


class GanglionFw2Decoder(_GanglionDecoder):
    """Firmware 2: a raw packet, then pairs of samples as deltas from the previous sample.

    Each field is ``previous − current`` with its lowest bit overwritten by the sign; the field as
    transmitted is decoded as an N-bit two's-complement number (which is that delta with its
    lowest bit replaced, as the firmware sends it) and ``s1 = last − d1``, ``s2 = s1 − d2``.

    Once a packet is lost the deltas have no base: the decoder emits nothing until the next raw
    packet, which comes out with ``resync=True`` and ``gap_before`` counting every sample lost or
    muted since the last emitted one. Compressed packets before the first raw packet are muted
    the same way.
    """

    _label = "ganglion fw2"
    _last_sample_id = 200
    #: one raw sample, then ids 1…100 (or 101…200) with two samples each
    _CYCLE_SAMPLES = 1 + 2 * 100

    def __init__(self, uv_per_count: float, rate_hz: float) -> None:
        super().__init__(uv_per_count, rate_hz)
        self._last: np.ndarray | None = None  # counts of the last decoded sample; None = muted
        self._unreported_gap = 0  # samples lost or muted since the last emitted sample

    def _decode_samples(self, packet_id: int, packet: bytes) -> DecodedPacket | None:
        if packet_id == 0:
            first, lost = self._counter.place(0, 1)
            self._last = np.array(
                [int.from_bytes(packet[i : i + 3], "big", signed=True) for i in (1, 4, 7, 10)],
                dtype=np.int64,
            )
            gap, self._unreported_gap = self._unreported_gap + lost, 0
            return DecodedPacket(self._microvolts(self._last), first, gap, resync=gap > 0)
        bits, position = (18, packet_id) if packet_id <= 100 else (19, packet_id - 100)
        first, lost = self._counter.place(2 * position - 1, 2)
        if lost:
            self._last = None
        if self._last is None:
            self._unreported_gap += lost + 2
            return None
        deltas = unpack_fields(packet[1:], bits)
        s1 = self._last - deltas[:GANGLION_CHANNELS]
        s2 = s1 - deltas[GANGLION_CHANNELS:]
        self._last = s2
        return DecodedPacket(self._microvolts(np.concatenate([s1, s2])), first)


class GanglionFw3Decoder(_GanglionDecoder):
    """Firmware 3: every packet holds two samples as absolute values.

    Each 18- or 19-bit field is a two's-complement number shifted left by 24 − bits (6 or 5) to
    give the 24-bit count. A lost packet costs only its two samples: ``gap_before`` is exact and
    nothing is muted; sample 200 of each cycle is never sent (module docstring).

    The first sample packet after start is dropped. Firmware ≥ 3.0.1 (``startRunning``) sets the
    ring position to 255 before the first sample, so the first packet's id is 255 + 100 = 99
    (modulo 256) in 19-bit mode — read as 18-bit it would be nonsense near full scale — and 255 in
    18-bit mode; the rest of that first cycle then carries ids one position behind its samples
    (samples 2–199 under the positions 0–98), which the decoder allows for until the ids wrap.
    """

    _label = "ganglion fw3"
    _last_sample_id = 199
    #: ids 0…99 (or 100…199) with two samples each, then the sample that is never sent
    _CYCLE_SAMPLES = 2 * 100 + 1
    #: The first packet after ``b``: its id is one ring position early (module docstring of
    #: :class:`GanglionFw3Decoder`): 99 in 19-bit mode, 255 in 18-bit mode.
    _EARLY_FIRST_IDS = (99, 255)

    def __init__(self, uv_per_count: float, rate_hz: float) -> None:
        super().__init__(uv_per_count, rate_hz)
        self._started = False  # the first packet after start was dropped
        self._shift = 0  # samples by which the first cycle's ids lag their samples
        self._last_position: int | None = None

    def decode(
        self, packet: bytes, characteristic: str | None = None, *, elapsed_s: float | None = None
    ) -> DecodedPacket | None:
        """Decode one notification; the first sample packet after start is dropped."""
        if self._started or not packet or packet[0] in _IMPEDANCE_IDS:
            return super().decode(packet, characteristic, elapsed_s=elapsed_s)
        self.stats.packets += 1
        self._counter.silence.heard(elapsed_s)
        self._started = True
        self._shift = 2 if packet[0] in self._EARLY_FIRST_IDS else 0
        return None

    def _decode_samples(self, packet_id: int, packet: bytes) -> DecodedPacket:
        bits = 18 if packet_id < 100 else 19
        position = packet_id % 100
        if self._last_position is not None and position <= self._last_position:
            self._shift = 0  # the ids wrapped: the ring buffer was reset, the first cycle is over
        self._last_position = position
        first, lost = self._counter.place(2 * position + self._shift, 2)
        counts = unpack_fields(packet[1:], bits) << (24 - bits)
        # indices run with the cycle position (the counter's first packet is placed at its own), so
        # the never-sent samples are those ≡ 200 modulo the cycle
        unsent = first // self._CYCLE_SAMPLES - (first - lost) // self._CYCLE_SAMPLES
        return DecodedPacket(self._microvolts(counts), first, lost, unsent=unsent)
