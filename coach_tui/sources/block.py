"""The unit every source yields: a run of consecutive raw samples from one sensor."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True, slots=True)
class Block:
    """Consecutive samples from one sensor.

    ``samples`` is float32 with shape ``(n, channels)`` in the sensor profile's units (µV for raw
    EMG). ``first_index`` is the device sample counter of the first row, unrolled so it never
    wraps. ``gap_before`` counts samples known to be lost just before this block (so
    ``first_index`` of this block equals the previous block's end plus ``gap_before``);
    ``resync`` marks a block after which the device's stream state was reset (e.g. a
    delta-compression resync), so filters should treat the gap as a discontinuity.
    """

    sensor_id: str
    first_index: int
    samples: np.ndarray
    t_host: float
    gap_before: int = 0
    resync: bool = False

    @property
    def n_samples(self) -> int:
        """Number of sample rows in the block."""
        return int(self.samples.shape[0])

    @property
    def end_index(self) -> int:
        """Device sample index one past the last row."""
        return self.first_index + self.n_samples


@dataclass(slots=True)
class SensorStatus:
    """What a source knows about one sensor's link, for the check table and the live screen."""

    sensor_id: str
    nominal_rate_hz: float
    channels: int
    connected: bool = False
    battery_pct: float | None = None
    measured_rate_hz: float | None = None
    samples_received: int = 0
    samples_lost: int = 0
    packets_lost: int = 0
    reconnects: int = 0
    simulated: bool = False
    notes: list[str] = field(default_factory=list)
    #: What the link is doing, in words for the trainer ("streaming", "reconnecting in 1.3 s
    #: (attempt 2)", "not found — is it on and in range?"); "" where the source has nothing to say.
    state: str = ""
    #: Notifications the host had to drop because its queue was full (the reader fell behind).
    host_drops: int = 0
    #: Packets the profile's decoder rejected (wrong length, bad header, not a number…).
    malformed: int = 0
    #: The device's Bluetooth address (a UUID on macOS), once known.
    address: str | None = None
    #: The device profile key (``coach_tui.sources.ble.profiles.PROFILES``), for Bluetooth sensors:
    #: the one that reads the device (a Ganglion's board can override the configured firmware).
    profile: str | None = None
    #: What happened to the link that the trainer should know, in their words, each once, oldest
    #: first ("found Ganglion 1.3 (a1b2) by name", "closed a stale connection", "board reports
    #: firmware 2.0.1: using it …", "battery: unknown …").
    events: list[str] = field(default_factory=list)

    def tell(self, event: str) -> None:
        """Record ``event`` unless it was already told."""
        if event not in self.events:
            self.events.append(event)

    @property
    def loss_fraction(self) -> float:
        """Fraction of expected samples that never arrived."""
        total = self.samples_received + self.samples_lost
        return self.samples_lost / total if total else 0.0
