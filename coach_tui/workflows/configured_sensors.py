"""The Bluetooth sensors of ``config.toml`` as the console and ``coach check`` read them.

Each ``[[sensors]]`` entry becomes a ``BleSensor``; only the channels it places on a muscle are
read on (``ChannelSelection``), in the order listed. Nothing here knows Textual.
"""

from __future__ import annotations

from coach_tui.config import Config
from coach_tui.domain.placement import Placement
from coach_tui.sources.channel_selection import ChannelSelection


def configured_placements(config: Config) -> list[Placement]:
    """Where ``[[sensors]]`` puts each channel: one placement per named channel."""
    return [Placement(a.muscle, a.side, entry.id, channel)
            for entry in config.sensors for channel, a in enumerate(entry.channels) if a is not None]


def placed_columns(placements: list[Placement]) -> dict[str, list[int]]:
    """Per sensor, the placed channels in placement order."""
    columns: dict[str, list[int]] = {}
    for placement in placements:
        columns.setdefault(placement.sensor_id, []).append(placement.channel)
    return columns


def bluetooth_source(config: Config, placements: list[Placement], *, scanner_backend=None, client_backend=None):
    """A ``BleSource`` of the configured sensors, narrowed to the ``placements``' channels."""
    from coach_tui.sources.ble.ble_source import BleSensor, BleSource

    sensors = [BleSensor(e.id, e.profile, e.address, e.name, e.adapter) for e in config.sensors]
    source = BleSource(sensors, scanner_backend=scanner_backend, client_backend=client_backend)
    return ChannelSelection(source, placed_columns(placements))


def envelope_sensors(config: Config) -> frozenset[str]:
    """Sensors whose placed channels carry an envelope the sensor computed rather than raw EMG (a
    MyoWare UART shield's first channel is its envelope, its second the raw signal)."""
    from coach_tui.sources.ble.profiles import PROFILES

    return frozenset(e.id for e in config.sensors
                     if all(PROFILES[e.profile].channel_kind(c) == "envelope"
                            for c, a in enumerate(e.channels) if a is not None))


def device_units(config: Config) -> dict[str, str]:
    """Each configured sensor's sample units ("µV", "counts", "unitless"), as its profile states them."""
    from coach_tui.sources.ble.profiles import PROFILES

    return {e.id: "µV" if PROFILES[e.profile].units == "uV" else PROFILES[e.profile].units for e in config.sensors}
