"""One sensor's link: the task that keeps it connected and streaming into its queue.

discover the device (:mod:`discovery`) → connect → read the coach v1 info, which builds the decoder,
or the Ganglion's Software Revision, which must be a firmware its profile reads → read the battery
(and subscribe to it where it notifies) → subscribe to every data characteristic → write the start
commands → stream, writing the keep-alive command on its interval where the profile has one. When
the link drops, or falls silent (:class:`SilentLinkWatchdog`: no notification for
``watchdog_intervals`` packet intervals, at least ``watchdog_min_silence_s``), the task backs off
(:class:`Backoff`, full jitter, reset after ``stable_after_s`` of streaming), re-discovers the
device and connects again. Errors never leave the task: they become the sensor's
``status().state``.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable
from typing import TYPE_CHECKING, Any, TypeVar

from bleak import BleakClient, BleakScanner
from bleak.backends.device import BLEDevice
from bleak.backends.scanner import AdvertisementData
from bleak.exc import BleakError

from coach_tui.sources.ble.backoff import Backoff
from coach_tui.sources.ble.bluetooth_errors import bluetooth_unavailable
from coach_tui.sources.ble.decode_coach import parse_coach_info
from coach_tui.sources.ble.decoders import Decoder
from coach_tui.sources.ble.discovery import NotFound, adapter_lock
from coach_tui.sources.ble.notification_queue import Connection, NotificationQueue
from coach_tui.sources.ble.profiles import firmware_note, profile
from coach_tui.sources.ble.timeline import Timeline
from coach_tui.sources.ble.watchdog import SilentLinkWatchdog
from coach_tui.sources.block import SensorStatus

if TYPE_CHECKING:
    from coach_tui.sources.ble.ble_sensor import BleSensor
    from coach_tui.sources.ble.ble_source import BleSource

T = TypeVar("T")

NOT_FOUND = "not found — is it on and in range?"
#: Sizes the sample clock of a device that does not say its rate, until the rate is measured.
_UNKNOWN_RATE_GUESS_HZ = 100.0


class SensorLink:
    """Keeps one sensor connected and streaming into its queue; reports in its status."""

    def __init__(self, source: BleSource, sensor: BleSensor):
        self.source = source
        self.sensor = sensor
        self.profile = profile(sensor.profile)
        self.settings = source.settings
        self.status = SensorStatus(
            sensor_id=sensor.sensor_id,
            nominal_rate_hz=float(self.profile.nominal_rate_hz or 0.0),
            channels=self.profile.channels or 0,
            state="not started",
            address=sensor.address.upper() if sensor.address else None,
            profile=self.profile.key,
            notes=[self.profile.title],
        )
        self.queue = NotificationQueue(self.settings.queue_packets, source.wake)
        self.timeline = Timeline(sensor.sensor_id, self.profile, self.status)
        self.backoff = Backoff(self.settings.backoff_base_s, self.settings.backoff_cap_s, rng=source.rng)
        #: The address this sensor's device was found at (pinned for service-UUID discovery).
        self.claimed: str | None = self.status.address
        #: bleak's BlueZ arguments for scanner and client: the adapter, where one is configured.
        self.bluez: dict[str, str] = {"adapter": sensor.adapter} if sensor.adapter else {}
        self.client: BleakClient | None = None
        self.started = False  # start commands written on the current connection
        self.has_streamed = False

    # -- the task --------------------------------------------------------------------------------
    async def run(self) -> None:
        """Connect, stream, and reconnect after every loss, until cancelled."""
        while True:
            streamed_s = 0.0
            try:
                problem, streamed_s = await self._session()
            except NotFound:
                problem = NOT_FOUND
            except Exception as error:  # noqa: BLE001 - every failure becomes the status, then a retry
                problem = self._describe(error)
                await self.hang_up(send_stop=False)
            self.status.connected = False
            if streamed_s >= self.settings.stable_after_s:
                self.backoff.reset()
            delay = self.backoff.next_delay()
            verb = "reconnecting" if self.has_streamed else "retrying"
            self.status.state = f"{problem} ({verb} in {delay:.1f} s, attempt {self.backoff.attempt})"
            await asyncio.sleep(delay)

    def _describe(self, error: Exception) -> str:
        unavailable = bluetooth_unavailable(error)
        if unavailable is not None:
            return str(unavailable)
        step = self.status.state
        if isinstance(error, TimeoutError):
            return f"timed out ({step})"
        return f"failed ({step}): {str(error) or type(error).__name__}"

    async def _session(self) -> tuple[str, float]:
        """One connection: returns why it ended and how long it streamed."""
        lost = asyncio.Event()
        await self._find_and_connect(lost)
        client = self.client
        self.started = False
        decoder, rate_hz = await self._prepare(client)
        self.queue.mark_connection(Connection(decoder, rate_hz or _UNKNOWN_RATE_GUESS_HZ))
        self.status.state = "subscribing"
        for uuid in self.profile.data_uuids:
            await self._within(
                self.settings.gatt_timeout_s,
                client.start_notify(
                    uuid, self._on_notification, bluez={"use_start_notify": self.profile.use_start_notify}
                ),
            )
        self.status.state = "starting"
        await self._write_all(client, self.profile.start_commands)
        self.started = True
        self.queue.connection_started(time.monotonic())
        if self.has_streamed:
            self.status.reconnects += 1
        self.has_streamed = True
        self.status.connected = True
        self.status.state = "streaming"
        keepalive = asyncio.create_task(self._keep_alive(client)) if self.profile.keepalive_command else None
        try:
            problem = await self._watch(lost)
        finally:
            if keepalive is not None:
                keepalive.cancel()
                await asyncio.gather(keepalive, return_exceptions=True)
        streamed_s = time.monotonic() - self.queue.started_at
        self.status.connected = False
        if not lost.is_set():  # silent: hang up ourselves before reconnecting
            await self.hang_up(send_stop=False)
        self.client = None
        return problem, streamed_s

    # -- discovery -------------------------------------------------------------------------------
    def _target(self) -> str:
        if self.claimed:
            return self.claimed
        if self.sensor.name:
            return f"'{self.sensor.name}'"
        return f"a {self.profile.key} sensor (service {self.profile.service_uuid})"

    def _matches(self, device: BLEDevice, adv: AdvertisementData) -> bool:
        address = device.address.upper()
        name = adv.local_name or device.name
        if self.source.taken_by_another(self, address, name):
            return False
        if self.claimed:
            return address == self.claimed
        if self.sensor.name:
            return name == self.sensor.name
        return self.profile.service_uuid in {u.lower() for u in adv.service_uuids}

    async def _find_and_connect(self, lost: asyncio.Event) -> None:
        """Scan for the device in turns at the adapter (``scan_turn_s`` each, ``scan_timeout_s``
        in all: ``NotFound`` after that), then connect it in the same turn."""
        lock = adapter_lock(self.source.scanner_backend, self.sensor.adapter)
        scanned_s = 0.0
        while True:
            if lock.locked():
                self.status.state = f"waiting for the Bluetooth adapter ({self.sensor.adapter or 'default'})"
            async with lock:
                self.status.state = f"searching for {self._target()}"
                turn_s = min(self.settings.scan_turn_s, self.settings.scan_timeout_s - scanned_s)
                device = await BleakScanner.find_device_by_filter(
                    self._matches, timeout=turn_s, backend=self.source.scanner_backend, bluez=self.bluez
                )
                if device is not None:
                    self.claimed = self.status.address = device.address.upper()
                    self.status.state = f"connecting to {device.address}"
                    self.client = BleakClient(
                        device,
                        disconnected_callback=lambda _client: lost.set(),
                        timeout=self.settings.connect_timeout_s,
                        bluez=self.bluez,
                        backend=self.source.client_backend,
                    )
                    await self._within(self.settings.connect_timeout_s, self.client.connect())
                    return
            scanned_s += turn_s
            if scanned_s >= self.settings.scan_timeout_s - 1e-9:
                raise NotFound

    # -- setting up a connection -----------------------------------------------------------------
    async def _prepare(self, client: BleakClient) -> tuple[Decoder, float | None]:
        """Read the info (coach v1), the firmware version (Ganglion: ValueError saying which
        profile to configure when this one cannot read it) and the battery; the connection's
        decoder and nominal rate."""
        profile_ = self.profile
        info = None
        rate_hz = profile_.nominal_rate_hz
        if profile_.info_uuid is not None:
            self.status.state = "reading sensor info"
            info = bytes(await self._within(self.settings.gatt_timeout_s, client.read_gatt_char(profile_.info_uuid)))
            try:
                sensor_info = parse_coach_info(info)
            except ValueError as error:
                raise ValueError(f"{error} — update the sensor's firmware") from None
            rate_hz = sensor_info.sample_rate_hz
            self.status.notes = [
                profile_.title,
                (
                    f"{sensor_info.name or 'unnamed'}: {sensor_info.kind}, {sensor_info.channels} ch "
                    f"{sensor_info.sample_format} at {rate_hz:g} Hz"
                ),
            ]
        if profile_.revision_uuid is not None:
            self.status.state = "reading firmware version"
            revision = await self._read_revision(client, profile_.revision_uuid)
            if revision is not None:
                self.status.notes = [profile_.title, firmware_note(profile_, revision)]
        decoder = profile_.new_decoder(info)
        self.status.channels = decoder.channels
        self.status.nominal_rate_hz = float(rate_hz or 0.0)
        if profile_.battery_uuid is not None:
            self.status.state = "reading battery"
            await self._follow_battery(client, profile_.battery_uuid)
        return decoder, rate_hz

    async def _read_revision(self, client: BleakClient, uuid: str) -> str | None:
        """The Software Revision string, or None when the device has none or refuses the read."""
        characteristic = client.services.get_characteristic(uuid)
        if characteristic is None:
            return None
        try:
            data = await self._within(self.settings.gatt_timeout_s, client.read_gatt_char(characteristic))
        except BleakError:
            return None  # cannot tell; a dead link fails the next step
        return bytes(data).rstrip(b"\x00").decode("utf-8", "replace").strip() or None

    async def _follow_battery(self, client: BleakClient, uuid: str) -> None:
        characteristic = client.services.get_characteristic(uuid)
        if characteristic is None:
            return  # this device has no battery level: status stays None

        def on_battery(_characteristic: Any, data: bytearray) -> None:
            if data:
                self.status.battery_pct = float(data[0])

        try:
            on_battery(None, await self._within(self.settings.gatt_timeout_s, client.read_gatt_char(characteristic)))
            if "notify" in characteristic.properties:
                await self._within(self.settings.gatt_timeout_s, client.start_notify(characteristic, on_battery))
        except BleakError:
            pass  # a device that refuses battery reads still streams; a dead link fails the next step

    def _on_notification(self, characteristic: Any, data: bytearray) -> None:
        self.queue.put_nowait((bytes(data), time.monotonic(), characteristic.uuid))

    async def _write_all(self, client: BleakClient, commands: tuple[bytes, ...]) -> None:
        for command in commands:
            await self._within(
                self.settings.gatt_timeout_s,
                client.write_gatt_char(self.profile.control_uuid, command, response=self.profile.write_with_response),
            )

    async def _keep_alive(self, client: BleakClient) -> None:
        while True:
            await asyncio.sleep(self.profile.keepalive_interval_s)
            try:
                await self._write_all(client, (self.profile.keepalive_command,))
            except Exception:  # noqa: BLE001 - a failing link is noticed by the watchdog
                return

    # -- streaming -------------------------------------------------------------------------------
    async def _watch(self, lost: asyncio.Event) -> str:
        """Wait until the link is lost or silent; say which."""
        settings = self.settings
        while True:
            queue = self.queue
            interval = queue.mean_interval_s() or settings.watchdog_min_silence_s / settings.watchdog_intervals
            watchdog = SilentLinkWatchdog(interval, settings.watchdog_intervals, settings.watchdog_min_silence_s)
            last = queue.last_arrival if queue.last_arrival is not None else queue.started_at
            now = time.monotonic()
            if watchdog.is_silent(last, now):
                return f"no data for {now - last:.1f} s"
            try:
                async with asyncio.timeout(watchdog.deadline(last) - now):
                    await lost.wait()
                return "link lost"
            except TimeoutError:
                continue

    async def hang_up(self, send_stop: bool) -> None:
        """Stop the device (when asked and it was started) and disconnect; errors are ignored.
        The client is forgotten only once done, so ``close()`` can finish an interrupted hang-up."""
        client = self.client
        if client is None:
            return
        if client.is_connected:
            if send_stop and self.started:
                with contextlib.suppress(Exception):  # disconnecting stops the device anyway
                    await self._write_all(client, self.profile.stop_commands)
            with contextlib.suppress(Exception):  # nothing more to do about a link that will not close
                await self._within(self.settings.gatt_timeout_s, client.disconnect())
        self.client = None

    @staticmethod
    async def _within(seconds: float, awaitable: Awaitable[T]) -> T:
        async with asyncio.timeout(seconds):
            return await awaitable
