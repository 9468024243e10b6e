"""``coach scan``: nearby Bluetooth sensors, with config entries ready to paste."""

from __future__ import annotations

import argparse

from coach_tui.commands import CommandError


def add_parser(commands) -> None:
    """Register the subcommand."""
    scan = commands.add_parser(
        "scan",
        help="list nearby Bluetooth sensors with [[sensors]] entries for config.toml",
        description="Listen for Bluetooth LE advertisements and list the devices that look like a "
        "supported sensor (coach v1, MyoWare 2.0, Myo, OpenBCI Ganglion), strongest signal first, "
        "reading an OpenBCI Ganglion's firmware version to pick its profile, then print [[sensors]] entries to paste into config.toml. Exit status 0 when sensors were "
        "found, 1 when none, 2 when Bluetooth cannot be used.",
    )
    scan.add_argument("--seconds", type=float, default=5.0, metavar="N", help="how long to listen (default 5)")
    scan.add_argument("--json", action="store_true",
                      help="print one JSON object: the devices found and the [[sensors]] snippet")


def run(args: argparse.Namespace, config) -> int:
    """Scan, print the devices and the config snippet; 0 found, 1 none."""
    import asyncio

    from coach_tui.config import REFERENCE_CONFIG
    from coach_tui.sources.ble import scan as ble_scan
    from coach_tui.sources.ble.bluetooth_errors import BluetoothUnavailable
    from coach_tui.sources.ble.profiles import PROFILES

    if not args.seconds > 0:
        raise CommandError(f"--seconds {args.seconds:g}: must be positive")
    try:
        devices = asyncio.run(ble_scan.scan(args.seconds))
    except BluetoothUnavailable as error:
        raise CommandError(str(error)) from None
    if args.json:
        import dataclasses
        import json

        print(json.dumps({"devices": [dataclasses.asdict(d) for d in devices],
                          "config_snippet": ble_scan.config_snippet(devices) if devices else ""}, ensure_ascii=False))
        return 0 if devices else 1
    if not devices:
        print(
            f"No sensors found in {args.seconds:g} s. Check that each sensor is switched on and charged, "
            "within a few metres, and not connected to another device (a phone app); then run "
            "coach scan again, or listen longer with --seconds 15."
        )
        return 1
    print(f"Found {len(devices)} sensor{'s' if len(devices) != 1 else ''} in {args.seconds:g} s:")
    for device in devices:
        rssi = f"{device.rssi} dBm" if device.rssi is not None else "— dBm"
        firmware = f" — board reports firmware {device.firmware}" if device.firmware else ""
        print(f"  {device.address:<17}  {device.name or '(no name)':<20} {rssi:>8}  {PROFILES[device.profile].title}{firmware}")
    where = "./config.toml (or ~/.config/coach-tui/config.toml)" if config.path == REFERENCE_CONFIG else config.path
    print(f"\nPaste into {where} and fill in the muscle on each channel:\n")
    print(ble_scan.config_snippet(devices), end="")
    return 0
