"""Finding nearby sensors for ``coach scan``: which advertising devices match a known profile, and
the ``[[sensors]]`` entries to paste into config.toml for them.

Where advertising cannot tell the profile (an OpenBCI Ganglion's firmware 2 or 3), the scan
connects to the device and reads its Software Revision string, and the entry names the profile
the board's firmware needs."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, replace

from coach_tui.sources.ble.bluetooth_errors import bluetooth_unavailable
from coach_tui.sources.ble.profiles import PROFILES, Profile, matching_profile, read_firmware


@dataclass(frozen=True, slots=True)
class FoundDevice:
    """An advertising device that looks like a known sensor. ``address`` is a UUID on macOS;
    ``rssi`` in dBm (None when the platform does not say); ``profile`` a key of ``PROFILES``."""

    address: str
    name: str | None
    rssi: int | None
    profile: str
    #: The firmware version the device reported, where the profile depends on it (None: not read).
    firmware: str | None = None


#: How long reading one device's firmware version may take (connect, discover, read).
FIRMWARE_READ_TIMEOUT_S = 10.0


async def scan(
    seconds: float, scanner_backend: type | None = None, client_backend: type | None = None
) -> list[FoundDevice]:
    """Listen ``seconds`` for advertisements; the devices that match a profile, strongest first,
    with the firmware version read from those whose profile depends on it.

    Raises :class:`~coach_tui.sources.ble.bluetooth_errors.BluetoothUnavailable` when Bluetooth
    cannot be used (no adapter, off, no permission); ``scanner_backend`` and ``client_backend``
    are bleak backend classes (None: the platform's)."""
    from bleak import BleakScanner

    try:
        found = await BleakScanner.discover(timeout=seconds, return_adv=True, backend=scanner_backend)
    except Exception as error:
        problem = bluetooth_unavailable(error)
        if problem is None:
            raise
        raise problem from error
    devices = []
    for device, adv in found.values():
        name = adv.local_name or device.name
        matched = matching_profile(name, adv.service_uuids)
        if matched is not None:
            rssi = adv.rssi if adv.rssi is not None and adv.rssi > -127 else None
            found_device = FoundDevice(device.address.upper(), name, rssi, matched.key)
            if matched.revision_uuid is not None:
                found_device = await _with_firmware(device, found_device, matched, client_backend)
            devices.append(found_device)
    return sorted(devices, key=lambda d: (-(d.rssi if d.rssi is not None else -999), d.name or "", d.address))


async def _with_firmware(device, found: FoundDevice, matched: Profile, client_backend: type | None) -> FoundDevice:
    """``found`` with the firmware version the device reports and the profile that reads it; as
    it was when the device cannot be connected or has no version to read."""
    from bleak import BleakClient

    try:
        async with asyncio.timeout(FIRMWARE_READ_TIMEOUT_S):
            async with BleakClient(device, backend=client_backend) as client:
                characteristic = client.services.get_characteristic(matched.revision_uuid)
                if characteristic is None:
                    return found
                data = await client.read_gatt_char(characteristic)
    except Exception:  # noqa: BLE001 - busy, out of range, refused: the entry keeps its advice
        return found
    revision = bytes(data).rstrip(b"\x00").decode("utf-8", "replace").strip()
    if not revision:
        return found
    return replace(found, profile=read_firmware(matched, revision).profile.key, firmware=revision)


def config_snippet(devices: Sequence[FoundDevice]) -> str:
    """``[[sensors]]`` TOML entries for ``devices`` (ids s1, s2, …) with an empty muscle per
    channel for the trainer to fill in (config.toml refuses an entry naming no muscle); coach v1
    sensors say their channel count only once connected, so they get one channel and a comment."""
    known = ", ".join(PROFILES)
    entries = []
    for number, device in enumerate(devices, start=1):
        profile = PROFILES[device.profile]
        name_hint = f"   # or: name = {_toml_string(device.name)}" if device.name else ""
        channels = ", ".join(['""'] * (profile.channels or 1))
        if profile.channels is None:
            how_many = "as many as the sensor has: coach check shows it"
        else:
            how_many = f'{profile.channels} in order, "" for an unused one'
        lines = [
            "[[sensors]]",
            f'id = "s{number}"                    # your name for this sensor',
            f"profile = {_toml_string(profile.key)}   # one of: {known}",
            f"address = {_toml_string(device.address)}{name_hint}",
            (
                f'channels = [{channels}]   # fill in one "muscle:side" per channel, e.g. "glute_max:L" — '
                f"{how_many}; muscle keys as in coach_tui/domain/muscles.py"
            ),
        ]
        if device.firmware is not None:
            lines.insert(3, f"# the board reports firmware {device.firmware}")
        elif profile.revision_uuid is not None:
            lines.insert(3, "# OpenBCI Ganglion: profile ganglion_fw2 for firmware 1 or 2, ganglion_fw3 for firmware 3 "
                            "(its firmware could not be read; coach check shows it)")
        entries.append("\n".join(lines))
    return "\n\n".join(entries) + ("\n" if entries else "")


def _toml_string(text: str) -> str:
    """``text`` as a TOML basic string."""
    escaped = []
    for char in text:
        if char in '"\\':
            escaped.append("\\" + char)
        elif ord(char) < 0x20 or ord(char) == 0x7F:
            escaped.append(f"\\u{ord(char):04x}")
        else:
            escaped.append(char)
    return '"' + "".join(escaped) + '"'
