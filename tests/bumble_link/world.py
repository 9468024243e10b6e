"""The in-process Bluetooth world: one bumble ``LocalLink``, one central (the "adapter" bleak
drives) and any number of peripherals, plus bleak backend classes bound to it."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from dataclasses import replace
from typing import TYPE_CHECKING, Any, Self

from bleak.exc import BleakError
from bumble import core, hci
from bumble.controller import Controller
from bumble.device import Advertisement, Connection, Device
from bumble.host import Host
from bumble.link import LocalLink
from bumble.transport.common import AsyncPipeSink

from .peripherals import CONNECTION_TIMEOUT, Peripheral, PeripheralSpec, ServiceSpec

if TYPE_CHECKING:
    from .backend import BumbleClientBackend, BumbleScannerBackend

logger = logging.getLogger(__name__)


class BumbleWorld:
    """An in-process BLE world. Create it inside a running event loop, then ``await start()`` (or
    ``async with BumbleWorld() as world``) and ``await close()`` at the end.

    - ``mtu``: ATT MTU the central requests right after connecting (as BlueZ, CoreBluetooth and
      WinRT do on their own); the result is ``min(mtu, peripheral max_mtu)``. 247 is a common
      negotiated value (it fills one 251-byte link-layer packet): notifications carry up to 244 bytes.
    - ``advertising_interval_ms``: default advertising interval of the peripherals (40 ms; the
      ESP32 Arduino BLE library advertises every 20–40 ms by default). Discovery and
      (re)connection wait for the next advertisement, so up to one interval.
    - ``acl_packet_length``: LE ACL payload per packet in the controllers (251 = data length
      extension, which most current adapters negotiate; 27 = BLE 4.0/4.1).
    - ``serialize_connects``: connects wait for each other (the central controller handles one
      pending LE connection at a time). ``False`` makes a concurrent connect fail with
      ``BleakError`` instead, like BlueZ's "Operation already in progress".

    ``scanner_backend`` and ``client_backend`` are bleak backend classes bound to this world:
    ``BleakScanner(backend=world.scanner_backend)``, ``BleakClient(device,
    backend=world.client_backend)``.
    """

    def __init__(
        self,
        *,
        mtu: int = 247,
        advertising_interval_ms: float = 40.0,
        acl_packet_length: int = 251,
        serialize_connects: bool = True,
        central_address: str = "F0:C0:AC:00:00:01",
    ) -> None:
        from .backend import BumbleClientBackend, BumbleScannerBackend

        asyncio.get_running_loop()  # fail early when created outside a loop
        self.mtu = mtu
        self.advertising_interval_ms = advertising_interval_ms
        self.acl_packet_length = acl_packet_length
        self.serialize_connects = serialize_connects
        self.link = LocalLink()
        self.central_controller = Controller("central", link=self.link, public_address="00:A0:00:00:00:01")
        self._tune_controller(self.central_controller)
        #: The bumble central ``Device`` behind the bleak backends.
        self.central = Device(
            name="coach-central",
            address=hci.Address(central_address),
            host=Host(self.central_controller, AsyncPipeSink(self.central_controller)),
        )
        self.peripherals: list[Peripheral] = []
        #: Exceptions raised by bleak notification / disconnected / detection callbacks (logged).
        self.callback_errors: list[BaseException] = []
        self.scanner_backend: type[BumbleScannerBackend] = type(
            "BumbleScannerBackend", (BumbleScannerBackend,), {"world": self}
        )
        self.client_backend: type[BumbleClientBackend] = type(
            "BumbleClientBackend", (BumbleClientBackend,), {"world": self}
        )
        self._scanners: list[BumbleScannerBackend] = []
        self._scan_lock = asyncio.Lock()
        self._connect_lock = asyncio.Lock()
        self._clients: set[BumbleClientBackend] = set()
        self._timers: set[asyncio.TimerHandle] = set()
        self._tasks: set[asyncio.Task[Any]] = set()
        self._started = False
        self._closed = False

    # -- lifecycle -------------------------------------------------------------------------------
    async def start(self) -> Self:
        if not self._started:
            await self.central.power_on()
            self.central.on(self.central.EVENT_ADVERTISEMENT, self._on_advertisement)
            self._started = True
        return self

    async def close(self) -> None:
        """Stop streams, disconnect every client (their disconnected callbacks fire), stop
        scanning and advertising, power everything off and let the loop drain. Idempotent."""
        if self._closed:
            return
        self._closed = True
        for peripheral in self.peripherals:
            peripheral._closed = True  # no re-advertising after the disconnections below
            for stream in peripheral.streams:
                await stream._cancel_and_wait()
        for client in list(self._clients):
            await client._close()
        for timer in self._timers:
            timer.cancel()
        self._timers.clear()
        for peripheral in self.peripherals:
            await peripheral._close()
        async with self._scan_lock:
            self._scanners.clear()
            if self.central.is_scanning:
                await self.central.stop_scanning()
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        for device in [self.central, *(p.device for p in self.peripherals)]:
            await device.power_off()
        # Let call_soon()-queued HCI/link packets of the shutdown run out.
        for _ in range(5):
            await asyncio.sleep(0)

    async def __aenter__(self) -> Self:
        return await self.start()

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    # -- peripherals -----------------------------------------------------------------------------
    async def add_peripheral(
        self,
        spec: PeripheralSpec | None = None,
        /,
        *,
        name: str | None = None,
        services: Iterable[ServiceSpec] = (),
        **kwargs: Any,
    ) -> Peripheral:
        """Create, power on and (unless ``advertise=False``) start advertising a peripheral, from
        a :class:`PeripheralSpec` or from its fields as keyword arguments."""
        if not self._started:
            raise RuntimeError("await world.start() before adding peripherals")
        if spec is None:
            spec = PeripheralSpec(name=name, services=tuple(services), **kwargs)
        elif name is not None or kwargs:
            spec = replace(spec, **({"name": name} if name is not None else {}), **kwargs)
        index = len(self.peripherals) + 1
        address = spec.address or f"C0:B0:00:00:{index >> 8 & 0xFF:02X}:{index & 0xFF:02X}"
        if any(p.address == address.upper() for p in self.peripherals):
            raise ValueError(f"address {address} is already used")
        peripheral = Peripheral(self, spec, address, index)
        self.peripherals.append(peripheral)
        await peripheral._start()
        return peripheral

    def peripheral(self, name_or_address: str) -> Peripheral:
        for p in self.peripherals:
            if p.name == name_or_address or p.address == name_or_address.upper():
                return p
        raise KeyError(name_or_address)

    # -- internals used by the backends and peripherals ------------------------------------------
    def _tune_controller(self, controller: Controller) -> None:
        controller.le_acl_data_packet_length = self.acl_packet_length
        controller.supported_max_tx_octets = self.acl_packet_length
        controller.supported_max_rx_octets = self.acl_packet_length

    def _report_callback_error(self, what: str, error: BaseException) -> None:
        logger.error("%s raised", what, exc_info=error)
        self.callback_errors.append(error)

    def _on_advertisement(self, advertisement: Advertisement) -> None:
        # bumble's in-process controller answers every advertisement with a copy of it as "scan
        # response"; the accumulated copy only duplicates the data, so skip it.
        if advertisement.is_scan_response:
            return
        for scanner in list(self._scanners):
            scanner._on_advertisement(advertisement)

    async def _add_scanner(self, scanner: BumbleScannerBackend, active: bool) -> None:
        async with self._scan_lock:
            if scanner not in self._scanners:
                self._scanners.append(scanner)
            if not self.central.is_scanning:
                await self.central.start_scanning(active=active, filter_duplicates=False)

    async def _remove_scanner(self, scanner: BumbleScannerBackend) -> None:
        async with self._scan_lock:
            if scanner in self._scanners:
                self._scanners.remove(scanner)
            if not self._scanners and self.central.is_scanning and not self._closed:
                await self.central.stop_scanning()

    async def _connect(self, address: hci.Address) -> Connection:
        """One LE connection from the central, cleaning up after a cancellation (timeout)."""
        if self.serialize_connects:
            async with self._connect_lock:
                return await self._connect_once(address)
        if self._connect_lock.locked():
            raise BleakError("Operation already in progress: another connect is pending on this adapter")
        async with self._connect_lock:
            return await self._connect_once(address)

    async def _connect_once(self, address: hci.Address) -> Connection:
        try:
            return await self.central.connect(address, timeout=None)
        except asyncio.CancelledError:
            # bumble's in-process controller ignores LE Create Connection Cancel: drop the pending
            # connection ourselves, and reap a connection that completed during cancellation.
            self.central_controller.pending_le_connection = None
            self._spawn(self._reap_orphans(address))
            raise
        except core.BaseBumbleError as error:
            raise BleakError(f"connection to {address} failed: {error}") from error

    async def _reap_orphans(self, address: hci.Address) -> None:
        await asyncio.sleep(0.05)
        owned = {c._connection for c in self._clients}
        for connection in list(self.central.connections.values()):
            if connection.peer_address == address and connection not in owned:
                try:
                    await connection.disconnect()
                except hci.HCI_Error:
                    pass

    def _schedule_supervision_timeout(self, peripheral_address: hci.Address, delay: float) -> None:
        """After ``delay``, the central's controller declares its link to ``peripheral_address``
        lost (reason "connection timeout"), as at the end of a supervision timeout."""

        def expire() -> None:
            self._timers.discard(timer)
            connection = self.central_controller.le_connections.get(peripheral_address)
            if connection is not None:
                self.central_controller.on_le_disconnected(connection, CONNECTION_TIMEOUT)

        timer = asyncio.get_running_loop().call_later(delay, expire)
        self._timers.add(timer)

    def _spawn(self, awaitable: Any) -> None:
        task = asyncio.ensure_future(awaitable)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def __repr__(self) -> str:
        return f"<BumbleWorld {len(self.peripherals)} peripherals, mtu={self.mtu}>"
