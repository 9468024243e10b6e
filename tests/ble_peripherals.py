"""bumble peripherals that speak a sensor profile: the GATT layout built from a ``Profile``'s UUIDs,
and a firmware that streams on the profile's start command and stops on its stop command. Also a
scanner backend for a machine where Bluetooth cannot be used.

    sensor = await world.add_peripheral(peripheral_spec(PROFILES["coach_v1"], "coach-1", info=info))
    firmware = Firmware(sensor, PROFILES["coach_v1"], lambda: packets, rate_hz=50)
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable

from bleak.backends.scanner import BaseBleakScanner
from bumble_link import CharacteristicSpec, Peripheral, PeripheralSpec, ServiceSpec, Stream, Write

from coach_tui.sources.ble.profiles import SOFTWARE_REVISION_UUID, Profile

#: Thalmic Myo: the EMG characteristics live in their own service, 0x0005 on the Myo base.
MYO_EMG_SERVICE = "d5060005-a904-deb9-4748-2c7f4a124842"
DEVICE_INFORMATION_SERVICE = "0000180a-0000-1000-8000-00805f9b34fb"


def peripheral_spec(
    profile: Profile,
    name: str | None,
    *,
    info: bytes = b"",
    battery_level: int | None = 80,
    address: str | None = None,
    advertise_service: bool = True,
    software_revision: str | None = None,
) -> PeripheralSpec:
    """What a device of ``profile`` advertises and serves: its service UUID (unless
    ``advertise_service`` is False), the data characteristics (notify), the control characteristic
    (write, with and without response), the info characteristic holding ``info``, the Battery
    Service where the profile reads one, and a Device Information Service with the
    ``software_revision`` string when one is given."""
    data = [CharacteristicSpec(uuid, "notify") for uuid in profile.data_uuids]
    own = []
    if profile.control_uuid is not None:
        own.append(CharacteristicSpec(profile.control_uuid, ("write", "write-without-response")))
    if profile.info_uuid is not None:
        own.append(CharacteristicSpec(profile.info_uuid, "read", info))
    if profile.key == "myo":
        services = [ServiceSpec(profile.service_uuid, own), ServiceSpec(MYO_EMG_SERVICE, data)]
    else:
        services = [ServiceSpec(profile.service_uuid, data + own)]
    if software_revision is not None:
        revision = CharacteristicSpec(SOFTWARE_REVISION_UUID, "read", software_revision.encode("utf-8"))
        services.append(ServiceSpec(DEVICE_INFORMATION_SERVICE, [revision]))
    return PeripheralSpec(
        name=name,
        services=services,
        advertised_service_uuids=(profile.service_uuid,) if advertise_service else (),
        battery_level=battery_level if profile.battery_uuid else None,
        address=address,
    )


class Firmware:
    """A device's streaming behaviour on a :class:`Peripheral`.

    With start commands: the last start command starts a stream of ``packets()`` (called anew on
    every start) at ``rate_hz`` packets per second over the profile's data characteristics in
    rotation; the first stop command stops it; a disconnection stops it too. Without (MyoWare):
    the stream starts once the central subscribed. ``subscribed_at_write`` records, for every
    control write, whether every data characteristic was subscribed when it arrived.
    """

    def __init__(
        self,
        peripheral: Peripheral,
        profile: Profile,
        packets: Callable[[], Iterable[bytes]],
        rate_hz: float,
        *,
        drop: Iterable[int] = (),
    ):
        self.peripheral = peripheral
        self.profile = profile
        self.packets = packets
        self.rate_hz = rate_hz
        self.drop = frozenset(drop)
        self.streams: list[Stream] = []
        self.subscribed_at_write: list[bool] = []
        self._waiter: asyncio.Task | None = None
        if profile.start_commands:
            peripheral.on_write(self._on_command, profile.control_uuid)
        else:
            self._waiter = asyncio.get_running_loop().create_task(self._start_when_subscribed())

    def _all_subscribed(self) -> bool:
        return all(self.peripheral.is_subscribed(uuid) for uuid in self.profile.data_uuids)

    def _on_command(self, write: Write) -> None:
        self.subscribed_at_write.append(self._all_subscribed())
        if write.data == self.profile.start_commands[-1]:
            self.start()
        elif write.data == self.profile.stop_commands[0]:
            self.peripheral.stop_stream()

    async def _start_when_subscribed(self) -> None:
        await self.peripheral.wait_for(self._all_subscribed, timeout=30.0)
        self.start()

    def start(self) -> Stream:
        """Start (or restart) streaming now."""
        stream = self.peripheral.start_stream(
            list(self.profile.data_uuids), self.packets(), rate_hz=self.rate_hz, drop=self.drop
        )
        self.streams.append(stream)
        return stream

    def control_writes(self) -> list[bytes]:
        """Bytes written to the control characteristic, in order."""
        return self.peripheral.writes_to(self.profile.control_uuid) if self.profile.control_uuid else []


def failing_scanner_backend(error: BaseException) -> type[BaseBleakScanner]:
    """A bleak scanner backend whose ``start`` raises ``error``, as on a machine with Bluetooth off,
    no adapter or no permission."""

    class FailingScanner(BaseBleakScanner):
        def __init__(self, detection_callback, service_uuids, scanning_mode="active", **kwargs):
            super().__init__(detection_callback, service_uuids)

        async def start(self) -> None:
            raise error

        async def stop(self) -> None:
            pass

    return FailingScanner


def ganglion_fw3_board(peripheral: Peripheral, profile: Profile, adc, *, lost: Iterable[int] = ()) -> Firmware:
    """A firmware-3 Ganglion streaming the ADC samples ``adc`` (n × 4 counts) as the firmware packs
    them (``ganglion_firmware``), from the first sample on every start, at the ADC's 200 Hz: one
    tick per sample, a notification on the ticks that complete a packet. ``lost`` numbers the
    packets (in order sent) lost on air."""
    from ganglion_firmware import fw3_transmission

    sent = fw3_transmission(adc)
    packet_ticks = [tick for tick, packet in enumerate(sent) if packet is not None]
    silent = {tick for tick, packet in enumerate(sent) if packet is None}
    silent |= {packet_ticks[k] for k in lost}
    return Firmware(peripheral, profile, lambda: [p or b"" for p in sent], rate_hz=200.0, drop=silent)
