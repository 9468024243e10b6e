"""Bluetooth LE sensors as a :class:`~coach_tui.sources.source.Source`: bleak, one task per sensor.

Each sensor's task (:class:`~coach_tui.sources.ble.sensor_link.SensorLink`) finds, connects and
keeps its device streaming into a bounded queue (:mod:`notification_queue`); iterating the source
decodes whatever is queued, sensor by sensor, and yields one :class:`Block` per notification that
carried samples, with indices, gaps and host times from the sensor's :mod:`timeline`.

**Discovery**: by ``address`` (case-insensitive), else by advertised ``name`` (exact), else by the
profile's service UUID in the advertisement or, for devices that advertise a name only (the
Ganglion), by the profile's name prefixes — the first such device that no other sensor of this
source claimed or names. A found device is claimed by its address; a sensor found by service or
name prefix reconnects to that address only, so it never swaps devices with a neighbour of the
same kind. Before each search, connections the system still holds to the sensor's device are
closed (a held device does not advertise). What happened — found by name, a stale connection
closed, a board read as another firmware, a battery level nobody can read — is told in the
status's ``events``.

Status: ``nominal_rate_hz`` from the profile or the coach v1 info (0.0 while unknown: MyoWare sends
as fast as its loop runs — use ``measured_rate_hz``), ``channels`` from the profile or the info (0
until a coach v1 sensor first connected), ``packets_lost`` = missing samples ÷ samples per packet
(rounded up), ``malformed`` from the decoders, ``reconnects`` = streams started after the first.
"""

from __future__ import annotations

import asyncio
import dataclasses
import random
import logging
from collections.abc import AsyncIterator

from coach_tui.sources.ble.ble_sensor import BleSensor, BleSettings
from coach_tui.sources.ble.notification_queue import Connection
from coach_tui.sources.ble.sensor_link import NOT_FOUND, SensorLink
from coach_tui.sources.ble.system_bluetooth import NoSystemBluetooth, SystemBluetooth, system_bluetooth
from coach_tui.sources.block import Block, SensorStatus

log = logging.getLogger(__name__)

__all__ = ["NOT_FOUND", "BleSensor", "BleSettings", "BleSource"]


class BleSource:
    """Bluetooth LE sensors as a :class:`~coach_tui.sources.source.Source` (see the module docstring).

    ``scanner_backend`` / ``client_backend`` are bleak backend classes (``BleakScanner(backend=…)``,
    ``BleakClient(backend=…)``), None for the platform's; tests pass a bumble world's. ``rng``
    draws the backoff jitter. ``system`` is the computer's Bluetooth service (stale connections,
    battery levels it keeps: :mod:`system_bluetooth`); None: the platform's when bleak uses the
    platform's backends, else none. The sensors' tasks start on the first ``async for``.
    """

    def __init__(
        self,
        sensors: list[BleSensor],
        settings: BleSettings | None = None,
        *,
        scanner_backend: type | None = None,
        client_backend: type | None = None,
        rng: random.Random | None = None,
        system: SystemBluetooth | None = None,
    ):
        if not sensors:
            raise ValueError("BleSource needs at least one sensor")
        ids = [s.sensor_id for s in sensors]
        if len(set(ids)) != len(ids):
            raise ValueError(f"sensor ids must be unique, got {ids}")
        addresses = [s.address.upper() for s in sensors if s.address]
        if len(set(addresses)) != len(addresses):
            raise ValueError(f"two sensors have the same address: {addresses}")
        self.settings = settings or BleSettings()
        self.scanner_backend = scanner_backend
        self.client_backend = client_backend
        self.rng = rng if rng is not None else random.Random()
        if system is None:  # the platform's service holds the platform backends' connections only
            platform = scanner_backend is None and client_backend is None
            system = system_bluetooth() if platform else NoSystemBluetooth()
        self.system = system
        self._data_ready = asyncio.Event()
        self._links = [SensorLink(self, sensor) for sensor in sensors]
        self._tasks: list[asyncio.Task[None]] = []
        self._closing = False
        self._close_task: asyncio.Task[None] | None = None

    def wake(self) -> None:
        """Wake the iterator: a sensor queued something."""
        self._data_ready.set()

    def taken_by_another(self, link: SensorLink, address: str, name: str | None) -> bool:
        """Whether another sensor claimed this device, or (for a sensor found by service UUID)
        is configured with its name."""
        for other in self._links:
            if other is link:
                continue
            if other.claimed == address:
                return True
            if not (link.sensor.name or link.claimed) and name is not None and other.sensor.name == name:
                return True
        return False

    def __aiter__(self) -> AsyncIterator[Block]:
        """Blocks of all sensors as they arrive; ends when the source is closed."""
        return self._blocks()

    async def _blocks(self) -> AsyncIterator[Block]:
        if not self._tasks and not self._closing:
            for link in self._links:
                link.status.state = "starting"
                self._tasks.append(asyncio.create_task(link.run(), name=f"ble:{link.sensor.sensor_id}"))
        while not self._closing:
            took = False
            for link in self._links:
                # A batch: what is queued now. Items leave the queue one by one, so a consumer
                # that stops iterating mid-batch finds the rest there when it comes back.
                for _ in range(len(link.queue)):
                    took = True
                    item = link.queue.pop()
                    if isinstance(item, Connection):
                        link.timeline.begin(item)
                        continue
                    block = link.timeline.take(*item)
                    if block is not None:
                        yield block
                        if self._closing:
                            return
            if not took:
                self._data_ready.clear()
                await self._data_ready.wait()

    def status(self) -> list[SensorStatus]:
        """Snapshot of every sensor's status (copies), in the configured order."""
        return [
            dataclasses.replace(
                link.status, notes=list(link.status.notes), events=list(link.status.events), host_drops=link.queue.dropped
            )
            for link in self._links
        ]

    async def close(self) -> None:
        """Stop every sensor (stop commands where streaming), disconnect, end the iteration.

        Idempotent, and bounded by ``close_timeout_s`` per sensor."""
        if self._close_task is None:
            self._close_task = asyncio.ensure_future(self._shut_down())
        await asyncio.shield(self._close_task)

    async def _shut_down(self) -> None:
        self._closing = True
        self.wake()
        for task in self._tasks:
            task.cancel()
        if self._tasks:
            # a Bluetooth stack that swallows the cancellation must not hang the console's quit
            _, stuck = await asyncio.wait(self._tasks, timeout=self.settings.close_timeout_s)
            if stuck:
                log.warning("%d Bluetooth sensor task(s) did not stop within %.1f s of closing; left behind",
                            len(stuck), self.settings.close_timeout_s)

        async def stop(link: SensorLink) -> None:
            try:
                async with asyncio.timeout(self.settings.close_timeout_s):
                    await link.hang_up(send_stop=True)
            except TimeoutError:
                pass
            link.status.connected = False
            link.status.state = "closed"

        await asyncio.gather(*(stop(link) for link in self._links))
