"""The OpenBCI Ganglion's firmware 3 packing, ported from its source (OpenBCI_Ganglion_Library
v3.0.2, ``OpenBCI_Ganglion_Library.cpp``: ``startRunning``, ``processData``, ``compressData18``,
``compressData19``, ``sendCompressedPacket18``/``19``; the sample ISR of ``DefaultGanglion.ino``),
statement by statement, with C's integer types kept: ``sampleCounter`` is a ``byte``,
``ringBufferLevel`` an ``int``, the packet id a ``char`` (so it wraps at 256), ``channelData`` a
32-bit ``int`` sign-extended from the ADC's 24 bits, ``>>`` arithmetic.

It shares nothing with ``coach_tui`` nor with ``ble_encoders``: a test that decodes its packets
checks the decoder against the firmware, quirks included —

- ``startRunning`` sets ``sampleCounter`` and ``ringBufferLevel`` to 0xFF, so the first packet
  after ``b`` carries id (255 + 100) mod 256 = 99 in 19-bit mode while holding 19-bit data, and the
  rest of the first cycle runs one ring position behind;
- ``processData`` resets the ring when ``sampleCounter > 200``: the sample counted 200 was packed
  as the first half of a pair that is never sent, so one ADC sample in 201 is lost.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence


def _bit_write(value: int, bit: int, on: int) -> int:
    return value | (1 << bit) if on else value & ~(1 << bit)


def _int32(value: int) -> int:
    value &= 0xFFFFFFFF
    return value - (1 << 32) if value & 0x80000000 else value


class GanglionFw3Board:
    """A Ganglion running firmware 3.0.2 over BLE. ``start()`` is the ``b`` command; ``sample()``
    is one ADC conversion (the data-ready interrupt, then ``processData``) and returns the
    20-byte notification it sends, if any. ``use_accel`` is the ``n`` command (18-bit packets)."""

    def __init__(self, use_accel: bool = False):
        self.use_accel = use_accel
        self.sample_counter = 0xFF  # volatile byte sampleCounter = 0xFF;
        self.ring_buffer_level = 0  # int ringBufferLevel = 0;
        # byte compression_ring[RING_SIZE][MAX_BYTES_PER_PACKET]: rows 255…354 of the first cycle
        # lie past its 101 rows in C; the port gives every level a row of its own.
        self.compression_ring: defaultdict[int, list[int]] = defaultdict(lambda: [0] * 19)
        self.radio_buffer = [0] * 20  # char radioBuffer[20], kept between packets
        self.channel_data = [0, 0, 0, 0]

    def start(self) -> None:
        """``startRunning``."""
        self.sample_counter = 0xFF
        self.ring_buffer_level = 0xFF

    def sample(self, adc: Sequence[int]) -> bytes | None:
        """One ADC conversion of the four channels (24-bit two's complement counts)."""
        self.sample_counter = (self.sample_counter + 1) & 0xFF  # MCP_ISR: ganglion.sampleCounter++;
        # processData()
        if self.sample_counter > 200:
            self.sample_counter = 0
            self.ring_buffer_level = 0
        for i, value in enumerate(adc):  # updateMCPdata(): 24 bits, then "corrects the sign"
            raw = int(value) & 0x00FFFFFF
            self.channel_data[i] = _int32(raw | 0xFF000000) if raw & 0x00800000 else raw
        return self._compress(18 if self.use_accel else 19)

    def _compress(self, bits: int) -> bytes | None:
        even = (self.sample_counter % 2) == 0
        shift = 24 - bits
        for i in range(4):
            sign = (self.channel_data[i] >> 31) & 1
            self.channel_data[i] = _bit_write(self.channel_data[i], shift, sign) >> shift
        c = self.channel_data
        ring = self.compression_ring[self.ring_buffer_level]
        if bits == 19:
            if even:
                ring[0] = (c[0] & 0x0007F800) >> 11
                ring[1] = (c[0] & 0x000007F8) >> 3
                ring[2] = ((c[0] & 0x00000007) << 5) | ((c[1] & 0x0007C000) >> 14)
                ring[3] = (c[1] & 0x00003FC0) >> 6
                ring[4] = ((c[1] & 0x0000003F) << 2) | ((c[2] & 0x00060000) >> 17)
                ring[5] = (c[2] & 0x0001FE00) >> 9
                ring[6] = (c[2] & 0x000001FE) >> 1
                ring[7] = ((c[2] & 0x00000001) << 7) | ((c[3] & 0x0007F000) >> 12)
                ring[8] = (c[3] & 0x00000FF0) >> 4
                ring[9] = (c[3] & 0x0000000F) << 4
                return None
            ring[9] |= (c[0] & 0x00078000) >> 15
            ring[10] = (c[0] & 0x00007F80) >> 7
            ring[11] = ((c[0] & 0x0000007F) << 1) | ((c[1] & 0x00040000) >> 18)
            ring[12] = (c[1] & 0x0003FC00) >> 10
            ring[13] = (c[1] & 0x000003FC) >> 2
            ring[14] = ((c[1] & 0x00000003) << 6) | ((c[2] & 0x0007E000) >> 13)
            ring[15] = (c[2] & 0x00001FE0) >> 5
            ring[16] = ((c[2] & 0x0000001F) << 3) | ((c[3] & 0x00070000) >> 16)
            ring[17] = (c[3] & 0x0000FF00) >> 8
            ring[18] = c[3] & 0x000000FF
            return self._send(self.ring_buffer_level + 100, 19)
        offset = 0 if even else 9
        ring[offset + 0] = (c[0] & 0x0003FC00) >> 10
        ring[offset + 1] = (c[0] & 0x000003FC) >> 2
        ring[offset + 2] = ((c[0] & 0x00000003) << 6) | ((c[1] & 0x0003F000) >> 12)
        ring[offset + 3] = (c[1] & 0x00000FF0) >> 4
        ring[offset + 4] = ((c[1] & 0x0000000F) << 4) | ((c[2] & 0x0003C000) >> 14)
        ring[offset + 5] = (c[2] & 0x00003FC0) >> 6
        ring[offset + 6] = ((c[2] & 0x0000003F) << 2) | ((c[3] & 0x00030000) >> 16)
        ring[offset + 7] = (c[3] & 0x0000FF00) >> 8
        ring[offset + 8] = c[3] & 0x000000FF
        if even:
            return None
        return self._send(self.ring_buffer_level, 18)

    def _send(self, packet_id: int, payload: int) -> bytes:
        """``sendCompressedPacket18``/``19`` (the accelerometer byte of 18-bit packets left as it was)."""
        self.radio_buffer[0] = packet_id & 0xFF
        for i in range(payload):
            self.radio_buffer[i + 1] = self.compression_ring[self.ring_buffer_level][i]
        self.ring_buffer_level += 1
        return bytes(self.radio_buffer)


def fw3_transmission(adc: Sequence[Sequence[int]], use_accel: bool = False) -> list[bytes | None]:
    """What a board sends after ``b`` for each ADC sample of ``adc`` (n × 4 counts): the
    notification that sample completed, or None."""
    board = GanglionFw3Board(use_accel)
    board.start()
    return [board.sample(row) for row in adc]


def fw3_transmitted_counts(adc: Sequence[Sequence[int]], bits: int) -> list[list[int]]:
    """The 24-bit counts a decoder can recover from each ADC sample as the firmware packs it:
    the top ``bits`` bits with the lowest of them replaced by the sign (``bitWrite``), shifted back."""
    shift = 24 - bits
    out = []
    for row in adc:
        values = []
        for value in row:
            value = int(value)
            field = _bit_write(value, shift, 1 if value < 0 else 0) >> shift
            values.append(field << shift)
        out.append(values)
    return out
