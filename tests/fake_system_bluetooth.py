"""The computer's Bluetooth service as the reader sees it (``coach_tui.sources.ble.system_bluetooth``),
over a bumble world: what the world's central holds connected — by the reader or by a program that
"crashed" and left its connection behind — and battery levels the service keeps to itself."""

from __future__ import annotations

from bumble_link import BumbleWorld

from coach_tui.sources.ble.system_bluetooth import HeldDevice


class FakeSystemBluetooth:
    """``held_devices`` lists every connected client of the world, as BlueZ lists every connected
    device whoever connected it; ``batteries`` maps an address to the ``Battery1`` level (absent:
    unknown). ``disconnected`` records the addresses closed, ``battery_reads`` counts reads."""

    def __init__(self, world: BumbleWorld, batteries: dict[str, float] | None = None):
        self.world = world
        self.batteries = dict(batteries or {})
        self.disconnected: list[str] = []
        self.battery_reads = 0

    async def held_devices(self) -> list[HeldDevice]:
        held = []
        for client in list(self.world._clients):
            if not client.is_connected:
                continue
            device = client._device
            uuids = tuple(service.uuid for service in client.services) if client.services else ()
            address = client.address.upper()
            held.append(HeldDevice(address, device.name if device else None, uuids,
                                   f"/org/bluez/hci0/dev_{address.replace(':', '_')}"))
        return held

    async def disconnect(self, device: HeldDevice) -> None:
        for client in list(self.world._clients):
            if client.address.upper() == device.address:
                await client.disconnect()
                self.disconnected.append(device.address)

    async def battery_level(self, address: str) -> float | None:
        self.battery_reads += 1
        return self.batteries.get(address.upper())
