"""The decoder contract every BLE profile's parser fulfils: what a packet decodes to, and how
rejected packets are counted.

A decoder is pure and small: bytes in, samples out, no I/O and no clock. It keeps only the state
its protocol needs (a counter to unroll, the last values of a delta stream, a partial text line).
The per-device decoders live in ``decode_coach``, ``decode_myoware``, ``decode_myo`` and
``decode_ganglion``; ``profiles`` says which one a device uses.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np


@dataclass(frozen=True, slots=True)
class DecodedPacket:
    """Samples recovered from one notification.

    ``samples`` is float32 with shape ``(n, channels)`` in the profile's units (µV for raw EMG with
    a known scale). ``first_index`` is the unrolled device sample index of row 0 when the protocol
    carries a counter or packet id, else None. ``gap_before`` counts samples known to be lost just
    before this packet (exact where the protocol allows, else 0). ``resync`` is True when the
    stream state was reset before this packet, so the gap is a discontinuity (a Ganglion raw packet
    after a loss).
    """

    samples: np.ndarray
    first_index: int | None
    gap_before: int = 0
    resync: bool = False


@dataclass(slots=True)
class DecoderStats:
    """Counts of packets seen and rejected, with the reasons (short, fixed texts) per rejection."""

    packets: int = 0
    malformed: int = 0
    reasons: Counter[str] = field(default_factory=Counter)

    def reject(self, reason: str) -> None:
        """Count one malformed (or stale) packet, or one garbage line of a text stream."""
        self.malformed += 1
        self.reasons[reason] += 1


class Decoder(Protocol):
    """Turns one profile's notifications into samples.

    ``decode`` never raises on bad input: a malformed packet is counted in ``stats`` and returns
    None without disturbing the samples that follow; a packet that carries no samples (e.g. a
    Ganglion impedance report) also returns None. ``characteristic`` is the UUID the notification
    came from, for profiles with several data characteristics.
    """

    channels: int
    stats: DecoderStats

    def decode(self, packet: bytes, characteristic: str | None = None) -> DecodedPacket | None:
        """Decode one notification."""
        ...
