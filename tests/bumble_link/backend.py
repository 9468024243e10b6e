"""bleak backends (scanner and client) driving the bumble central of a :class:`BumbleWorld`.

Do not use these base classes directly: ``world.scanner_backend`` / ``world.client_backend`` are
subclasses with the ``world`` class attribute set, and bleak instantiates them itself::

    BleakScanner(backend=world.scanner_backend)
    BleakClient(device, disconnected_callback=..., backend=world.client_backend)

Behaviour follows bleak's BlueZ backend where backends differ: ``connect`` resolves a plain
address by scanning, raises ``BleakError`` when already connected, ``BleakDeviceNotFoundError``
when the address is never seen and ``TimeoutError`` after ``timeout``; the disconnected callback
fires on every disconnection, including one asked for with ``disconnect()``; ATT errors become
``BleakGATTProtocolError``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from bleak import BleakScanner
from bleak.args import SizedBuffer
from bleak.assigned_numbers import CHARACTERISTIC_PROPERTIES
from bleak.backends.characteristic import BleakGATTCharacteristic
from bleak.backends.client import BaseBleakClient, NotifyCallback
from bleak.backends.descriptor import BleakGATTDescriptor
from bleak.backends.device import BLEDevice
from bleak.backends.scanner import (
    AdvertisementData,
    AdvertisementDataCallback,
    BaseBleakScanner,
)
from bleak.backends.service import BleakGATTService, BleakGATTServiceCollection
from bleak.exc import BleakDeviceNotFoundError, BleakError, BleakGATTProtocolError
from bumble import att, hci
from bumble.core import AdvertisingData, BaseBumbleError
from bumble.device import Advertisement, Connection
from bumble.gatt import (
    GATT_CLIENT_CHARACTERISTIC_CONFIGURATION_DESCRIPTOR,
    Characteristic,
)

from .peripherals import bleak_uuid, bumble_uuid

if TYPE_CHECKING:
    from bumble.gatt_client import CharacteristicProxy, Client

    from .world import BumbleWorld

logger = logging.getLogger(__name__)

_UUID_LIST_TYPES = (
    AdvertisingData.COMPLETE_LIST_OF_16_BIT_SERVICE_CLASS_UUIDS,
    AdvertisingData.INCOMPLETE_LIST_OF_16_BIT_SERVICE_CLASS_UUIDS,
    AdvertisingData.COMPLETE_LIST_OF_32_BIT_SERVICE_CLASS_UUIDS,
    AdvertisingData.INCOMPLETE_LIST_OF_32_BIT_SERVICE_CLASS_UUIDS,
    AdvertisingData.COMPLETE_LIST_OF_128_BIT_SERVICE_CLASS_UUIDS,
    AdvertisingData.INCOMPLETE_LIST_OF_128_BIT_SERVICE_CLASS_UUIDS,
)
_SERVICE_DATA_TYPES = (
    AdvertisingData.SERVICE_DATA_16_BIT_UUID,
    AdvertisingData.SERVICE_DATA_32_BIT_UUID,
    AdvertisingData.SERVICE_DATA_128_BIT_UUID,
)


@dataclass(frozen=True)
class BumbleDeviceDetails:
    """``BLEDevice.details`` of devices found by the bumble scanner backend."""

    address: hci.Address
    advertisement: Advertisement


def advertisement_data(advertisement: Advertisement) -> AdvertisementData:
    """bumble ``Advertisement`` → bleak ``AdvertisementData``."""
    data = advertisement.data
    local_name = data.get(AdvertisingData.COMPLETE_LOCAL_NAME) or data.get(AdvertisingData.SHORTENED_LOCAL_NAME)
    service_uuids: list[str] = []
    for ad_type in _UUID_LIST_TYPES:
        for uuids in data.get_all(ad_type):
            for uuid in uuids:  # type: ignore[union-attr]
                u = bleak_uuid(uuid)
                if u not in service_uuids:
                    service_uuids.append(u)
    manufacturer_data = {company: bytes(payload) for company, payload in data.get_all(AdvertisingData.MANUFACTURER_SPECIFIC_DATA)}  # type: ignore[misc]
    service_data = {}
    for ad_type in _SERVICE_DATA_TYPES:
        for uuid, payload in data.get_all(ad_type):  # type: ignore[misc]
            service_data[bleak_uuid(uuid)] = bytes(payload)
    tx_power = data.get(AdvertisingData.TX_POWER_LEVEL)
    if isinstance(tx_power, int) and tx_power > 127:
        tx_power -= 256
    return AdvertisementData(
        local_name=local_name if isinstance(local_name, str) else None,
        manufacturer_data=manufacturer_data,
        service_data=service_data,
        service_uuids=service_uuids,
        tx_power=tx_power if isinstance(tx_power, int) else None,
        rssi=advertisement.rssi,
        platform_data=(advertisement,),
    )


# ---------------------------------------------------------------------------------------------
# Scanner
# ---------------------------------------------------------------------------------------------
class BumbleScannerBackend(BaseBleakScanner):
    """bleak scanner backend: the world's central scans while any such scanner is started."""

    world: ClassVar[BumbleWorld]

    def __init__(
        self,
        detection_callback: AdvertisementDataCallback | None,
        service_uuids: list[str] | None,
        scanning_mode: Literal["active", "passive"] = "active",
        **kwargs: Any,  # bluez=, cb=, … are accepted and ignored
    ) -> None:
        if not hasattr(type(self), "world"):
            raise TypeError("use world.scanner_backend, not BumbleScannerBackend itself")
        super().__init__(detection_callback, service_uuids)
        if self._service_uuids is not None:
            self._service_uuids = [bleak_uuid(u) for u in self._service_uuids]
        self._active = scanning_mode != "passive"

    async def start(self) -> None:
        self.seen_devices = {}
        await self.world._add_scanner(self, self._active)

    async def stop(self) -> None:
        await self.world._remove_scanner(self)

    def _on_advertisement(self, advertisement: Advertisement) -> None:
        adv = advertisement_data(advertisement)
        if not self.is_allowed_uuid(adv.service_uuids):
            return
        address = advertisement.address.to_string(with_type_qualifier=False)
        device = self.create_or_update_device(
            address, address, adv.local_name, BumbleDeviceDetails(advertisement.address, advertisement), adv
        )
        try:
            self.call_detection_callbacks(device, adv)
        except Exception as error:  # noqa: BLE001 - reported, must not break the bumble stack
            self.world._report_callback_error("detection callback", error)


# ---------------------------------------------------------------------------------------------
# Client
# ---------------------------------------------------------------------------------------------
def _property_names(properties: int) -> list[Any]:
    return [name for bit, name in CHARACTERISTIC_PROPERTIES.items() if properties & bit]


class BumbleClientBackend(BaseBleakClient):
    """bleak client backend: a real LE connection, MTU exchange, GATT discovery, reads, writes
    and notifications through the world's bumble central."""

    world: ClassVar[BumbleWorld]

    def __init__(
        self,
        address_or_ble_device: BLEDevice | str,
        *,
        disconnected_callback: Callable[[], None] | None = None,
        services: set[str] | None = None,
        timeout: float = 10.0,
        **kwargs: Any,  # bluez=, winrt=, … are accepted and ignored
    ) -> None:
        if not hasattr(type(self), "world"):
            raise TypeError("use world.client_backend, not BumbleClientBackend itself")
        super().__init__(address_or_ble_device, disconnected_callback=disconnected_callback, timeout=timeout)
        self._device = address_or_ble_device if isinstance(address_or_ble_device, BLEDevice) else None
        self._service_filter = None if services is None else {bleak_uuid(u) for u in services}
        self._connection: Connection | None = None
        self._subscribers: dict[int, Callable[[bytes], None]] = {}

    # -- properties ------------------------------------------------------------------------------
    @property
    def name(self) -> str:
        if self._device is not None and self._device.name:
            return self._device.name
        return self.address.replace(":", "-")

    @property
    def mtu_size(self) -> int:
        return self._connection.att_mtu if self._connection is not None else att.ATT_DEFAULT_MTU

    @property
    def is_connected(self) -> bool:
        return self._connection is not None

    def _client(self) -> Client:
        if self._connection is None:
            raise BleakError("Not connected")
        return self._connection.gatt_client

    # -- connection ------------------------------------------------------------------------------
    async def connect(self, pair: bool, **kwargs: Any) -> None:
        if self.is_connected:
            raise BleakError("Client is already connected")
        timeout = kwargs.get("timeout", self._timeout)
        world = self.world
        if self._device is None or not isinstance(self._device.details, BumbleDeviceDetails):
            # As on BlueZ: find the device first (this scan has its own timeout), then connect.
            device = await BleakScanner.find_device_by_address(self.address, timeout=timeout, backend=world.scanner_backend)
            if device is None:
                raise BleakDeviceNotFoundError(self.address, f"Device with address {self.address} was not found.")
            self._device = device
        details: BumbleDeviceDetails = self._device.details
        async with asyncio.timeout(timeout):
            connection = await world._connect(details.address)
            self._connection = connection
            world._clients.add(self)
            connection.on(connection.EVENT_DISCONNECTION, lambda reason: self._on_disconnection(connection, reason))
            try:
                await self._gatt(connection.gatt_client.request_mtu(world.mtu))
                self.services = await self._discover(connection)
                if pair:
                    await self.pair()
            except BaseException:
                # Leave nothing half-connected; a failed connect fires no disconnected callback.
                callback, self._disconnected_callback = self._disconnected_callback, None
                try:
                    await asyncio.shield(self._hang_up(connection))
                finally:
                    self._disconnected_callback = callback
                raise

    async def _discover(self, connection: Connection) -> BleakGATTServiceCollection:
        client = connection.gatt_client
        uuids = () if self._service_filter is None else [bumble_uuid(u) for u in self._service_filter]
        proxies = await self._gatt(client.discover_services(uuids))
        collection = BleakGATTServiceCollection()
        for proxy in proxies:
            service = BleakGATTService(proxy, proxy.handle, bleak_uuid(proxy.uuid))
            collection.add_service(service)
            for char_proxy in await self._gatt(client.discover_characteristics(uuids=(), service=proxy)):
                characteristic = BleakGATTCharacteristic(
                    char_proxy,
                    char_proxy.handle,
                    bleak_uuid(char_proxy.uuid),
                    _property_names(char_proxy.properties),
                    lambda: self.mtu_size - 3,
                    service,
                )
                collection.add_characteristic(characteristic)
                for desc_proxy in await self._gatt(client.discover_descriptors(char_proxy)):
                    collection.add_descriptor(
                        BleakGATTDescriptor(desc_proxy, desc_proxy.handle, bleak_uuid(desc_proxy.type), characteristic)
                    )
        return collection

    async def disconnect(self) -> None:
        connection = self._connection
        if connection is None:
            return
        await self._hang_up(connection)

    async def _hang_up(self, connection: Connection) -> None:
        try:
            await connection.disconnect()
        except hci.HCI_Error:
            pass  # already gone
        if self._connection is connection:  # the event did not come (should not happen)
            self._on_disconnection(connection, hci.HCI_CONNECTION_TERMINATED_BY_LOCAL_HOST_ERROR)

    def _on_disconnection(self, connection: Connection, reason: int) -> None:
        if self._connection is not connection:
            return
        logger.debug("%s disconnected, reason 0x%02X", self.address, reason)
        self._connection = None
        self._subscribers.clear()
        self.services = None
        self.world._clients.discard(self)
        if self._disconnected_callback is not None:
            try:
                self._disconnected_callback()
            except Exception as error:  # noqa: BLE001 - reported, must not break the bumble stack
                self.world._report_callback_error("disconnected callback", error)

    async def _close(self) -> None:
        """World shutdown: disconnect like the adapter powering off."""
        if self._connection is not None:
            await self._hang_up(self._connection)

    async def pair(self, *args: Any, **kwargs: Any) -> None:
        if self._connection is None:
            raise BleakError("Not connected")
        await self._gatt(self._connection.pair())

    async def unpair(self) -> None:
        raise NotImplementedError("unpair is not supported by the bumble test backend")

    # -- GATT ------------------------------------------------------------------------------------
    async def _gatt(self, awaitable: Any) -> Any:
        """Await a bumble GATT operation: ATT errors → ``BleakGATTProtocolError``, other bumble
        errors and the cancellation bumble uses to abort a request on disconnection →
        ``BleakError``."""
        try:
            return await awaitable
        except att.ATT_Error as error:
            raise BleakGATTProtocolError(error.error_code) from error
        except BaseBumbleError as error:  # GATT timeout, invalid state, HCI error, …
            raise BleakError(str(error) or type(error).__name__) from error
        except asyncio.CancelledError:
            task = asyncio.current_task()
            if task is not None and task.cancelling() == 0:
                raise BleakError("Disconnected during a GATT operation") from None
            raise

    async def read_gatt_char(
        self, characteristic: BleakGATTCharacteristic, *, use_cached: bool = False, **kwargs: Any
    ) -> bytearray:
        client = self._client()
        if use_cached and characteristic.handle in client.cached_values:
            return bytearray(client.cached_values[characteristic.handle][1])
        return bytearray(await self._gatt(client.read_value(characteristic.obj)))

    async def read_gatt_descriptor(
        self, descriptor: BleakGATTDescriptor, *, use_cached: bool = False, **kwargs: Any
    ) -> bytearray:
        client = self._client()
        if use_cached and descriptor.handle in client.cached_values:
            return bytearray(client.cached_values[descriptor.handle][1])
        return bytearray(await self._gatt(client.read_value(descriptor.obj)))

    async def write_gatt_char(self, characteristic: BleakGATTCharacteristic, data: SizedBuffer, response: bool) -> None:
        client = self._client()
        payload = bytes(data)
        if not response and len(payload) > self.mtu_size - 3:
            raise BleakError(
                f"{len(payload)} bytes do not fit a write without response (max {self.mtu_size - 3} at MTU {self.mtu_size})"
            )
        await self._gatt(client.write_value(characteristic.obj, payload, with_response=response))

    async def write_gatt_descriptor(self, descriptor: BleakGATTDescriptor, data: SizedBuffer) -> None:
        await self._gatt(self._client().write_value(descriptor.obj, bytes(data), with_response=True))

    async def start_notify(self, characteristic: BleakGATTCharacteristic, callback: NotifyCallback, **kwargs: Any) -> None:
        client = self._client()
        proxy: CharacteristicProxy = characteristic.obj
        if not proxy.properties & (Characteristic.Properties.NOTIFY | Characteristic.Properties.INDICATE):
            raise BleakError(f"Characteristic {characteristic.uuid} does not support notify or indicate")
        if characteristic.handle in self._subscribers:
            raise BleakError(f"Notifications already started on {characteristic.uuid}")
        if proxy.get_descriptor(GATT_CLIENT_CHARACTERISTIC_CONFIGURATION_DESCRIPTOR) is None:
            raise BleakError(f"Characteristic {characteristic.uuid} has no CCCD")
        world = self.world

        def subscriber(value: bytes) -> None:
            try:
                callback(bytearray(value))
            except Exception as error:  # noqa: BLE001 - a test callback must not break the bumble stack
                world._report_callback_error(f"notification callback of {characteristic.uuid}", error)

        self._subscribers[characteristic.handle] = subscriber
        try:
            await self._gatt(client.subscribe(proxy, subscriber, prefer_notify=True))
        except BaseException:
            self._subscribers.pop(characteristic.handle, None)
            raise

    async def stop_notify(self, characteristic: BleakGATTCharacteristic) -> None:
        client = self._client()
        subscriber = self._subscribers.pop(characteristic.handle, None)
        if subscriber is None:
            return
        await self._gatt(client.unsubscribe(characteristic.obj, subscriber))
