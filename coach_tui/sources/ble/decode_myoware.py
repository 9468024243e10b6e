"""MyoWare 2.0 Wireless Shield text protocols (SENSORS.md §2), from the official examples.

"BLE Peripheral": each notification is the ASCII decimal of one value (the envelope in ADC
counts), e.g. ``b"1843.00"``. "BLE UART": Nordic UART lines ``"<envelope>,<raw>\\n"`` that may be
split across notifications or packed several to one; the raw value is the EMG with the reference
offset removed (it swings around zero), not a second envelope. Neither carries a counter: loss can only
be seen in arrival times, so ``first_index`` is None.
"""

from __future__ import annotations

import math
import re

import numpy as np

from coach_tui.sources.ble.decoders import DecodedPacket, DecoderStats

#: A number as the examples print it (Arduino ``String(float)`` or an integer); no nan or inf.
_DECIMAL = re.compile(rb"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
#: Longest number or line accepted; a partial UART line growing past it is dropped.
MAX_TEXT_BYTES = 64


def parse_decimal(text: bytes) -> float | None:
    """The finite number ``text`` spells (surrounding whitespace and NULs ignored), else None."""
    text = text.strip(b" \t\r\n\x00")
    if len(text) > MAX_TEXT_BYTES or not _DECIMAL.fullmatch(text):
        return None
    value = float(text)
    return value if math.isfinite(value) else None


def _rows(values: list[list[float]]) -> DecodedPacket:
    return DecodedPacket(np.array(values, dtype=np.float32), None)


class MyoWareBleDecoder:
    """One envelope value (ADC counts) per notification; anything else is counted and skipped."""

    channels = 1

    def __init__(self) -> None:
        self.stats = DecoderStats()

    def decode(
        self, packet: bytes, characteristic: str | None = None, *, elapsed_s: float | None = None
    ) -> DecodedPacket | None:
        """Decode one notification into a single-row packet (None when it is not a number)."""
        self.stats.packets += 1
        value = parse_decimal(packet)
        if value is None:
            self.stats.reject("myoware ble: not a decimal number")
            return None
        return _rows([[value]])


class MyoWareUartDecoder:
    """Rows of (envelope, raw EMG) in ADC counts from Nordic UART text lines.

    Bytes are buffered until a newline. A line that is not two numbers separated by a comma is
    counted (one ``malformed`` per line) and skipped; blank lines are ignored. A partial line that
    grows past ``MAX_TEXT_BYTES`` without a newline is dropped and counted, and the rest of it, up
    to the next newline, is discarded with it so no fragment is mistaken for a line.
    """

    channels = 2

    def __init__(self) -> None:
        self.stats = DecoderStats()
        self._partial = b""
        self._discarding = False

    def decode(
        self, packet: bytes, characteristic: str | None = None, *, elapsed_s: float | None = None
    ) -> DecodedPacket | None:
        """Decode the lines this notification completes (None when it completes none)."""
        self.stats.packets += 1
        *lines, tail = (self._partial + packet).split(b"\n")
        rows = []
        for line in lines:
            if self._discarding:
                self._discarding = False
                continue
            row = self._parse_line(line)
            if row is not None:
                rows.append(row)
        if len(tail) > MAX_TEXT_BYTES:
            if not self._discarding:
                self.stats.reject(f"myoware uart: no line end within {MAX_TEXT_BYTES} bytes")
            self._discarding = True
            tail = b""
        self._partial = tail
        return _rows(rows) if rows else None

    def _parse_line(self, line: bytes) -> list[float] | None:
        line = line.strip(b" \t\r\x00")
        if not line:
            return None
        if len(line) > MAX_TEXT_BYTES:
            self.stats.reject(f"myoware uart: line longer than {MAX_TEXT_BYTES} bytes")
            return None
        fields = line.split(b",")
        values = [parse_decimal(field) for field in fields]
        if len(values) != 2 or None in values:
            self.stats.reject("myoware uart: line is not '<envelope>,<raw>'")
            return None
        return values
