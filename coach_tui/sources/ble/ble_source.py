"""Bluetooth LE sensors as a :class:`~coach_tui.sources.source.Source`: bleak, one task per sensor.

**Link** (one asyncio task per sensor, on the running loop): discover the device → connect (scans
and connects are serialised per adapter — the sensor's ``adapter``, else the system's default — by
one shared lock; a scan holds it for ``scan_turn_s`` at a time, so a sensor that is not found
delays the others' connects by one turn at most) → read the coach v1 info, which builds the
decoder, or the Ganglion's Software Revision, which must be a firmware its profile reads → read
the battery (and subscribe to it where it notifies) → subscribe to every data characteristic →
write the start commands → stream, writing the keep-alive command on its interval where the
profile has one. When the link drops, or falls silent (:class:`SilentLinkWatchdog`: no
notification for ``watchdog_intervals`` packet intervals, at least ``watchdog_min_silence_s``), the
task backs off (:class:`Backoff`, full jitter, reset after ``stable_after_s`` of streaming),
re-discovers the device and connects again. Errors never leave the task: they become the sensor's
``status().state``.

**Discovery**: by ``address`` (case-insensitive), else by advertised ``name`` (exact), else by the
profile's service UUID in the advertisement — the first such device that no other sensor of this
source claimed or names. A found device is claimed by its address; a sensor found by service UUID
reconnects to that address only, so it never swaps devices with a neighbour of the same kind.

**Data path**: the notification callback only appends ``(bytes, arrival time, characteristic
UUID)`` to the sensor's bounded queue (``queue_packets``; when full the notification is dropped
and counted in ``status().host_drops``). Iterating the source decodes whatever is queued, sensor by
sensor, and yields one :class:`Block` per notification that carried samples.

**Indices, gaps, times** (per sensor):

- Within one connection ``first_index`` comes from the decoder where the protocol has a counter
  (coach v1 sample index, Ganglion packet ids) and ``gap_before`` is exact (Ganglion firmware 2:
  lost plus muted samples, ``resync`` on the raw packet that ends the muting). Decoders get each
  notification's ``elapsed_s`` since the previous one of the connection (host-dropped ones count
  in the time): Ganglion decoders count whole lost id cycles from it, coach v1 refuses an index
  that jumps further than it explains. Without a counter (Myo, MyoWare)
  :meth:`SampleClock.observe_uncounted` numbers the samples and estimates a stall's loss from
  arrival times.
- Across a reconnect the stream goes on: the first block of the new connection has
  ``resync=True`` and ``gap_before`` = the samples missed while away. coach v1: exact when the
  device's counter continued (the new index is ahead of the last one, modulo 2**32, by no more
  than the time away explains), otherwise — a counter restarted at start, Ganglion ids,
  counter-less protocols — estimated as elapsed time × rate (measured, else nominal) between the
  last sample before and the first sample after, so it errs by the link latency and by what the
  device buffered.
- ``t_host`` is the host time of the first sample, from the sensor's :class:`SampleClock` (a fit
  of sample index against arrival times, new epoch per connection).

Status: ``nominal_rate_hz`` from the profile or the coach v1 info (0.0 while unknown: MyoWare sends
as fast as its loop runs — use ``measured_rate_hz``), ``channels`` from the profile or the info (0
until a coach v1 sensor first connected), ``packets_lost`` = missing samples ÷ samples per packet
(rounded up), ``malformed`` from the decoders, ``reconnects`` = streams started after the first.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import math
import random
import time
import weakref
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from bleak import BleakClient, BleakScanner
from bleak.backends.device import BLEDevice
from bleak.backends.scanner import AdvertisementData
from bleak.exc import BleakError

from coach_tui.sources.ble.backoff import Backoff
from coach_tui.sources.ble.bluetooth_errors import bluetooth_unavailable
from coach_tui.sources.ble.decode_coach import parse_coach_info
from coach_tui.sources.ble.decoders import DecodedPacket, Decoder, most_samples_in
from coach_tui.sources.ble.profiles import Profile, firmware_note, profile
from coach_tui.sources.ble.sample_clock import SampleClock
from coach_tui.sources.ble.watchdog import SilentLinkWatchdog
from coach_tui.sources.block import Block, SensorStatus

#: Each connect, loss and reconnect goes to the log file (coach_tui.log_file): a field report's trail.
log = logging.getLogger(__name__)

T = TypeVar("T")

NOT_FOUND = "not found — is it on and in range?"
#: Sizes the sample clock of a device that does not say its rate, until the rate is measured.
_UNKNOWN_RATE_GUESS_HZ = 100.0
_INDEX_WRAP = 2**32


@dataclass(frozen=True, slots=True)
class BleSensor:
    """One configured Bluetooth sensor.

    ``profile`` is a key of ``PROFILES``. ``address`` (a UUID on macOS) or ``name`` (the advertised
    name, exact) pick the device; with neither, the first device advertising the profile's service
    UUID that no other sensor of the source claimed is used (fine for one sensor of a kind).
    ``adapter`` is the Bluetooth adapter that finds and connects it (BlueZ's "hci1"; None: the
    system's default), passed to bleak as ``bluez={"adapter": …}`` (ignored off Linux).
    """

    sensor_id: str
    profile: str
    address: str | None = None
    name: str | None = None
    adapter: str | None = None

    def __post_init__(self) -> None:
        if not (isinstance(self.sensor_id, str) and self.sensor_id.strip()):
            raise ValueError(f"sensor_id={self.sensor_id!r}: must be a non-empty string")
        profile(self.profile)  # ValueError naming the known profiles
        for field_name in ("address", "name", "adapter"):
            value = getattr(self, field_name)
            if value is not None and not (isinstance(value, str) and value.strip()):
                raise ValueError(
                    f"sensor {self.sensor_id}: {field_name}={value!r}: must be a non-empty string or None"
                )


@dataclass(frozen=True, slots=True)
class BleSettings:
    """Timeouts, retry pacing and buffer sizes of the reader (seconds unless said otherwise).

    - ``scan_timeout_s``: one discovery attempt, in scanning time.
    - ``scan_turn_s``: the longest a scan holds the adapter before letting the other sensors on it
      take their turn (then it scans on).
    - ``connect_timeout_s``, ``gatt_timeout_s``: one connect; one GATT read, write or subscribe.
    - ``backoff_base_s``, ``backoff_cap_s``: first and largest reconnect delay ceiling.
    - ``stable_after_s``: streaming this long resets the backoff to its first delay.
    - ``queue_packets``: notifications held per sensor for the iterator; beyond, host drops.
    - ``watchdog_intervals``, ``watchdog_min_silence_s``: a link is silent after this many packet
      intervals without a notification, and never sooner than the minimum (also the allowance for
      the first packet after the start command).
    - ``close_timeout_s``: how long ``close()`` waits for stop commands and disconnections.
    """

    scan_timeout_s: float = 5.0
    scan_turn_s: float = 1.0
    connect_timeout_s: float = 15.0
    gatt_timeout_s: float = 10.0
    backoff_base_s: float = 0.5
    backoff_cap_s: float = 30.0
    stable_after_s: float = 10.0
    queue_packets: int = 4096
    watchdog_intervals: float = 20.0
    watchdog_min_silence_s: float = 2.0
    close_timeout_s: float = 3.0

    def __post_init__(self) -> None:
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            if isinstance(value, bool) or not (math.isfinite(value) and value > 0):
                raise ValueError(f"BleSettings.{field.name}={value!r}: must be a positive number")
        if not isinstance(self.queue_packets, int):
            raise ValueError(f"BleSettings.queue_packets={self.queue_packets!r}: must be a whole number")
        if self.backoff_cap_s < self.backoff_base_s:
            raise ValueError(
                f"BleSettings.backoff_cap_s={self.backoff_cap_s} must be at least backoff_base_s={self.backoff_base_s}"
            )


# ------------------------------------------------------------------------------------------------
# From the notification callback to the iterator
# ------------------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class _Connection:
    """Queued ahead of a connection's first notification: how to read what follows."""

    decoder: Decoder
    clock_rate_hz: float


_Notification = tuple[bytes, float, str]


class _NotificationQueue:
    """Bounded FIFO of notifications, filled by bleak's callback, emptied by the iterator.

    Counts what it had to drop, and when notifications arrived on the current connection (for the
    silent-link watchdog). ``wake`` is called on every put, to wake the iterator.
    """

    def __init__(self, bound: int, wake: Callable[[], None]):
        self.bound = bound
        self.dropped = 0
        self._items: deque[_Notification | _Connection] = deque()
        self._packets = 0
        self._wake = wake
        self.connection_started(time.monotonic())

    def put_nowait(self, item: _Notification) -> None:
        """Queue one notification ``(bytes, arrival, characteristic UUID)``, or count it dropped."""
        if self.first_arrival is None:
            self.first_arrival = item[1]
        self.last_arrival = item[1]
        self.arrivals += 1
        if self._packets >= self.bound:
            self.dropped += 1
            return
        self._items.append(item)
        self._packets += 1
        self._wake()

    def connection_started(self, now: float) -> None:
        """Restart the arrival bookkeeping of the watchdog (not the queued items)."""
        self.started_at = now
        self.last_arrival: float | None = None
        self.first_arrival: float | None = None
        self.arrivals = 0

    def mark_connection(self, connection: _Connection) -> None:
        """Queue the marker that tells the iterator how to read the notifications after it."""
        self._items.append(connection)
        self._wake()

    def __len__(self) -> int:
        return len(self._items)

    def pop(self) -> _Notification | _Connection:
        """The oldest queued item (IndexError when empty)."""
        item = self._items.popleft()
        if not isinstance(item, _Connection):
            self._packets -= 1
        return item

    def mean_interval_s(self) -> float | None:
        """Mean time between notifications of the current connection (None before two)."""
        if self.arrivals < 2 or self.first_arrival is None or self.last_arrival is None:
            return None
        return (self.last_arrival - self.first_arrival) / (self.arrivals - 1)


class _Timeline:
    """One sensor's decoded packets → :class:`Block`s: indices continued across reconnects, gaps,
    host times, and the sample counters of its status (see the module docstring)."""

    def __init__(self, sensor_id: str, profile_: Profile, status: SensorStatus):
        self.sensor_id = sensor_id
        self.profile = profile_
        self.status = status
        self.decoder: Decoder | None = None
        self.clock: SampleClock | None = None
        self.next_index: int | None = None  # stream index expected next
        self.device_next: int | None = None  # decoder index expected next (counter continuity)
        self.offset = 0  # stream index − connection-local index
        self.last_time = 0.0  # host time of the last sample delivered
        self.packet_samples = 1  # largest packet seen, for packets_lost
        self.new_connection = False
        self.last_arrival: float | None = None  # of this connection's previous notification
        self.malformed_before = 0  # malformed packets of earlier connections' decoders

    def begin(self, connection: _Connection) -> None:
        """The notifications that follow come from a new connection."""
        if self.decoder is not None:
            self.malformed_before += self.decoder.stats.malformed
        self.decoder = connection.decoder
        if self.clock is None or self.clock.nominal_rate_hz != connection.clock_rate_hz:
            self.clock = SampleClock(connection.clock_rate_hz)
        self.new_connection = True
        self.last_arrival = None

    def take(self, data: bytes, arrival: float, uuid: str) -> Block | None:
        """Decode one notification; the block it makes, or None (rejected, muted, no samples)."""
        assert self.decoder is not None and self.clock is not None
        elapsed = None if self.last_arrival is None else arrival - self.last_arrival
        self.last_arrival = arrival
        decoded = self.decoder.decode(data, uuid, elapsed_s=elapsed)
        self.status.malformed = self.malformed_before + self.decoder.stats.malformed
        if decoded is None:
            return None
        n = decoded.samples.shape[0]
        self.packet_samples = max(self.packet_samples, n)
        counted = decoded.first_index is not None
        resync = decoded.resync
        gap: int | None = None
        if self.new_connection:
            self.new_connection = False
            local_first = decoded.first_index if counted else 0
            if self.next_index is None:
                start, gap = local_first, 0
            else:
                gap = self._reconnect_gap(decoded, n, arrival)
                start, resync = self.next_index + gap, True
            self.offset = start - local_first
            self.clock.new_epoch()
        if counted:
            local = decoded.first_index
            self.clock.observe(local, n, arrival)
            self.device_next = local + n
        else:
            local = self.clock.observe_uncounted(n, arrival)
        index = local + self.offset
        if gap is None:  # exact from the counter, or the clock's estimate of a stall
            gap = index - self.next_index
        self.next_index = index + n
        self.last_time = self.clock.host_time(local + n - 1)
        status = self.status
        status.samples_received += n
        if gap:
            status.samples_lost += gap
            status.packets_lost += -(-gap // self.packet_samples)
        status.measured_rate_hz = self.clock.measured_rate_hz
        return Block(self.sensor_id, index, decoded.samples, self.clock.host_time(local), gap, resync)

    def _reconnect_gap(self, decoded: DecodedPacket, n: int, arrival: float) -> int:
        """Samples missed between the last connection's last sample and this packet's first."""
        rate = self.clock.measured_rate_hz or self.clock.nominal_rate_hz
        if self.profile.loss_detection == "sample_counter" and self.device_next is not None:
            ahead = (decoded.first_index - self.device_next) % _INDEX_WRAP
            # the device's counter went on while we were away (not a corrupt first index)
            if ahead < _INDEX_WRAP // 2 and ahead + n <= most_samples_in(arrival - self.last_time, rate):
                return ahead
        first_sample_time = arrival - (n - 1) / rate
        return max(0, round((first_sample_time - self.last_time) * rate) - 1)


# ------------------------------------------------------------------------------------------------
# One sensor's link
# ------------------------------------------------------------------------------------------------
class _NotFound(Exception):
    """No matching device advertised within the scan timeout."""


#: One lock per event loop and adapter — (scanner backend, adapter name) — that scans and
#: connects of every BleSource on it take turns at.
_ADAPTER_LOCKS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[tuple[object, str | None], asyncio.Lock]] = (
    weakref.WeakKeyDictionary()
)


def _adapter_lock(backend: type | None, adapter: str | None) -> asyncio.Lock:
    locks = _ADAPTER_LOCKS.setdefault(asyncio.get_running_loop(), {})
    return locks.setdefault((backend, adapter), asyncio.Lock())


class _SensorLink:
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
        self.queue = _NotificationQueue(self.settings.queue_packets, source._wake)
        self.timeline = _Timeline(sensor.sensor_id, self.profile, self.status)
        self.backoff = Backoff(self.settings.backoff_base_s, self.settings.backoff_cap_s, rng=source._rng)
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
            except _NotFound:
                problem = NOT_FOUND
            except Exception as error:  # noqa: BLE001 - every failure becomes the status, then a retry
                problem = self._describe(error)
                await self._hang_up(send_stop=False)
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
        decoder, rate_hz = await self._prepare(client)
        self.queue.mark_connection(_Connection(decoder, rate_hz or _UNKNOWN_RATE_GUESS_HZ))
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
        if not lost.is_set():  # silent: hang up ourselves before reconnecting
            await self._hang_up(send_stop=False)
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
        if self.source._taken_by_another(self, address, name):
            return False
        if self.claimed:
            return address == self.claimed
        if self.sensor.name:
            return name == self.sensor.name
        return self.profile.service_uuid in {u.lower() for u in adv.service_uuids}

    async def _find_and_connect(self, lost: asyncio.Event) -> None:
        """Scan for the device in turns at the adapter (``scan_turn_s`` each, ``scan_timeout_s``
        in all: ``_NotFound`` after that), then connect it in the same turn."""
        lock = _adapter_lock(self.source._scanner_backend, self.sensor.adapter)
        scanned_s = 0.0
        while True:
            if lock.locked():
                self.status.state = f"waiting for the Bluetooth adapter ({self.sensor.adapter or 'default'})"
            async with lock:
                self.status.state = f"searching for {self._target()}"
                turn_s = min(self.settings.scan_turn_s, self.settings.scan_timeout_s - scanned_s)
                device = await BleakScanner.find_device_by_filter(
                    self._matches, timeout=turn_s, backend=self.source._scanner_backend, bluez=self.bluez
                )
                if device is not None:
                    self.claimed = self.status.address = device.address.upper()
                    self.status.state = f"connecting to {device.address}"
                    self.client = BleakClient(
                        device,
                        disconnected_callback=lambda _client: lost.set(),
                        timeout=self.settings.connect_timeout_s,
                        bluez=self.bluez,
                        backend=self.source._client_backend,
                    )
                    await self._within(self.settings.connect_timeout_s, self.client.connect())
                    return
            scanned_s += turn_s
            if scanned_s >= self.settings.scan_timeout_s - 1e-9:
                raise _NotFound

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

    async def _hang_up(self, send_stop: bool) -> None:
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


# ------------------------------------------------------------------------------------------------
# The source
# ------------------------------------------------------------------------------------------------
class BleSource:
    """Bluetooth LE sensors as a :class:`~coach_tui.sources.source.Source` (see the module docstring).

    ``scanner_backend`` / ``client_backend`` are bleak backend classes (``BleakScanner(backend=…)``,
    ``BleakClient(backend=…)``), None for the platform's; tests pass a bumble world's. ``rng``
    draws the backoff jitter. The sensors' tasks start on the first ``async for``.
    """

    def __init__(
        self,
        sensors: list[BleSensor],
        settings: BleSettings | None = None,
        *,
        scanner_backend: type | None = None,
        client_backend: type | None = None,
        rng: random.Random | None = None,
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
        self._scanner_backend = scanner_backend
        self._client_backend = client_backend
        self._rng = rng if rng is not None else random.Random()
        self._data_ready = asyncio.Event()
        self._links = [_SensorLink(self, sensor) for sensor in sensors]
        self._tasks: list[asyncio.Task[None]] = []
        self._closing = False
        self._close_task: asyncio.Task[None] | None = None

    def _wake(self) -> None:
        self._data_ready.set()

    def _taken_by_another(self, link: _SensorLink, address: str, name: str | None) -> bool:
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
                    if isinstance(item, _Connection):
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
            dataclasses.replace(link.status, notes=list(link.status.notes), host_drops=link.queue.dropped)
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
        self._wake()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

        async def stop(link: _SensorLink) -> None:
            try:
                async with asyncio.timeout(self.settings.close_timeout_s):
                    await link._hang_up(send_stop=True)
            except TimeoutError:
                pass
            link.status.connected = False
            link.status.state = "closed"

        await asyncio.gather(*(stop(link) for link in self._links))
