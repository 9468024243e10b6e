"""The simulated kit's radio: per sensor, packets that get through or are dropped, a link that is
lost and comes back, a battery that drains, and the status a real link reports."""

from __future__ import annotations

import numpy as np

from coach_tui.sources.block import Block, SensorStatus
from coach_tui.sources.simulated_sensors import SimulatedSensor
from coach_tui.sources.simulated_steering import Steering

#: Battery drain of a simulated sensor (percentage points per minute of streaming).
DRAIN_PCT_PER_MIN = 0.2


class SimulatedLink:
    """One sensor's link. Samples that do not get through are reported as ``gap_before`` on the
    next block that does (and counted in the status), as a sensor with a sample counter would."""

    def __init__(self, spec: SimulatedSensor, fs_hz: int, drop_rng: np.random.Generator, battery_pct: float):
        self.spec = spec
        self.fs_hz = fs_hz
        self.battery0 = battery_pct
        self._drop_rng = drop_rng
        self._pending_gap = 0
        self._pending_packets = 0
        self.status = SensorStatus(
            sensor_id=spec.sensor_id,
            nominal_rate_hz=float(fs_hz),
            channels=1,
            connected=True,
            battery_pct=battery_pct,
            simulated=True,
            notes=[f"simulated {spec.muscle} {spec.side} ({spec.role})"],
        )

    def deliver(self, index: int, samples: np.ndarray, t_host: float, flags: Steering, closed: bool) -> Block | None:
        """The block of samples ``index ..`` as it arrives, or None when it is dropped or the link is down."""
        status, m = self.status, samples.shape[0]
        status.battery_pct = max(0.0, self.battery0 - DRAIN_PCT_PER_MIN * (index + m) / self.fs_hz / 60.0)
        if self._drop_rng.random() < flags.drop_packets:
            self._pending_gap += m
            self._pending_packets += 1
            return None
        if flags.lost_sensor == self.spec.sensor_id:
            status.connected = False
            self._pending_gap += m
            return None
        if not status.connected and not closed:
            status.connected = True
            status.reconnects += 1
        block = Block(self.spec.sensor_id, index, samples, t_host, self._pending_gap)
        status.samples_received += m
        status.samples_lost += self._pending_gap
        status.packets_lost += self._pending_packets
        self._pending_gap = self._pending_packets = 0
        return block
