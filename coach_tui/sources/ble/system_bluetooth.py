"""What the computer's own Bluetooth service knows beyond bleak: the sensors it still holds
connected, and battery levels it keeps to itself.

Two things bleak cannot do for the reader on Linux (SENSORS.md, "bleak notes that bite"):

- A sensor that BlueZ still holds connected — after a crash or a kill of the program that
  connected it — stops advertising and is never found by a scan (bleak #367, #992) until it is
  disconnected. :meth:`SystemBluetooth.held_devices` lists what the system holds connected and
  :meth:`SystemBluetooth.disconnect` closes such a stale connection.
- BlueZ ≥ 5.48 hides the standard Battery Service 0x180F behind its battery plugin (bleak #393)
  and offers the level as ``org.bluez.Battery1.Percentage`` instead:
  :meth:`SystemBluetooth.battery_level`.

:class:`BlueZ` does both through BlueZ's public D-Bus API (``ObjectManager.GetManagedObjects``,
``Device1.Disconnect``) with dbus-fast, which bleak itself uses on Linux. Every call is best
effort: a system without BlueZ or D-Bus holds nothing and knows no battery. :class:`NoSystemBluetooth`
stands for platforms (and test backends) where bleak's connections end with the program.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

_DEVICE = "org.bluez.Device1"
_BATTERY = "org.bluez.Battery1"


@dataclass(frozen=True, slots=True)
class HeldDevice:
    """A device the system holds connected: its address (upper case), name, the service UUIDs it
    offers (lower case, 128-bit) and the object path the system knows it by."""

    address: str
    name: str | None
    service_uuids: tuple[str, ...]
    path: str


class SystemBluetooth(Protocol):
    """The seam between the reader and the computer's Bluetooth service."""

    async def held_devices(self) -> list[HeldDevice]:
        """Devices the system holds connected now (by any program, this one included)."""
        ...

    async def disconnect(self, device: HeldDevice) -> None:
        """Close the system's connection to ``device``."""
        ...

    async def battery_level(self, address: str) -> float | None:
        """The battery level in % the system read from the device at ``address``, if it has one."""
        ...


class NoSystemBluetooth:
    """A system that holds no connections of its own and keeps no battery levels."""

    async def held_devices(self) -> list[HeldDevice]:
        """Nothing is held."""
        return []

    async def disconnect(self, device: HeldDevice) -> None:
        """Nothing to close."""

    async def battery_level(self, address: str) -> float | None:
        """Never known."""
        return None


def held_in(objects: Mapping[str, Mapping[str, Mapping[str, Any]]]) -> list[HeldDevice]:
    """The connected devices among BlueZ's managed objects (``GetManagedObjects``, values unwrapped)."""
    held = []
    for path, interfaces in objects.items():
        device = interfaces.get(_DEVICE)
        if not device or not device.get("Connected") or not device.get("Address"):
            continue
        name = device.get("Name") or device.get("Alias")
        uuids = tuple(str(u).lower() for u in device.get("UUIDs", ()))
        held.append(HeldDevice(str(device["Address"]).upper(), name, uuids, path))
    return held


def battery_in(objects: Mapping[str, Mapping[str, Mapping[str, Any]]], address: str) -> float | None:
    """The ``Battery1.Percentage`` of the device at ``address`` among BlueZ's managed objects."""
    for interfaces in objects.values():
        device = interfaces.get(_DEVICE)
        if device and str(device.get("Address", "")).upper() == address.upper():
            percentage = interfaces.get(_BATTERY, {}).get("Percentage")
            if isinstance(percentage, int) and 0 <= percentage <= 100:
                return float(percentage)
    return None


class BlueZ:
    """The Linux Bluetooth service, over the system D-Bus (a new bus connection per call)."""

    async def _call(self, path: str, interface: str, member: str) -> list[Any] | None:
        """One method call on BlueZ; its reply's body, or None when BlueZ cannot be asked or refuses."""
        from dbus_fast import BusType, Message, MessageType
        from dbus_fast.aio import MessageBus

        try:
            bus = await MessageBus(bus_type=BusType.SYSTEM).connect()
        except Exception:  # noqa: BLE001 - no D-Bus, no permission: nothing to learn here
            return None
        try:
            reply = await bus.call(Message(destination="org.bluez", path=path, interface=interface, member=member))
        except Exception:  # noqa: BLE001 - best effort, see the module docstring
            return None
        finally:
            bus.disconnect()
        if reply is None or reply.message_type == MessageType.ERROR:
            return None
        return reply.body

    async def _objects(self) -> dict[str, dict[str, dict[str, Any]]]:
        body = await self._call("/", "org.freedesktop.DBus.ObjectManager", "GetManagedObjects")
        if not body:
            return {}
        return {
            path: {iface: {k: getattr(v, "value", v) for k, v in props.items()} for iface, props in ifaces.items()}
            for path, ifaces in body[0].items()
        }

    async def held_devices(self) -> list[HeldDevice]:
        """Devices BlueZ holds connected."""
        return held_in(await self._objects())

    async def disconnect(self, device: HeldDevice) -> None:
        """``Device1.Disconnect`` on the device's object."""
        await self._call(device.path, _DEVICE, "Disconnect")

    async def battery_level(self, address: str) -> float | None:
        """BlueZ's ``Battery1.Percentage`` of the device."""
        return battery_in(await self._objects(), address)


def system_bluetooth() -> SystemBluetooth:
    """This platform's: :class:`BlueZ` on Linux, else :class:`NoSystemBluetooth`."""
    return BlueZ() if sys.platform.startswith("linux") else NoSystemBluetooth()
