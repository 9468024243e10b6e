"""One sensor's link: the task that keeps it connected and streaming into its queue.

close stale connections the system still holds to the sensor's device → discover the device
(:mod:`discovery`) → connect → read what the connection needs (:mod:`device_setup`: the coach v1
info, a Ganglion's firmware version, the battery) → subscribe to every data characteristic → write
the start commands → stream, writing the keep-alive command on its interval where the profile has
one. When
the link drops, or falls silent (:class:`SilentLinkWatchdog`: no notification for
``watchdog_intervals`` packet intervals, at least ``watchdog_min_silence_s``, counted only while the
host was listening), the task backs off
(:class:`Backoff`, full jitter, reset after ``stable_after_s`` of streaming), re-discovers the
device and connects again. Errors never leave the task: they become the sensor's
``status().state``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from typing import TYPE_CHECKING, Any

from bleak import BleakClient, BleakScanner
from bleak.backends.device import BLEDevice
from bleak.backends.scanner import AdvertisementData

from coach_tui.sources.ble.backoff import Backoff
from coach_tui.sources.ble.bluetooth_errors import bluetooth_unavailable
from coach_tui.sources.ble.device_setup import set_up, within
from coach_tui.sources.ble.discovery import NotFound, adapter_lock, how_found, target
from coach_tui.sources.ble.notification_queue import Connection, NotificationQueue
from coach_tui.sources.ble.profiles import profile
from coach_tui.sources.ble.timeline import Timeline
from coach_tui.sources.ble.watchdog import HELD_UP_S, LOOK_EVERY_S, SilentLinkWatchdog
from coach_tui.sources.block import SensorStatus

if TYPE_CHECKING:
    from coach_tui.sources.ble.ble_sensor import BleSensor
    from coach_tui.sources.ble.ble_source import BleSource

#: Each connect, loss and reconnect goes to the log file (coach_tui.store.log_file): a field report's trail.
log = logging.getLogger(__name__)

NOT_FOUND = "not found — is it on and in range?"
CLOSED_STALE = "closed a stale connection (the computer still held it from before)"
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
        self.battery_poll: asyncio.Task[None] | None = None  # of a level the system keeps
        self._found: tuple[str, str] = ("address", "")  # how the last matching advertisement matched, and its name

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
            log.warning("sensor %s: %s", self.sensor.sensor_id, self.status.state)
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
        setup = await set_up(client, self.profile, self.status, self.settings, self.source.system)
        self.battery_poll = setup.battery_poll
        self.profile = setup.profile  # a Ganglion's board may read as the other firmware's profile
        self.queue.mark_connection(Connection(setup.decoder, setup.rate_hz or _UNKNOWN_RATE_GUESS_HZ))
        self.status.state = "subscribing"
        for uuid in self.profile.data_uuids:
            await within(
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
        log.info("sensor %s: %s to %s (%s), streaming", self.sensor.sensor_id,
                 "reconnected" if self.has_streamed else "connected", self.status.address, self.profile.key)
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
        await self._stop_battery_poll()
        if not lost.is_set():  # silent: hang up ourselves before reconnecting
            await self.hang_up(send_stop=False)
        self.client = None
        return problem, streamed_s

    # -- discovery -------------------------------------------------------------------------------
    def _how_found(self, address: str, name: str | None, service_uuids) -> str | None:
        if self.source.taken_by_another(self, address.upper(), name):
            return None
        return how_found(self.sensor, self.profile, self.claimed, address, name, service_uuids)

    def _matches(self, device: BLEDevice, adv: AdvertisementData) -> bool:
        name = adv.local_name or device.name
        how = self._how_found(device.address, name, adv.service_uuids)
        if how is not None:
            self._found = (how, name or device.address)
        return how is not None

    async def _close_stale_connections(self) -> None:
        """Disconnect what the system still holds connected of this sensor's device (left over from
        a crash or a kill): such a device does not advertise, so no scan would find it."""
        system = self.source.system
        try:
            held = await within(self.settings.gatt_timeout_s, system.held_devices())
            stale = [d for d in held if self._how_found(d.address, d.name, d.service_uuids)]
            for device in stale:
                self.status.state = f"closing a stale connection to {device.address}"
                await within(self.settings.gatt_timeout_s, system.disconnect(device))
        except Exception:  # noqa: BLE001 - best effort: the scan says what it finds
            return
        if stale:
            self.status.tell(CLOSED_STALE)

    async def _find_and_connect(self, lost: asyncio.Event) -> None:
        """Close stale connections, then scan for the device in turns at the adapter
        (``scan_turn_s`` each, ``scan_timeout_s`` in all: ``NotFound`` after that) and connect it
        in the same turn."""
        await self._close_stale_connections()
        lock = adapter_lock(self.source.scanner_backend, self.sensor.adapter)
        scanned_s = 0.0
        while True:
            if lock.locked():
                self.status.state = f"waiting for the Bluetooth adapter ({self.sensor.adapter or 'default'})"
            async with lock:
                self.status.state = f"searching for {target(self.sensor, self.profile, self.claimed)}"
                turn_s = min(self.settings.scan_turn_s, self.settings.scan_timeout_s - scanned_s)
                device = await BleakScanner.find_device_by_filter(
                    self._matches, timeout=turn_s, backend=self.source.scanner_backend, bluez=self.bluez
                )
                if device is not None:
                    how, name = self._found
                    if how in ("name", "service"):
                        self.status.tell(f"found {name} by {'name' if how == 'name' else 'the service it advertises'}")
                    self.claimed = self.status.address = device.address.upper()
                    self.status.state = f"connecting to {device.address}"
                    self.client = BleakClient(
                        device,
                        disconnected_callback=lambda _client: lost.set(),
                        timeout=self.settings.connect_timeout_s,
                        bluez=self.bluez,
                        backend=self.source.client_backend,
                    )
                    await within(self.settings.connect_timeout_s, self.client.connect())
                    return
            scanned_s += turn_s
            if scanned_s >= self.settings.scan_timeout_s - 1e-9:
                raise NotFound

    def _on_notification(self, characteristic: Any, data: bytearray) -> None:
        self.queue.put_nowait((bytes(data), time.monotonic(), characteristic.uuid))

    async def _write_all(self, client: BleakClient, commands: tuple[bytes, ...]) -> None:
        for command in commands:
            await within(
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

    async def _watch(self, lost: asyncio.Event) -> str:
        """Wait until the link is lost or silent; say which. Silence counts from the last
        notification, or from the moment the host could listen again after it was held up."""
        settings = self.settings
        listening_since = -math.inf
        while True:
            queue = self.queue
            interval = queue.mean_interval_s() or settings.watchdog_min_silence_s / settings.watchdog_intervals
            watchdog = SilentLinkWatchdog(interval, settings.watchdog_intervals, settings.watchdog_min_silence_s)
            last = queue.last_arrival if queue.last_arrival is not None else queue.started_at
            now = time.monotonic()
            if watchdog.is_silent(max(last, listening_since), now):
                return f"no data for {now - last:.1f} s"
            look = min(LOOK_EVERY_S, watchdog.deadline(max(last, listening_since)) - now)
            try:
                async with asyncio.timeout(look):
                    await lost.wait()
                return "link lost"
            except TimeoutError:
                woke = time.monotonic()
                if woke - (now + look) >= HELD_UP_S:
                    listening_since = woke

    async def _stop_battery_poll(self) -> None:
        poll, self.battery_poll = self.battery_poll, None
        if poll is not None:
            poll.cancel()
            await asyncio.gather(poll, return_exceptions=True)

    async def hang_up(self, send_stop: bool) -> None:
        """Stop the device (when asked and it was started) and disconnect; errors are ignored.
        The client is forgotten only once done, so ``close()`` can finish an interrupted hang-up."""
        await self._stop_battery_poll()
        client = self.client
        if client is None:
            return
        if client.is_connected:
            if send_stop and self.started:
                with contextlib.suppress(Exception):  # disconnecting stops the device anyway
                    await self._write_all(client, self.profile.stop_commands)
            with contextlib.suppress(Exception):  # nothing more to do about a link that will not close
                await within(self.settings.gatt_timeout_s, client.disconnect())
        self.client = None
