"""bumble GATT peripherals for the in-process link: described as data, recording every write,
streaming notifications through the real GATT notify path.

A :class:`Peripheral` is one bumble ``Device`` with its own ``Controller`` on the world's
``LocalLink``. Nothing here is bleak-specific except that UUIDs are reported the way bleak spells
them (lower-case, 128-bit: :func:`bleak.uuids.normalize_uuid_str`).
"""

from __future__ import annotations

import asyncio
import inspect
import itertools
import logging
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from bleak.uuids import normalize_uuid_str
from bumble import att, data_types, hci
from bumble.controller import Controller
from bumble.core import UUID, AdvertisingData
from bumble.device import (
    AdvertisingEventProperties,
    AdvertisingParameters,
    AdvertisingSet,
    Connection,
    Device,
)
from bumble.gatt import Characteristic, Service
from bumble.host import Host
from bumble.transport.common import AsyncPipeSink

if TYPE_CHECKING:
    from .world import BumbleWorld

logger = logging.getLogger(__name__)

BATTERY_SERVICE_UUID = normalize_uuid_str("180f")
BATTERY_LEVEL_UUID = normalize_uuid_str("2a19")

_BASE_UUID_SUFFIX = "-0000-1000-8000-00805f9b34fb"

#: bleak's property names → bumble's property flags (the ones a peripheral description may use).
PROPERTY_FLAGS: dict[str, Characteristic.Properties] = {
    "broadcast": Characteristic.Properties.BROADCAST,
    "read": Characteristic.Properties.READ,
    "write-without-response": Characteristic.Properties.WRITE_WITHOUT_RESPONSE,
    "write": Characteristic.Properties.WRITE,
    "notify": Characteristic.Properties.NOTIFY,
    "indicate": Characteristic.Properties.INDICATE,
}

#: HCI reason codes a peripheral-side disconnect can give (bumble.hci constants).
REMOTE_USER_TERMINATED = hci.HCI_REMOTE_USER_TERMINATED_CONNECTION_ERROR
REMOTE_POWER_OFF = hci.HCI_REMOTE_DEVICE_TERMINATED_CONNECTION_DUE_TO_POWER_OFF_ERROR
CONNECTION_TIMEOUT = hci.HCI_CONNECTION_TIMEOUT_ERROR


def bleak_uuid(uuid: str | int | UUID) -> str:
    """Any UUID spelling (``"180f"``, ``0x180F``, 128-bit string, bumble ``UUID``) → bleak's form."""
    if isinstance(uuid, UUID):
        return normalize_uuid_str(uuid.to_hex_str("-"))
    if isinstance(uuid, int):
        return normalize_uuid_str(f"{uuid:04x}")
    return normalize_uuid_str(uuid)


def bumble_uuid(uuid: str | int | UUID) -> UUID:
    """Any UUID spelling → bumble ``UUID``, kept 16-bit when it is on the Bluetooth base UUID."""
    if isinstance(uuid, UUID):
        return uuid
    full = bleak_uuid(uuid)
    if full.startswith("0000") and full.endswith(_BASE_UUID_SUFFIX):
        return UUID(full[4:8])
    return UUID(full)


# ---------------------------------------------------------------------------------------------
# Descriptions
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class CharacteristicSpec:
    """One characteristic: its UUID, bleak property names and initial value.

    ``properties`` is a sequence of names from :data:`PROPERTY_FLAGS` or one comma-separated string
    (``"read,notify"``). The CCCD of a notify/indicate characteristic is added by bumble.
    """

    uuid: str | int
    properties: Sequence[str] | str = ("read",)
    value: bytes = b""

    def property_names(self) -> tuple[str, ...]:
        names = self.properties.split(",") if isinstance(self.properties, str) else self.properties
        names = tuple(n.strip() for n in names if n.strip())
        unknown = [n for n in names if n not in PROPERTY_FLAGS]
        if unknown:
            raise ValueError(f"unknown characteristic properties {unknown}, allowed: {list(PROPERTY_FLAGS)}")
        return names


@dataclass(frozen=True)
class ServiceSpec:
    """One primary service and its characteristics."""

    uuid: str | int
    characteristics: Sequence[CharacteristicSpec] = ()


@dataclass(frozen=True)
class PeripheralSpec:
    """What a peripheral advertises and serves.

    - ``name``: advertised Complete Local Name (also the GAP Device Name); ``None`` advertises none.
    - ``advertised_service_uuids``: ``None`` advertises the UUIDs of ``services`` (not the Battery
      Service); pass ``()`` to advertise no UUID.
    - ``battery_level``: adds the Battery Service 0x180F with Battery Level 0x2A19 (read, notify).
    - ``advertise``: ``False`` makes a peripheral that never advertises (never found, never
      connectable) until :meth:`Peripheral.start_advertising` is called.
    - ``address``: random static address (``"C0:…"``); ``None`` lets the world pick one.
    - ``advertising_interval_ms``: ``None`` takes the world's default.
    - ``max_mtu``: the largest ATT MTU the GATT server accepts (517 is bumble's and most stacks'
      maximum; 23 emulates a device that never raises it).
    """

    name: str | None
    services: Sequence[ServiceSpec] = ()
    advertised_service_uuids: Sequence[str | int] | None = None
    battery_level: int | None = None
    advertise: bool = True
    address: str | None = None
    manufacturer_data: Mapping[int, bytes] = field(default_factory=dict)
    advertising_interval_ms: float | None = None
    max_mtu: int = 517


@dataclass(frozen=True)
class Write:
    """One write received by a peripheral, in arrival order."""

    uuid: str  # bleak form
    data: bytes
    with_response: bool
    time: float  # loop.time() at arrival


WriteHook = Callable[[Write], Any]


# ---------------------------------------------------------------------------------------------
# Streaming
# ---------------------------------------------------------------------------------------------
class Stream:
    """A running notification stream: one packet per tick (``burst`` packets per tick when > 1)
    at ``rate_hz`` packets per second, on a fixed schedule: a tick that comes late (busy loop) is
    sent without waiting, so the average rate holds, as a sensor's buffer drains after a stall.

    Packet ``i`` goes to ``uuids[i % len(uuids)]``; indices in ``drop`` are skipped (lost on air)
    and still advance the rotation. Counters:

    - ``sent``: handed to the GATT server with a subscribed, connected central;
    - ``dropped``: skipped because in ``drop``;
    - ``unsent``: produced while nobody was subscribed or connected (lost, as on a real device);
    - ``index``: packets taken from ``packets`` so far (= sent + dropped + unsent).
    """

    def __init__(
        self,
        peripheral: Peripheral,
        uuids: Sequence[str],
        packets: Iterable[bytes],
        rate_hz: float,
        drop: Iterable[int],
        burst: int,
        stop_on_disconnect: bool,
    ) -> None:
        if rate_hz <= 0:
            raise ValueError("rate_hz must be > 0")
        if burst < 1:
            raise ValueError("burst must be >= 1")
        if not uuids:
            raise ValueError("at least one characteristic UUID is needed")
        self.peripheral = peripheral
        self.uuids = tuple(uuids)
        self.rate_hz = float(rate_hz)
        self.burst = int(burst)
        self.drop = frozenset(drop)
        self.stop_on_disconnect = stop_on_disconnect
        self.sent = 0
        self.dropped = 0
        self.unsent = 0
        self.index = 0
        self.started_at: float | None = None
        self.finished_at: float | None = None
        self._packets: Iterator[bytes] = iter(packets)
        self._task = asyncio.get_running_loop().create_task(self._run(), name=f"stream:{peripheral.name}")

    @property
    def running(self) -> bool:
        return not self._task.done()

    def stop(self) -> None:
        """Stop producing packets (what a sensor does on its stop command)."""
        self._task.cancel()

    async def wait(self, timeout: float | None = None) -> None:
        """Wait until the packets are exhausted or the stream is stopped (``TimeoutError``)."""
        async with asyncio.timeout(timeout):
            try:
                await asyncio.shield(self._task)
            except asyncio.CancelledError:
                if not self._task.cancelled():
                    raise  # we are the ones being cancelled

    async def _cancel_and_wait(self) -> None:
        self._task.cancel()
        try:
            await self._task
        except asyncio.CancelledError:
            pass

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        period = self.burst / self.rate_hz
        t0 = self.started_at = loop.time()
        try:
            for tick in itertools.count():
                delay = t0 + tick * period - loop.time()
                # Always yield, even when late, so deliveries interleave with production.
                await asyncio.sleep(max(delay, 0.0))
                for _ in range(self.burst):
                    try:
                        data = next(self._packets)
                    except StopIteration:
                        return
                    i = self.index
                    self.index += 1
                    if i in self.drop:
                        self.dropped += 1
                        continue
                    uuid = self.uuids[i % len(self.uuids)]
                    if await self.peripheral._notify_now(uuid, bytes(data)):
                        self.sent += 1
                    else:
                        self.unsent += 1
        finally:
            self.finished_at = loop.time()
            self.peripheral._poke()

    def __repr__(self) -> str:
        return (
            f"<Stream {self.peripheral.name} {self.rate_hz:g} Hz sent={self.sent} "
            f"dropped={self.dropped} unsent={self.unsent} running={self.running}>"
        )


# ---------------------------------------------------------------------------------------------
# Peripheral
# ---------------------------------------------------------------------------------------------
class Peripheral:
    """A bumble GATT peripheral on the world's link. Create with ``await world.add_peripheral(...)``."""

    def __init__(self, world: BumbleWorld, spec: PeripheralSpec, address: str, index: int) -> None:
        self.world = world
        self.spec = spec
        self.name = spec.name
        #: The address as bleak reports it (``BLEDevice.address``).
        self.address = address.upper()
        self.writes: list[Write] = []
        #: Exceptions raised by write hooks (logged; a test can assert this stays empty).
        self.hook_errors: list[BaseException] = []
        self.streams: list[Stream] = []
        self.connection: Connection | None = None
        self.connections_count = 0
        self.disconnections: list[int] = []  # HCI reasons, in order
        self.oversize_notifications = 0
        self._hooks: dict[object, tuple[str | None, WriteHook]] = {}
        self._characteristics: dict[str, Characteristic] = {}
        self._uuid_by_handle: dict[int, str] = {}
        self._prepared: dict[int, list[tuple[int, bytes]]] = {}
        self._waiters: list[asyncio.Future[None]] = []
        self._tasks: set[asyncio.Task[Any]] = set()
        self._want_advertising = spec.advertise
        self._advertising_set: AdvertisingSet | None = None
        self._closed = False

        self.controller = Controller(
            f"peripheral-{index}",
            link=world.link,
            public_address=f"00:B0:00:00:{index >> 8 & 0xFF:02X}:{index & 0xFF:02X}",
        )
        world._tune_controller(self.controller)
        self.device = Device(
            name=spec.name or "",
            address=hci.Address(self.address),
            host=Host(self.controller, AsyncPipeSink(self.controller)),
        )
        self.device.gatt_server.max_mtu = spec.max_mtu
        self._build_gatt()
        # Record writes as ATT PDUs arrive (the only place where write request and write command
        # can be told apart), then let bumble's server handle them as usual.
        server = self.device.gatt_server
        server.on_gatt_pdu = self._make_pdu_recorder(server.on_gatt_pdu)  # type: ignore[method-assign]
        server.on(server.EVENT_CHARACTERISTIC_SUBSCRIPTION, lambda *_: self._poke())
        self.device.on(self.device.EVENT_CONNECTION, self._on_connection)

    # -- construction ----------------------------------------------------------------------------
    def _build_gatt(self) -> None:
        services: list[Service] = []
        specs = list(self.spec.services)
        if self.spec.battery_level is not None:
            specs.append(
                ServiceSpec(
                    BATTERY_SERVICE_UUID,
                    [CharacteristicSpec(BATTERY_LEVEL_UUID, ("read", "notify"), bytes([self.spec.battery_level]))],
                )
            )
        for service_spec in specs:
            characteristics = []
            for char_spec in service_spec.characteristics:
                names = char_spec.property_names()
                flags = Characteristic.Properties(0)
                for n in names:
                    flags |= PROPERTY_FLAGS[n]
                permissions = Characteristic.Permissions(0)
                if flags & (Characteristic.Properties.READ | Characteristic.Properties.NOTIFY | Characteristic.Properties.INDICATE):
                    permissions |= Characteristic.Permissions.READABLE
                if flags & (Characteristic.Properties.WRITE | Characteristic.Properties.WRITE_WITHOUT_RESPONSE):
                    permissions |= Characteristic.Permissions.WRITEABLE
                uuid = bleak_uuid(char_spec.uuid)
                if uuid in self._characteristics:
                    raise ValueError(f"characteristic {uuid} is declared twice on {self.name!r}")
                characteristic: Characteristic[bytes] = Characteristic(
                    bumble_uuid(uuid), flags, permissions, bytes(char_spec.value)
                )
                self._characteristics[uuid] = characteristic
                characteristics.append(characteristic)
            services.append(Service(bumble_uuid(service_spec.uuid), characteristics))
        self.device.add_services(services)
        for uuid, characteristic in self._characteristics.items():
            self._uuid_by_handle[characteristic.handle] = uuid

    def _advertising_data(self) -> bytes:
        structures: list[Any] = [
            data_types.Flags(
                AdvertisingData.Flags.LE_GENERAL_DISCOVERABLE_MODE | AdvertisingData.Flags.BR_EDR_NOT_SUPPORTED
            )
        ]
        if self.spec.advertised_service_uuids is None:
            advertised = [s.uuid for s in self.spec.services]
        else:
            advertised = list(self.spec.advertised_service_uuids)
        uuids = [bumble_uuid(u) for u in advertised]
        short = [u for u in uuids if len(u.uuid_bytes) == 2]
        long = [u for u in uuids if len(u.uuid_bytes) == 16]
        if short:
            structures.append(data_types.CompleteListOf16BitServiceUUIDs(short))
        if long:
            structures.append(data_types.CompleteListOf128BitServiceUUIDs(long))
        if self.name:
            structures.append(data_types.CompleteLocalName(self.name))
        for company, payload in self.spec.manufacturer_data.items():
            structures.append(data_types.ManufacturerSpecificData(company, bytes(payload)))
        data = bytes(AdvertisingData(structures))
        if len(data) > 251:
            raise ValueError(f"advertising data of {self.name!r} is {len(data)} bytes, at most 251 fit")
        return data

    async def _start(self) -> None:
        await self.device.power_on()
        if self._want_advertising:
            await self._advertise()

    # -- state -------------------------------------------------------------------------------------
    @property
    def is_connected(self) -> bool:
        return self.connection is not None

    @property
    def advertising(self) -> bool:
        return self._advertising_set is not None and self._advertising_set.enabled

    @property
    def mtu(self) -> int:
        """ATT MTU of the current connection (23 when not connected)."""
        return self.connection.att_mtu if self.connection else att.ATT_DEFAULT_MTU

    @property
    def stream(self) -> Stream | None:
        """The most recently started stream."""
        return self.streams[-1] if self.streams else None

    @property
    def sent(self) -> int:
        """Notifications sent by all streams so far."""
        return sum(s.sent for s in self.streams)

    def characteristic(self, uuid: str | int) -> Characteristic:
        try:
            return self._characteristics[bleak_uuid(uuid)]
        except KeyError:
            raise KeyError(f"{self.name!r} has no characteristic {bleak_uuid(uuid)}") from None

    def value(self, uuid: str | int) -> bytes:
        """Current value of a characteristic (initial value, last write or :meth:`set_value`)."""
        return bytes(self.characteristic(uuid).value or b"")

    def set_value(self, uuid: str | int, data: bytes) -> None:
        """Change the value a read returns (does not notify; see :meth:`notify`)."""
        self.characteristic(uuid).value = bytes(data)

    def writes_to(self, uuid: str | int) -> list[bytes]:
        """Bytes written to one characteristic, in order."""
        key = bleak_uuid(uuid)
        return [w.data for w in self.writes if w.uuid == key]

    def is_subscribed(self, uuid: str | int) -> bool:
        """Whether the connected central enabled notifications on this characteristic."""
        if self.connection is None:
            return False
        characteristic = self.characteristic(uuid)
        cccd = self.device.gatt_server.subscribers.get(self.connection, {}).get(characteristic.handle)
        return bool(cccd and cccd[0] & 0x01)

    # -- hooks -----------------------------------------------------------------------------------
    def on_write(self, callback: WriteHook, uuid: str | int | None = None) -> Callable[[], None]:
        """Call ``callback(write)`` for each write (to ``uuid`` only, when given), on arrival.

        The callback may be a coroutine function (run as a task). Returns a function removing it.
        Typical use: ``p.on_write(lambda w: p.start_stream(...) if w.data == b"\\x01" else
        p.stop_stream(), CONTROL)``.
        """
        token = object()
        self._hooks[token] = (None if uuid is None else bleak_uuid(uuid), callback)
        return lambda: self._hooks.pop(token, None) and None

    def _make_pdu_recorder(self, original: Callable[[Any, att.ATT_PDU], None]) -> Callable[[Any, att.ATT_PDU], None]:
        def on_gatt_pdu(bearer: Any, pdu: att.ATT_PDU) -> None:
            op = pdu.op_code
            if op in (att.Opcode.ATT_WRITE_REQUEST, att.Opcode.ATT_WRITE_COMMAND):
                handle = pdu.attribute_handle  # type: ignore[attr-defined]
                if handle in self._uuid_by_handle:
                    self._record(handle, bytes(pdu.attribute_value), op == att.Opcode.ATT_WRITE_REQUEST)  # type: ignore[attr-defined]
            elif op == att.Opcode.ATT_PREPARE_WRITE_REQUEST:
                handle = pdu.attribute_handle  # type: ignore[attr-defined]
                if handle in self._uuid_by_handle:
                    self._prepared.setdefault(handle, []).append(
                        (pdu.value_offset, bytes(pdu.part_attribute_value))  # type: ignore[attr-defined]
                    )
            elif op == att.Opcode.ATT_EXECUTE_WRITE_REQUEST:
                prepared, self._prepared = self._prepared, {}
                if pdu.flags == 0x01:  # type: ignore[attr-defined]
                    for handle, parts in prepared.items():
                        data = bytearray()
                        for offset, part in sorted(parts, key=lambda p: p[0]):
                            data[offset : offset + len(part)] = part
                        self._record(handle, bytes(data), True)
            original(bearer, pdu)

        return on_gatt_pdu

    def _record(self, handle: int, data: bytes, with_response: bool) -> None:
        write = Write(self._uuid_by_handle[handle], data, with_response, asyncio.get_running_loop().time())
        self.writes.append(write)
        for uuid, hook in list(self._hooks.values()):
            if uuid is not None and uuid != write.uuid:
                continue
            try:
                result = hook(write)
                if inspect.isawaitable(result):
                    self._spawn(result)
            except Exception as error:  # never break the GATT server with a test hook
                logger.exception("write hook of %r raised", self.name)
                self.hook_errors.append(error)
        self._poke()

    # -- waiting ---------------------------------------------------------------------------------
    def _poke(self) -> None:
        waiters, self._waiters = self._waiters, []
        for waiter in waiters:
            if not waiter.done():
                waiter.set_result(None)

    async def wait_for(self, predicate: Callable[[], bool], timeout: float = 2.0) -> None:
        """Wait until ``predicate()`` holds; it is re-checked on every connection, subscription,
        write and stream change of this peripheral. Raises ``TimeoutError``."""
        async with asyncio.timeout(timeout):
            while not predicate():
                waiter = asyncio.get_running_loop().create_future()
                self._waiters.append(waiter)
                await waiter

    async def wait_connected(self, timeout: float = 2.0) -> None:
        await self.wait_for(lambda: self.is_connected, timeout)

    async def wait_disconnected(self, timeout: float = 2.0) -> None:
        await self.wait_for(lambda: not self.is_connected, timeout)

    async def wait_subscribed(self, uuid: str | int, timeout: float = 2.0) -> None:
        await self.wait_for(lambda: self.is_subscribed(uuid), timeout)

    async def wait_for_writes(self, count: int, uuid: str | int | None = None, timeout: float = 2.0) -> list[Write]:
        """Wait until at least ``count`` writes (to ``uuid`` when given) arrived; return them."""
        key = None if uuid is None else bleak_uuid(uuid)

        def matching() -> list[Write]:
            return [w for w in self.writes if key is None or w.uuid == key]

        await self.wait_for(lambda: len(matching()) >= count, timeout)
        return matching()

    # -- notifications ---------------------------------------------------------------------------
    async def _notify_now(self, uuid: str, data: bytes) -> bool:
        connection = self.connection
        if connection is None or not self.is_subscribed(uuid):
            return False
        if len(data) > connection.att_mtu - 3:
            # bumble truncates to MTU - 3 like a real stack; make it visible to the test.
            self.oversize_notifications += 1
            logger.warning(
                "%r: %d-byte notification exceeds ATT MTU %d - 3, truncated", self.name, len(data), connection.att_mtu
            )
        await self.device.notify_subscriber(connection, self.characteristic(uuid), data)
        return True

    async def notify(self, uuid: str | int, data: bytes) -> bool:
        """Send one notification now; ``False`` when nobody is connected and subscribed."""
        return await self._notify_now(bleak_uuid(uuid), bytes(data))

    def start_stream(
        self,
        uuid: str | int | Sequence[str | int],
        packets: Iterable[bytes],
        rate_hz: float,
        drop: Iterable[int] = (),
        burst: int = 1,
        stop_on_disconnect: bool = True,
    ) -> Stream:
        """Start streaming ``packets`` as notifications (see :class:`Stream`); returns the stream.

        ``uuid`` may be a list to rotate over several characteristics (e.g. Myo's four EMG
        characteristics). A stream already running is stopped first. With ``stop_on_disconnect``
        (the default, like real firmware) a disconnection ends the stream.
        """
        uuids = [bleak_uuid(u) for u in ([uuid] if isinstance(uuid, (str, int)) else uuid)]
        for u in uuids:
            self.characteristic(u)  # fail early on an unknown UUID
        self.stop_stream()
        stream = Stream(self, uuids, packets, rate_hz, drop, burst, stop_on_disconnect)
        self.streams.append(stream)
        self._poke()
        return stream

    def stop_stream(self) -> None:
        """Stop the running stream, if any (the link stays up: a "silent" sensor)."""
        for stream in self.streams:
            if stream.running:
                stream.stop()

    # -- connection and advertising --------------------------------------------------------------
    def _on_connection(self, connection: Connection) -> None:
        if connection.role != hci.Role.PERIPHERAL:
            return
        self.connection = connection
        self.connections_count += 1
        connection.on(connection.EVENT_DISCONNECTION, lambda reason: self._on_disconnection(connection, reason))
        self._poke()

    def _on_disconnection(self, connection: Connection, reason: int) -> None:
        if self.connection is connection:
            self.connection = None
        self.disconnections.append(reason)
        self._prepared.clear()
        for stream in self.streams:
            if stream.running and stream.stop_on_disconnect:
                stream.stop()
        if self._want_advertising and not self._closed:
            # Real sensors advertise again as soon as the central is gone.
            self._spawn(self._advertise())
        self._poke()

    async def _advertise(self) -> None:
        if self._closed or self.connection is not None:
            return
        if self._advertising_set is None:
            interval = self.spec.advertising_interval_ms or self.world.advertising_interval_ms
            self._advertising_set = await self.device.create_advertising_set(
                advertising_parameters=AdvertisingParameters(
                    advertising_event_properties=AdvertisingEventProperties(
                        is_connectable=True, is_scannable=False, is_legacy=False
                    ),
                    primary_advertising_interval_min=interval,
                    primary_advertising_interval_max=interval,
                ),
                advertising_data=self._advertising_data(),
                auto_start=True,
                auto_restart=False,
            )
        elif not self._advertising_set.enabled:
            await self._advertising_set.start()

    async def start_advertising(self) -> None:
        """Advertise (connectable) now and again after every disconnection."""
        self._want_advertising = True
        await self._advertise()

    async def stop_advertising(self) -> None:
        """Stop advertising, and stay silent after the next disconnection too."""
        self._want_advertising = False
        if self._advertising_set is not None and self._advertising_set.enabled:
            await self._advertising_set.stop()

    async def disconnect(self, reason: int = REMOTE_USER_TERMINATED) -> None:
        """Disconnect from the peripheral side (the central receives LL_TERMINATE_IND with
        ``reason`` and bleak calls its ``disconnected_callback``). No-op when not connected."""
        connection = self.connection
        if connection is None:
            return
        try:
            await connection.disconnect(reason)
        except hci.HCI_Error:
            if self.connection is connection:
                raise

    async def drop_link(self, supervision_timeout: float = 0.5) -> None:
        """Lose the radio link without a goodbye: the peripheral sees the disconnection at once
        (streams stop, it advertises again), the central keeps believing it is connected and
        only learns after ``supervision_timeout`` seconds (reason "connection timeout"), as when a
        sensor's battery dies or it walks out of range. Returns at once."""
        connection = self.connection
        if connection is None:
            return
        own = self.controller.le_connections.get(connection.peer_address)
        if own is None:
            return
        # Our controller forgets the link and tells our host; no LL_TERMINATE_IND goes out.
        self.controller.on_le_disconnected(own, CONNECTION_TIMEOUT)
        self.world._schedule_supervision_timeout(own.self_address, supervision_timeout)

    def _spawn(self, awaitable: Any) -> None:
        task = asyncio.ensure_future(awaitable)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)

    def _task_done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            logger.error("background task of %r failed", self.name, exc_info=task.exception())
            self.hook_errors.append(task.exception())  # type: ignore[arg-type]

    async def _close(self) -> None:
        self._closed = True
        self._want_advertising = False
        for stream in self.streams:
            await stream._cancel_and_wait()
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._advertising_set is not None and self._advertising_set.enabled:
            await self._advertising_set.stop()
        self._poke()

    def __repr__(self) -> str:
        state = "connected" if self.is_connected else ("advertising" if self.advertising else "idle")
        return f"<Peripheral {self.name!r} {self.address} {state}>"
