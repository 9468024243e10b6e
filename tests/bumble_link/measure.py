"""How fast the in-process link carries notifications end to end (bumble peripheral → bleak
callback), for the bench and for sizing tests. Run from ``tests/``::

    python -m bumble_link.measure [packets] [size]
"""

from __future__ import annotations

import asyncio
import sys
import time
from dataclasses import dataclass

from bleak import BleakClient, BleakScanner

from .peripherals import CharacteristicSpec, ServiceSpec
from .world import BumbleWorld

_SERVICE = "0000feed-0000-1000-8000-00805f9b34fb"
_DATA = "0000beef-0000-1000-8000-00805f9b34fb"


@dataclass(frozen=True)
class Throughput:
    peripherals: int
    packets: int  # per peripheral
    size: int
    seconds: float
    received: int  # all peripherals

    @property
    def per_second(self) -> float:
        return self.received / self.seconds

    def __str__(self) -> str:
        return (
            f"{self.peripherals} peripheral(s) × {self.packets} × {self.size} B: {self.received} in "
            f"{self.seconds:.3f} s = {self.per_second:,.0f} notifications/s "
            f"({self.per_second * self.size / 1e6:.2f} MB/s)"
        )


async def notification_throughput(peripherals: int = 1, packets: int = 2000, size: int = 200) -> Throughput:
    """Stream ``packets`` notifications of ``size`` bytes from each of ``peripherals`` as fast as
    the link takes them, through bleak's public API; count what the callbacks receive."""
    async with BumbleWorld() as world:
        sensors = [
            await world.add_peripheral(
                name=f"bench-{i}", services=[ServiceSpec(_SERVICE, [CharacteristicSpec(_DATA, "notify")])]
            )
            for i in range(peripherals)
        ]
        found = await BleakScanner.discover(timeout=0.1, service_uuids=[_SERVICE], backend=world.scanner_backend)
        assert len(found) == peripherals, found
        received = 0
        done = asyncio.get_running_loop().create_future()
        total = packets * peripherals

        def on_packet(_characteristic: object, _data: bytearray) -> None:
            nonlocal received
            received += 1
            if received >= total and not done.done():
                done.set_result(None)

        clients = []
        for device in found:
            client = BleakClient(device, backend=world.client_backend)
            await client.connect()
            await client.start_notify(_DATA, on_packet)
            clients.append(client)
        payload = bytes(range(256)) * (size // 256 + 1)
        started = time.perf_counter()
        for sensor in sensors:
            # A rate far above what the link takes: each tick just yields to the loop once.
            sensor.start_stream(_DATA, (payload[:size] for _ in range(packets)), rate_hz=1e9)
        try:
            await asyncio.wait_for(done, timeout=60)
        finally:
            seconds = time.perf_counter() - started
        for client in clients:
            await client.disconnect()
    return Throughput(peripherals, packets, size, seconds, received)


async def _main(packets: int, size: int) -> None:
    for n in (1, 4):
        print(await notification_throughput(n, packets, size))


if __name__ == "__main__":
    asyncio.run(_main(int(sys.argv[1]) if len(sys.argv) > 1 else 2000, int(sys.argv[2]) if len(sys.argv) > 2 else 200))
