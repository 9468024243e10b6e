"""Test-only bleak backend over bumble: bleak code talks to bumble GATT peripherals through a
real (in-process) BLE stack — advertising, scanning, LE connections, ATT MTU exchange, GATT
discovery, reads, writes and notifications — with no kernel Bluetooth and no HCI sockets.

    from bleak import BleakClient, BleakScanner
    from bumble_link import BumbleWorld, CharacteristicSpec, ServiceSpec

    async with BumbleWorld() as world:
        sensor = await world.add_peripheral(
            name="coach-1",
            services=[ServiceSpec(SERVICE, [CharacteristicSpec(DATA, "notify"),
                                            CharacteristicSpec(CONTROL, "write")])],
            battery_level=80,
        )
        sensor.on_write(lambda w: sensor.start_stream(DATA, packets, rate_hz=200)
                        if w.data == b"\x01" else sensor.stop_stream(), CONTROL)
        device = await BleakScanner.find_device_by_name("coach-1", backend=world.scanner_backend)
        async with BleakClient(device, backend=world.client_backend) as client:
            await client.start_notify(DATA, on_packet)
            await client.write_gatt_char(CONTROL, b"\x01", response=True)

Modules: ``world`` (:class:`BumbleWorld`: link, central, peripherals, bound backend classes),
``backend`` (the bleak scanner/client backends), ``peripherals`` (:class:`PeripheralSpec`,
:class:`Peripheral`, :class:`Stream`), ``measure`` (notification throughput, for the bench).
``tests/`` is on ``sys.path`` under pytest (rootdir conftest); a script inserts it itself.

What it does not model (see each class for details):

- Radio timing: bumble's ``LocalLink`` hands packets over with ``call_soon`` — no connection
  events, so notifications arrive one by one with ~0 latency instead of in bursts per connection
  interval, and throughput is bounded by CPU only (measured 1.3k–4k notifications/s in all, by machine
  load; bumble formats its debug strings for every packet even with logging off, about half the
  cost). 4 sensors × 250/s take about half a core. No loss on air
  except what a test asks for (``Stream(drop=…)``, ``Peripheral.disconnect``, ``drop_link``).
- Advertising: extended (non-legacy) advertising carrying everything (flags, service UUIDs, name,
  manufacturer data; ≤ 251 bytes) because bumble's in-process controller sends no real scan
  response; RSSI is always −50, TX power absent; "passive" scanning behaves like "active".
- bleak features: ``unpair`` raises ``NotImplementedError``; ``BleakAdapter`` (bleak 3.1) has no
  backend here; BlueZ/CoreBluetooth/WinRT-specific arguments are accepted and ignored. Generic
  Access 0x1800 and Generic Attribute 0x1801 services are listed in ``client.services``;
  characteristic handles are bumble's ATT value handles.
- bumble's GATT server does not check write permissions; peripherals stream notifications only
  (no indications); one central per world, one connection per peripheral.
"""

from .backend import (
    BumbleClientBackend,
    BumbleDeviceDetails,
    BumbleScannerBackend,
    advertisement_data,
)
from .peripherals import (
    BATTERY_LEVEL_UUID,
    BATTERY_SERVICE_UUID,
    CONNECTION_TIMEOUT,
    REMOTE_POWER_OFF,
    REMOTE_USER_TERMINATED,
    CharacteristicSpec,
    Peripheral,
    PeripheralSpec,
    ServiceSpec,
    Stream,
    Write,
    bleak_uuid,
)
from .world import BumbleWorld

__all__ = [
    "BATTERY_LEVEL_UUID",
    "BATTERY_SERVICE_UUID",
    "CONNECTION_TIMEOUT",
    "REMOTE_POWER_OFF",
    "REMOTE_USER_TERMINATED",
    "BumbleClientBackend",
    "BumbleDeviceDetails",
    "BumbleScannerBackend",
    "BumbleWorld",
    "CharacteristicSpec",
    "Peripheral",
    "PeripheralSpec",
    "ServiceSpec",
    "Stream",
    "Write",
    "advertisement_data",
    "bleak_uuid",
]
