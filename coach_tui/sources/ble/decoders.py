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
    before this packet (exact where the protocol allows, else 0); ``unsent`` of them the device
    never sends by design (a Ganglion firmware 3 cycle's sample 200), which is no loss on the link.
    ``resync`` is True when the stream state was reset before this packet, so the gap is a
    discontinuity (a Ganglion raw packet after a loss).
    """

    samples: np.ndarray
    first_index: int | None
    gap_before: int = 0
    resync: bool = False
    unsent: int = 0


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
    came from, for profiles with several data characteristics. ``elapsed_s`` is the time since the
    previous notification of this connection arrived (whatever became of it: rejected, muted, no
    samples), None for the first: Ganglion decoders count whole lost id cycles from it, coach v1
    refuses a jump ahead that it cannot explain; the others ignore it.
    """

    channels: int
    stats: DecoderStats

    def decode(
        self, packet: bytes, characteristic: str | None = None, *, elapsed_s: float | None = None
    ) -> DecodedPacket | None:
        """Decode one notification."""
        ...


class Silence:
    """How long a decoder has gone without taking a packet's samples: the ``elapsed_s`` of every
    notification since added up (``seconds`` is None while unknown: before the first packet, or
    after a notification without ``elapsed_s``)."""

    def __init__(self) -> None:
        self.seconds: float | None = None

    def heard(self, elapsed_s: float | None) -> None:
        """A notification (of any kind) arrived ``elapsed_s`` after the previous one."""
        self.seconds = None if elapsed_s is None or self.seconds is None else self.seconds + elapsed_s

    def took(self) -> None:
        """The decoder took the samples of the notification just heard."""
        self.seconds = 0.0


#: Slack of :func:`most_samples_in`: notifications held up in buffers, and device clock error.
_LATENCY_SLACK_S = 0.5
_RATE_SLACK = 1.01


def most_samples_in(seconds: float, rate_hz: float) -> float:
    """The most samples a device sampling at ``rate_hz`` can have produced between two
    notifications that arrived ``seconds`` apart, generously: half a second more for buffering and
    latency, and a clock 1 % fast. A counter that jumps further ahead is corrupt."""
    return (seconds + _LATENCY_SLACK_S) * rate_hz * _RATE_SLACK
