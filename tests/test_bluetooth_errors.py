"""Telling "Bluetooth cannot be used here" apart from one sensor's trouble, from bleak's exceptions."""

from __future__ import annotations

import pytest
from ble_peripherals import failing_scanner_backend
from bleak.exc import (
    BleakBluetoothNotAvailableError,
    BleakBluetoothNotAvailableReason,
    BleakDBusError,
    BleakDeviceNotFoundError,
    BleakError,
    BleakGATTProtocolError,
)
from bumble_link import BumbleWorld

from coach_tui.sources.ble.bluetooth_errors import (
    MESSAGES,
    BluetoothUnavailable,
    bluetooth_unavailable,
    check_bluetooth,
)

Reason = BleakBluetoothNotAvailableReason


def not_available(reason: BleakBluetoothNotAvailableReason) -> BleakBluetoothNotAvailableError:
    return BleakBluetoothNotAvailableError("Bluetooth not available", reason)


def wrapped(error: BaseException) -> RuntimeError:
    try:
        raise RuntimeError("scan failed") from error
    except RuntimeError as outer:
        return outer


@pytest.mark.parametrize(
    ("error", "reason", "says"),
    [
        (not_available(Reason.NO_BLUETOOTH), "no_adapter", "no Bluetooth adapter found — plug in"),
        (not_available(Reason.NO_BLE_CENTRAL_ROLE), "no_le_central", "cannot connect to LE sensors"),
        (not_available(Reason.POWERED_OFF), "powered_off", "Bluetooth is off — turn it on (bluetoothctl power on"),
        (not_available(Reason.DENIED_BY_USER), "denied_by_user", "Privacy & Security › Bluetooth"),
        (not_available(Reason.DENIED_BY_SYSTEM), "permission_denied", "usermod -aG bluetooth"),
        (not_available(Reason.DENIED_BY_UNKNOWN), "permission_denied", "permission to use Bluetooth was denied"),
        (not_available(Reason.UNKNOWN), "unknown", "Bluetooth is not available (Bluetooth not available) — check"),
        (BleakDBusError("org.bluez.Error.NotReady", ["Resource Not Ready"]), "powered_off", "Bluetooth is off"),
        (
            BleakDBusError("org.bluez.Error.Failed", ["Failed to set mode: Blocked through rfkill (0x12)"]),
            "powered_off",
            "rfkill unblock bluetooth",
        ),
        (
            BleakDBusError("org.freedesktop.DBus.Error.AccessDenied", ["Rejected send message"]),
            "permission_denied",
            "add your user to the bluetooth group",
        ),
        (
            BleakDBusError(
                "org.freedesktop.DBus.Error.ServiceUnknown",
                ["The name org.bluez was not provided by any .service files"],
            ),
            "bluetoothd_not_running",
            "bluetoothd) is not running — start it (sudo systemctl start bluetooth)",
        ),
        (BleakDBusError("org.freedesktop.DBus.Error.NameHasNoOwner", []), "bluetoothd_not_running", "bluetoothd"),
        (BleakError("adapter 'hci1' not found"), "no_adapter", "no Bluetooth adapter found"),
        (FileNotFoundError(2, "No such file or directory"), "dbus_not_running", "system D-Bus is not running"),
        (ConnectionRefusedError(111, "Connection refused"), "dbus_not_running", "systemctl start dbus"),
        (PermissionError(13, "Permission denied"), "permission_denied", "permission to use Bluetooth"),
        (wrapped(BleakDBusError("org.bluez.Error.NotReady", [])), "powered_off", "Bluetooth is off"),
    ],
)
def test_bluetooth_wide_problems_become_one_line_on_what_to_do(error, reason, says):
    problem = bluetooth_unavailable(error)
    assert isinstance(problem, BluetoothUnavailable)
    assert problem.reason == reason
    message = str(problem)
    assert says in message
    assert "\n" not in message and message.endswith("run coach again")


@pytest.mark.parametrize(
    "error",
    [
        BleakError("Not connected"),
        BleakDeviceNotFoundError("AA:BB:CC:DD:EE:FF", "Device with address AA:BB:CC:DD:EE:FF was not found."),
        BleakDBusError("org.bluez.Error.NotPermitted", ["Write not permitted"]),  # one characteristic
        BleakDBusError("org.bluez.Error.Failed", ["le-connection-abort-by-local"]),  # one connection
        BleakGATTProtocolError(0x03),
        TimeoutError(),
        ValueError("coach v1 info: version 2 is not supported"),
    ],
)
def test_problems_of_one_sensor_are_left_alone(error):
    assert bluetooth_unavailable(error) is None


def test_an_already_classified_problem_passes_through_and_reasons_are_checked():
    problem = BluetoothUnavailable("powered_off")
    assert bluetooth_unavailable(wrapped(problem)) is problem
    assert set(MESSAGES) >= {"no_adapter", "powered_off", "permission_denied", "bluetoothd_not_running"}
    with pytest.raises(ValueError, match="unknown reason"):
        BluetoothUnavailable("gremlins")


async def test_check_bluetooth_probes_the_adapter():
    async with BumbleWorld() as world:
        await check_bluetooth(world.scanner_backend)  # a working adapter: no complaint

    with pytest.raises(BluetoothUnavailable, match="Bluetooth is off") as caught:
        await check_bluetooth(failing_scanner_backend(not_available(Reason.POWERED_OFF)))
    assert isinstance(caught.value.__cause__, BleakBluetoothNotAvailableError)

    with pytest.raises(BleakError, match="something else"):  # not Bluetooth-wide: unchanged
        await check_bluetooth(failing_scanner_backend(BleakError("something else")))
