"""One configured Bluetooth sensor, and the reader's timeouts, retry pacing and buffer sizes."""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

from coach_tui.sources.ble.profiles import profile


@dataclass(frozen=True, slots=True)
class BleSensor:
    """One configured Bluetooth sensor.

    ``profile`` is a key of ``PROFILES``. ``address`` (a UUID on macOS) or ``name`` (the advertised
    name, exact) pick the device; with neither, the first device advertising the profile's service
    UUID that no other sensor of the source claimed is used (fine for one sensor of a kind).
    ``adapter`` is the Bluetooth adapter that finds and connects it (BlueZ's "hci1"; None: the
    system's default), passed to bleak as ``bluez={"adapter": …}`` (ignored off Linux).
    """

    sensor_id: str
    profile: str
    address: str | None = None
    name: str | None = None
    adapter: str | None = None

    def __post_init__(self) -> None:
        if not (isinstance(self.sensor_id, str) and self.sensor_id.strip()):
            raise ValueError(f"sensor_id={self.sensor_id!r}: must be a non-empty string")
        profile(self.profile)  # ValueError naming the known profiles
        for field_name in ("address", "name", "adapter"):
            value = getattr(self, field_name)
            if value is not None and not (isinstance(value, str) and value.strip()):
                raise ValueError(
                    f"sensor {self.sensor_id}: {field_name}={value!r}: must be a non-empty string or None"
                )


@dataclass(frozen=True, slots=True)
class BleSettings:
    """Timeouts, retry pacing and buffer sizes of the reader (seconds unless said otherwise).

    - ``scan_timeout_s``: one discovery attempt, in scanning time.
    - ``scan_turn_s``: the longest a scan holds the adapter before letting the other sensors on it
      take their turn (then it scans on).
    - ``connect_timeout_s``, ``gatt_timeout_s``: one connect; one GATT read, write or subscribe.
    - ``backoff_base_s``, ``backoff_cap_s``: first and largest reconnect delay ceiling.
    - ``stable_after_s``: streaming this long resets the backoff to its first delay.
    - ``queue_packets``: notifications held per sensor for the iterator; beyond, host drops.
    - ``watchdog_intervals``, ``watchdog_min_silence_s``: a link is silent after this many packet
      intervals without a notification, and never sooner than the minimum (also the allowance for
      the first packet after the start command).
    - ``close_timeout_s``: how long ``close()`` waits for stop commands and disconnections.
    - ``battery_poll_s``: how often a battery level the system keeps to itself is read again.
    """

    scan_timeout_s: float = 5.0
    scan_turn_s: float = 1.0
    connect_timeout_s: float = 15.0
    gatt_timeout_s: float = 10.0
    backoff_base_s: float = 0.5
    backoff_cap_s: float = 30.0
    stable_after_s: float = 10.0
    queue_packets: int = 4096
    watchdog_intervals: float = 20.0
    watchdog_min_silence_s: float = 2.0
    close_timeout_s: float = 3.0
    battery_poll_s: float = 60.0

    def __post_init__(self) -> None:
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            if isinstance(value, bool) or not (math.isfinite(value) and value > 0):
                raise ValueError(f"BleSettings.{field.name}={value!r}: must be a positive number")
        if not isinstance(self.queue_packets, int):
            raise ValueError(f"BleSettings.queue_packets={self.queue_packets!r}: must be a whole number")
        if self.backoff_cap_s < self.backoff_base_s:
            raise ValueError(
                f"BleSettings.backoff_cap_s={self.backoff_cap_s} must be at least backoff_base_s={self.backoff_base_s}"
            )
