"""Thalmic Myo armband EMG notifications (SENSORS.md §3).

Each notification on any of the four EMG characteristics is 16 bytes: two consecutive samples ×
8 channels of signed int8, sample-major (s0c0…s0c7, s1c0…s1c7), unitless. There is no counter and
the rotation order of the characteristics is unspecified, so ``first_index`` is None and loss can
only be seen in arrival times.
"""

from __future__ import annotations

import numpy as np

from coach_tui.sources.ble.decoders import DecodedPacket, DecoderStats

MYO_CHANNELS = 8
_SAMPLES_PER_PACKET = 2
_PACKET_BYTES = _SAMPLES_PER_PACKET * MYO_CHANNELS


class MyoDecoder:
    """Two 8-channel int8 samples per 16-byte notification; other lengths are counted and skipped."""

    channels = MYO_CHANNELS

    def __init__(self) -> None:
        self.stats = DecoderStats()

    def decode(
        self, packet: bytes, characteristic: str | None = None, *, elapsed_s: float | None = None
    ) -> DecodedPacket | None:
        """Decode one EMG notification (from whichever of the four characteristics)."""
        self.stats.packets += 1
        if len(packet) != _PACKET_BYTES:
            self.stats.reject(f"myo: {len(packet)}-byte notification (expected {_PACKET_BYTES})")
            return None
        samples = np.frombuffer(packet, np.int8).reshape(_SAMPLES_PER_PACKET, MYO_CHANNELS)
        return DecodedPacket(samples.astype(np.float32), None)
