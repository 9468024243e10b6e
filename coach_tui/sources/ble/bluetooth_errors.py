"""Bluetooth that cannot be used at all — no adapter, switched off, no permission, no bluetoothd —
told apart from problems with one sensor, with one line on what to do.

bleak reports these situations in several shapes, by platform (bleak 3.1):

- ``BleakBluetoothNotAvailableError`` with a ``BleakBluetoothNotAvailableReason`` (every backend:
  no adapter, no LE central role, powered off, denied by the user or the system);
- on Linux, ``BleakDBusError`` names from BlueZ or the bus itself: ``org.bluez.Error.NotReady``
  (adapter not powered), ``org.freedesktop.DBus.Error.AccessDenied`` (D-Bus policy refuses this
  user), ``org.freedesktop.DBus.Error.ServiceUnknown`` / ``NameHasNoOwner`` (bluetoothd is not
  running), a ``BleakError`` "adapter 'hci1' not found";
- on Linux, the OS errors of connecting to the system bus socket: ``FileNotFoundError`` or
  ``ConnectionRefusedError`` (no D-Bus), ``PermissionError``.

:func:`bluetooth_unavailable` maps any of them (looking through ``__cause__``/``__context__``) to
one :class:`BluetoothUnavailable`; everything else (a sensor out of range, a failed GATT write) is
not its business and gives None. :func:`check_bluetooth` probes the adapter with a short scan.
"""

from __future__ import annotations

import asyncio
import re

from bleak.exc import (
    BleakBluetoothNotAvailableError,
    BleakBluetoothNotAvailableReason,
    BleakDBusError,
    BleakError,
)

#: Reason keys of :class:`BluetoothUnavailable`, each with its one-line message.
MESSAGES: dict[str, str] = {
    "no_adapter": "no Bluetooth adapter found — plug in a Bluetooth 4.0+ USB adapter (or enable the "
    "built-in one) and run coach again",
    "no_le_central": "the Bluetooth adapter cannot connect to LE sensors — use a Bluetooth 4.0 (LE) "
    "or newer adapter and run coach again",
    "powered_off": "Bluetooth is off — turn it on (bluetoothctl power on; if it stays off: rfkill "
    "unblock bluetooth) and run coach again",
    "denied_by_user": "permission to use Bluetooth was denied — allow your terminal to use Bluetooth "
    "(macOS: System Settings › Privacy & Security › Bluetooth) and run coach again",
    "permission_denied": "permission to use Bluetooth was denied by the system — on Linux add your "
    "user to the bluetooth group (sudo usermod -aG bluetooth $USER, then log in again), elsewhere "
    "allow it in the system settings, and run coach again",
    "bluetoothd_not_running": "the Bluetooth service (bluetoothd) is not running — start it (sudo "
    "systemctl start bluetooth) and run coach again",
    "dbus_not_running": "cannot reach the Bluetooth service: the system D-Bus is not running — start "
    "it (sudo systemctl start dbus bluetooth) and run coach again",
    "unknown": "Bluetooth is not available{detail} — check that it is on and that your user may use "
    "it, then run coach again",
}

_BLEAK_REASONS = {
    BleakBluetoothNotAvailableReason.NO_BLUETOOTH: "no_adapter",
    BleakBluetoothNotAvailableReason.NO_BLE_CENTRAL_ROLE: "no_le_central",
    BleakBluetoothNotAvailableReason.POWERED_OFF: "powered_off",
    BleakBluetoothNotAvailableReason.DENIED_BY_USER: "denied_by_user",
    BleakBluetoothNotAvailableReason.DENIED_BY_SYSTEM: "permission_denied",
    BleakBluetoothNotAvailableReason.DENIED_BY_UNKNOWN: "permission_denied",
    BleakBluetoothNotAvailableReason.UNKNOWN: "unknown",
}

_DBUS_REASONS = {
    "org.bluez.Error.NotReady": "powered_off",
    "org.freedesktop.DBus.Error.AccessDenied": "permission_denied",
    "org.freedesktop.DBus.Error.AuthFailed": "permission_denied",
    "org.freedesktop.DBus.Error.ServiceUnknown": "bluetoothd_not_running",
    "org.freedesktop.DBus.Error.NameHasNoOwner": "bluetoothd_not_running",
}

_ADAPTER_NOT_FOUND = re.compile(r"adapter '[^']*' not found")


class BluetoothUnavailable(Exception):
    """Bluetooth cannot be used on this machine; ``str()`` is one line saying what to do.

    ``reason`` is a key of :data:`MESSAGES` ("no_adapter", "powered_off", "permission_denied", …).
    """

    def __init__(self, reason: str, detail: str = ""):
        if reason not in MESSAGES:
            raise ValueError(f"unknown reason {reason!r}; known: {', '.join(MESSAGES)}")
        super().__init__(MESSAGES[reason].format(detail=f" ({detail})" if detail else ""))
        self.reason = reason


def bluetooth_unavailable(error: BaseException) -> BluetoothUnavailable | None:
    """The :class:`BluetoothUnavailable` ``error`` (or an exception it was raised from) means, or
    None when it is about something else, such as one sensor."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, BluetoothUnavailable):
            return current
        reason = _reason(current)
        if reason is not None:
            detail = str(current.args[0]) if reason == "unknown" and current.args else ""
            return BluetoothUnavailable(reason, detail)
        current = current.__cause__ or current.__context__
    return None


def _reason(error: BaseException) -> str | None:
    if isinstance(error, BleakBluetoothNotAvailableError):
        return _BLEAK_REASONS.get(error.reason, "unknown")
    if isinstance(error, BleakDBusError):
        if error.dbus_error == "org.bluez.Error.Failed" and "rfkill" in str(error).lower():
            return "powered_off"
        return _DBUS_REASONS.get(error.dbus_error)
    if isinstance(error, BleakError):
        return "no_adapter" if _ADAPTER_NOT_FOUND.search(str(error)) else None
    if isinstance(error, FileNotFoundError | ConnectionRefusedError):
        return "dbus_not_running"
    if isinstance(error, PermissionError):
        return "permission_denied"
    return None


async def check_bluetooth(scanner_backend: type | None = None, seconds: float = 0.1) -> None:
    """Start and stop a scan to see whether Bluetooth can be used at all; raise
    :class:`BluetoothUnavailable` when not (other errors propagate unchanged).

    ``scanner_backend`` is a bleak scanner backend class (None: the platform's)."""
    from bleak import BleakScanner

    try:
        async with BleakScanner(backend=scanner_backend):
            await asyncio.sleep(seconds)
    except Exception as error:
        problem = bluetooth_unavailable(error)
        if problem is None:
            raise
        raise problem from error
