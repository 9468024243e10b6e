"""Device profiles as data: UUIDs, commands, stream shape and loss detection per sensor type.

One :class:`Profile` per protocol in SENSORS.md, each with a pure decoder made by
:meth:`Profile.new_decoder`. ``PROFILES`` is ordered so that :func:`matching_profile` picks the
most specific profile first.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from coach_tui.sources.ble.decode_coach import CoachV1Decoder, parse_coach_info
from coach_tui.sources.ble.decode_ganglion import GanglionFw2Decoder, GanglionFw3Decoder
from coach_tui.sources.ble.decode_myo import MyoDecoder
from coach_tui.sources.ble.decode_myoware import MyoWareBleDecoder, MyoWareUartDecoder
from coach_tui.sources.ble.decoders import Decoder


def _sig_uuid(short: int) -> str:
    """A Bluetooth SIG 16-bit UUID in full 128-bit form."""
    return f"0000{short:04x}-0000-1000-8000-00805f9b34fb"


def _myo_uuid(short: int) -> str:
    return f"d506{short:04x}-a904-deb9-4748-2c7f4a124842"


BATTERY_LEVEL_UUID = _sig_uuid(0x2A19)
SOFTWARE_REVISION_UUID = _sig_uuid(0x2A28)


@dataclass(frozen=True, slots=True)
class Profile:
    """How to find, start and decode one kind of sensor.

    UUIDs are full 128-bit and lowercase. ``data_uuids`` are all subscribed before
    ``start_commands`` are written, in order, to ``control_uuid``. ``channels``,
    ``nominal_rate_hz`` and ``scale`` are None when the info characteristic says (coach v1, whose
    info also overrides ``kind``; ``channel_kinds`` where the channels differ). ``scale`` is ``units`` per count as the decoder applies it (µV
    per ADC count for the Ganglion; 1.0 where the counts are the units: Myo's unitless int8,
    MyoWare's ADC counts). ``loss_detection`` is "sample_counter", "packet_id" or "arrival_time".
    ``use_start_notify`` is bleak's BlueZ option (SENSORS.md "bleak notes").
    ``revision_uuid`` is a Software Revision String (0x2A28) read on connect where the packets
    depend on the firmware: its major version picks the profile whose ``firmware_majors`` hold it
    (:func:`read_firmware`).
    """

    key: str
    title: str
    service_uuid: str
    name_prefixes: tuple[str, ...]
    data_uuids: tuple[str, ...]
    control_uuid: str | None
    start_commands: tuple[bytes, ...]
    stop_commands: tuple[bytes, ...]
    keepalive_command: bytes | None
    keepalive_interval_s: float | None
    write_with_response: bool
    info_uuid: str | None
    battery_uuid: str | None
    channels: int | None
    nominal_rate_hz: float | None
    units: str
    scale: float | None
    kind: str
    loss_detection: str
    use_start_notify: bool = True
    revision_uuid: str | None = None
    firmware_majors: tuple[int, ...] = ()
    channel_kinds: tuple[str, ...] | None = None

    def channel_kind(self, channel: int) -> str:
        """What ``channel`` (0-based) carries: "raw" EMG (filtered here) or an "envelope" the device
        computed — ``channel_kinds`` where channels differ, else ``kind``."""
        return self.channel_kinds[channel] if self.channel_kinds else self.kind

    def new_decoder(self, info: bytes | None = None) -> Decoder:
        """A fresh decoder for one connection; ``info`` is the info characteristic's bytes where
        the profile has one (required for coach v1, ValueError when missing or malformed)."""
        return _DECODER_FACTORIES[self.key](self, info)


def _coach_v1_decoder(_profile: Profile, info: bytes | None) -> Decoder:
    if info is None:
        raise ValueError("coach_v1 needs the info characteristic's bytes to build its decoder")
    return CoachV1Decoder(parse_coach_info(info))


_DECODER_FACTORIES: dict[str, Callable[[Profile, bytes | None], Decoder]] = {
    "coach_v1": _coach_v1_decoder,
    "myoware_ble": lambda _profile, _info: MyoWareBleDecoder(),
    "myoware_uart": lambda _profile, _info: MyoWareUartDecoder(),
    "myo": lambda _profile, _info: MyoDecoder(),
    "ganglion_fw2": lambda p, _info: GanglionFw2Decoder(p.scale, p.nominal_rate_hz),
    "ganglion_fw3": lambda p, _info: GanglionFw3Decoder(p.scale, p.nominal_rate_hz),
}

_COACH_BASE = "-0f40-4a84-bdf4-defc43a196c4"
_NORDIC_UART_BASE = "-b5a3-f393-e0a9-e50e24dcca9e"
_GANGLION = {
    "service_uuid": _sig_uuid(0xFE84),
    "name_prefixes": ("Ganglion", "Simblee"),
    "data_uuids": ("2d30c082-f39f-4ce6-923f-3484ea480596",),
    "control_uuid": "2d30c083-f39f-4ce6-923f-3484ea480596",
    "start_commands": (b"b",),
    "stop_commands": (b"s",),
    "keepalive_command": None,
    "keepalive_interval_s": None,
    "write_with_response": False,
    "info_uuid": None,
    "battery_uuid": None,
    "channels": 4,
    "nominal_rate_hz": 200.0,
    "units": "uV",
    # µV per ADC count: 1.2 V reference, 24-bit, gain 51, ×1.5 (SENSORS.md §4)
    "scale": 1.2e6 / (8388607 * 1.5 * 51),
    "kind": "raw",
    "loss_detection": "packet_id",
    "revision_uuid": SOFTWARE_REVISION_UUID,
}

_ALL = (
    Profile(
        key="coach_v1",
        title="coach open sensor profile v1 (DIY and third-party sensors)",
        service_uuid="9cc9571f" + _COACH_BASE,
        name_prefixes=(),
        data_uuids=("9cc95720" + _COACH_BASE,),
        control_uuid="9cc95721" + _COACH_BASE,
        start_commands=(b"\x01",),
        stop_commands=(b"\x00",),
        keepalive_command=None,
        keepalive_interval_s=None,
        write_with_response=True,
        info_uuid="9cc95722" + _COACH_BASE,
        battery_uuid=BATTERY_LEVEL_UUID,
        channels=None,
        nominal_rate_hz=None,
        units="uV",
        scale=None,
        kind="raw",
        loss_detection="sample_counter",
    ),
    Profile(
        key="myoware_ble",
        title="MyoWare 2.0 Wireless Shield (BLE peripheral example)",
        service_uuid="ec3af789-2154-49f4-a9fc-bc6c88e9e930",
        name_prefixes=(),
        data_uuids=("f3a56edf-8f1e-4533-93bf-5601b2e91308",),
        control_uuid=None,
        start_commands=(),
        stop_commands=(),
        keepalive_command=None,
        keepalive_interval_s=None,
        write_with_response=True,
        info_uuid=None,
        battery_uuid=None,
        channels=1,
        nominal_rate_hz=None,
        units="counts",
        scale=1.0,
        kind="envelope",
        loss_detection="arrival_time",
    ),
    Profile(
        key="myo",
        title="Thalmic Myo armband",
        service_uuid=_myo_uuid(0x0001),
        name_prefixes=("Myo",),
        data_uuids=tuple(_myo_uuid(short) for short in (0x0105, 0x0205, 0x0305, 0x0405)),
        control_uuid=_myo_uuid(0x0401),
        # never sleep, then raw EMG with IMU and classifier off
        start_commands=(bytes.fromhex("090101"), bytes.fromhex("0103030000")),
        # EMG off, then the normal sleep mode again so an idle armband does not drain
        stop_commands=(bytes.fromhex("0103000000"), bytes.fromhex("090100")),
        keepalive_command=None,
        keepalive_interval_s=None,
        write_with_response=True,
        info_uuid=None,
        battery_uuid=BATTERY_LEVEL_UUID,
        channels=8,
        nominal_rate_hz=200.0,
        units="unitless",
        scale=1.0,
        kind="raw",
        loss_detection="arrival_time",
    ),
    # Advertising cannot tell the two Ganglion firmwares apart: the Software Revision string
    # (0x2A28), read on connect, picks the decoder, and a scan connects to read it. Firmware 1
    # (OpenBCI_Ganglion_Library 1.x) sends the packets of firmware 2.
    Profile(key="ganglion_fw3", title="OpenBCI Ganglion (firmware 3)", firmware_majors=(3,), **_GANGLION),
    Profile(key="ganglion_fw2", title="OpenBCI Ganglion (firmware 2)", firmware_majors=(1, 2), **_GANGLION),
    # Last: the Nordic UART service is generic, so any other profile's match wins over it.
    Profile(
        key="myoware_uart",
        title="MyoWare 2.0 Wireless Shield (BLE UART example)",
        service_uuid="6e400001" + _NORDIC_UART_BASE,
        name_prefixes=(),
        data_uuids=("6e400003" + _NORDIC_UART_BASE,),
        control_uuid="6e400002" + _NORDIC_UART_BASE,
        start_commands=(),
        stop_commands=(),
        keepalive_command=None,
        keepalive_interval_s=None,
        write_with_response=True,
        info_uuid=None,
        battery_uuid=None,
        channels=2,
        nominal_rate_hz=None,
        units="counts",
        scale=1.0,
        kind="envelope",
        loss_detection="arrival_time",
        # "<envelope>,<raw>": the raw value is the signal with the reference offset removed (it
        # swings around zero), EMG to filter like any other
        channel_kinds=("envelope", "raw"),
    ),
)

#: Every profile by key, most specific first.
PROFILES: dict[str, Profile] = {p.key: p for p in _ALL}


def profile(key: str) -> Profile:
    """The profile called ``key``; ValueError naming the known keys otherwise."""
    try:
        return PROFILES[key]
    except KeyError:
        known = ", ".join(PROFILES)
        raise ValueError(f"unknown sensor profile {key!r} (known: {known})") from None


def matching_profile(name: str | None, service_uuids: list[str]) -> Profile | None:
    """The profile an advertisement looks like, for ``coach scan``: the first profile whose
    service UUID is advertised, else the first whose name prefix the name starts with."""
    advertised = {uuid.lower() for uuid in service_uuids}
    for candidate in PROFILES.values():
        if candidate.service_uuid in advertised:
            return candidate
    if name:
        for candidate in PROFILES.values():
            if candidate.name_prefixes and name.startswith(candidate.name_prefixes):
                return candidate
    return None


_MAJOR_VERSION = re.compile(r"\s*v?(\d+)")


@dataclass(frozen=True, slots=True)
class FirmwareChoice:
    """How to read a board whose Software Revision string is ``revision``: with ``profile``;
    ``note`` for its status; ``event`` for the trainer when the board is not read as configured,
    or runs a firmware coach-tui does not know (else None)."""

    profile: Profile
    note: str
    event: str | None


def read_firmware(configured: Profile, revision: str) -> FirmwareChoice:
    """The profile that reads a board of ``configured``'s kind running firmware ``revision``, as
    BrainFlow's ``fw:auto`` does: the configured one when it reads that firmware, else the one of
    the same service that does (a warning, not a refusal), else the configured one with a warning
    that the firmware is unknown."""
    match = _MAJOR_VERSION.match(revision)
    major = int(match.group(1)) if match else None
    note = f"firmware {revision}"
    if major in configured.firmware_majors:
        return FirmwareChoice(configured, note, None)
    for other in PROFILES.values():
        if other.service_uuid == configured.service_uuid and major in other.firmware_majors:
            event = (
                f"board reports firmware {revision}: using it (config.toml says {configured.key}; "
                f'set profile = "{other.key}" to match)'
            )
            return FirmwareChoice(other, note, event)
    event = (
        f"board reports firmware {revision!r}, which coach-tui does not know: read as {configured.title} — "
        "if the signal looks wrong, check the board's firmware against the profile in config.toml"
    )
    return FirmwareChoice(configured, note, event)
