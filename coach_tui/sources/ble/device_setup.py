"""What a fresh connection reads before streaming: the coach v1 info (which builds the decoder), a
Ganglion's firmware version (which picks the decoder) and the battery level.

The battery comes from the standard Battery Level characteristic (followed where it notifies); on a
system that hides the Battery Service from programs (BlueZ's battery plugin, bleak #393) from what
the system read itself (``Battery1``), polled every ``battery_poll_s``; else the sensor's status
says "battery: unknown".
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from dataclasses import dataclass
from typing import Any, TypeVar

from bleak import BleakClient
from bleak.exc import BleakError

from coach_tui.sources.ble.ble_sensor import BleSettings
from coach_tui.sources.ble.decode_coach import parse_coach_info
from coach_tui.sources.ble.decoders import Decoder
from coach_tui.sources.ble.profiles import Profile, read_firmware
from coach_tui.sources.ble.system_bluetooth import SystemBluetooth
from coach_tui.sources.block import SensorStatus

T = TypeVar("T")

BATTERY_UNKNOWN = "battery: unknown — the computer's Bluetooth service keeps the level to itself"


@dataclass(frozen=True, slots=True)
class Setup:
    """How to read this connection: the profile (a Ganglion's board may override the configured
    one), a fresh decoder, the nominal sample rate (None while unknown) and, when the battery level
    is the system's to poll, that task."""

    profile: Profile
    decoder: Decoder
    rate_hz: float | None
    battery_poll: asyncio.Task[None] | None


async def within(seconds: float, awaitable: Awaitable[T]) -> T:
    """``awaitable``, or TimeoutError after ``seconds``."""
    async with asyncio.timeout(seconds):
        return await awaitable


async def set_up(
    client: BleakClient, configured: Profile, status: SensorStatus, settings: BleSettings, system: SystemBluetooth
) -> Setup:
    """Read what the connection needs (status ``state`` says which step); ValueError for a coach v1
    info that cannot be read."""
    profile_ = configured
    info = None
    rate_hz = profile_.nominal_rate_hz
    status.notes = [profile_.title]
    if profile_.info_uuid is not None:
        status.state = "reading sensor info"
        info = bytes(await within(settings.gatt_timeout_s, client.read_gatt_char(profile_.info_uuid)))
        try:
            sensor_info = parse_coach_info(info)
        except ValueError as error:
            raise ValueError(f"{error} — update the sensor's firmware") from None
        rate_hz = sensor_info.sample_rate_hz
        status.notes.append(
            f"{sensor_info.name or 'unnamed'}: {sensor_info.kind}, {sensor_info.channels} ch "
            f"{sensor_info.sample_format} at {rate_hz:g} Hz"
        )
    if profile_.revision_uuid is not None:
        status.state = "reading firmware version"
        revision = await _read_revision(client, profile_.revision_uuid, settings)
        if revision is not None:
            choice = read_firmware(profile_, revision)
            profile_ = choice.profile
            status.notes = [profile_.title, choice.note]
            if choice.event:
                status.tell(choice.event)
    status.profile = profile_.key
    decoder = profile_.new_decoder(info)
    status.channels = decoder.channels
    status.nominal_rate_hz = float(rate_hz or 0.0)
    poll = None
    if profile_.battery_uuid is not None:
        status.state = "reading battery"
        if not await _follow_battery(client, profile_, status, settings):
            poll = await _system_battery(client.address, status, settings, system)
    return Setup(profile_, decoder, rate_hz, poll)


async def _read_revision(client: BleakClient, uuid: str, settings: BleSettings) -> str | None:
    """The Software Revision string, or None when the device has none or refuses the read."""
    characteristic = client.services.get_characteristic(uuid)
    if characteristic is None:
        return None
    try:
        data = await within(settings.gatt_timeout_s, client.read_gatt_char(characteristic))
    except BleakError:
        return None  # cannot tell; a dead link fails the next step
    return bytes(data).rstrip(b"\x00").decode("utf-8", "replace").strip() or None


async def _follow_battery(client: BleakClient, profile_: Profile, status: SensorStatus, settings: BleSettings) -> bool:
    """Read the Battery Level characteristic and follow it where it notifies; False when the
    device (as the system shows it) has none."""
    characteristic = client.services.get_characteristic(profile_.battery_uuid)
    if characteristic is None:
        return False

    def on_battery(_characteristic: Any, data: bytearray) -> None:
        if data:
            status.battery_pct = float(data[0])

    try:
        on_battery(None, await within(settings.gatt_timeout_s, client.read_gatt_char(characteristic)))
        if "notify" in characteristic.properties:
            await within(
                settings.gatt_timeout_s,
                client.start_notify(characteristic, on_battery, bluez={"use_start_notify": profile_.use_start_notify}),
            )
    except BleakError:
        pass  # a device that refuses battery reads still streams; a dead link fails the next step
    return True


async def _system_battery(
    address: str, status: SensorStatus, settings: BleSettings, system: SystemBluetooth
) -> asyncio.Task[None] | None:
    """The level the system read (then a task polling it), else "battery: unknown" (and None)."""

    async def read() -> float | None:
        try:
            return await within(settings.gatt_timeout_s, system.battery_level(address))
        except Exception:  # noqa: BLE001 - best effort: the level stays as it was
            return None

    level = await read()
    if level is None:
        status.tell(BATTERY_UNKNOWN)
        return None
    status.battery_pct = level

    async def poll() -> None:
        while True:
            await asyncio.sleep(settings.battery_poll_s)
            level = await read()
            if level is not None:
                status.battery_pct = level

    return asyncio.create_task(poll(), name=f"battery:{address}")
