"""``coach scan``: nearby devices matched to a profile through bleak and a bumble world, and the
``[[sensors]]`` entries it prints for config.toml."""

from __future__ import annotations

import tomllib

import pytest
from ble_encoders import coach_v1_info
from ble_peripherals import failing_scanner_backend, peripheral_spec
from bleak.exc import BleakBluetoothNotAvailableError, BleakBluetoothNotAvailableReason
from bumble_link import BumbleWorld, CharacteristicSpec, ServiceSpec

from coach_tui import cli
from coach_tui.config import ConfigError, load_config
from coach_tui.sources.ble import scan as ble_scan
from coach_tui.sources.ble.bluetooth_errors import BluetoothUnavailable
from coach_tui.sources.ble.profiles import PROFILES
from coach_tui.sources.ble.scan import FoundDevice, config_snippet, scan

HEART_RATE_SERVICE = "0000180d-0000-1000-8000-00805f9b34fb"


async def add_neighbourhood(world: BumbleWorld) -> dict[str, str]:
    """A coach v1 sensor, a Myo, two Ganglions (found by their names only; one whose firmware
    cannot be read, one reporting firmware 2.0.1), a MyoWare UART shield and a heart-rate strap
    that is no sensor of ours; name → address."""
    peripherals = [
        await world.add_peripheral(peripheral_spec(PROFILES["coach_v1"], "coach-1", info=coach_v1_info(1, 1000.0))),
        await world.add_peripheral(peripheral_spec(PROFILES["myo"], "Myo")),
        await world.add_peripheral(peripheral_spec(PROFILES["ganglion_fw3"], "Ganglion-1a2b", advertise_service=False)),
        await world.add_peripheral(peripheral_spec(PROFILES["ganglion_fw3"], "Ganglion-3c4d", advertise_service=False,
                                                   software_revision="2.0.1")),
        await world.add_peripheral(peripheral_spec(PROFILES["myoware_uart"], "MyoWare")),
        await world.add_peripheral(
            name="Polar H10", services=[ServiceSpec(HEART_RATE_SERVICE, [CharacteristicSpec("2a37", "notify")])]
        ),
    ]
    return {p.name: p.address for p in peripherals}


async def test_scan_lists_devices_that_match_a_profile():
    async with BumbleWorld() as world:
        addresses = await add_neighbourhood(world)
        found = await scan(0.3, world.scanner_backend, world.client_backend)
        ganglion_2 = world.peripheral("Ganglion-3c4d")
        assert ganglion_2.connections_count == 1 and not ganglion_2.is_connected  # read, then let go

    assert sorted(found, key=lambda d: d.name) == [
        FoundDevice(addresses["Ganglion-1a2b"], "Ganglion-1a2b", -50, "ganglion_fw3"),
        FoundDevice(addresses["Ganglion-3c4d"], "Ganglion-3c4d", -50, "ganglion_fw2", "2.0.1"),
        FoundDevice(addresses["Myo"], "Myo", -50, "myo"),
        FoundDevice(addresses["MyoWare"], "MyoWare", -50, "myoware_uart"),
        FoundDevice(addresses["coach-1"], "coach-1", -50, "coach_v1"),
    ]


async def test_scan_says_when_bluetooth_is_off():
    off = BleakBluetoothNotAvailableError("No powered adapters.", BleakBluetoothNotAvailableReason.POWERED_OFF)
    with pytest.raises(BluetoothUnavailable, match="Bluetooth is off"):
        await scan(0.1, failing_scanner_backend(off))


DEVICES = [
    FoundDevice("C0:B0:00:00:00:01", "coach-1", -48, "coach_v1"),
    FoundDevice("C0:B0:00:00:00:02", "Myo", -60, "myo"),
    FoundDevice("C0:B0:00:00:00:03", 'odd "name"\\\n', None, "ganglion_fw3"),
    FoundDevice("C0:B0:00:00:00:04", None, -70, "myoware_uart"),
]


def test_snippet_is_toml_in_the_sensors_schema():
    document = tomllib.loads(config_snippet(DEVICES))
    entries = document["sensors"]
    assert [set(e) for e in entries] == [{"id", "profile", "address", "channels"}] * 4
    assert [e["id"] for e in entries] == ["s1", "s2", "s3", "s4"]
    assert [(e["profile"], e["address"]) for e in entries] == [(d.profile, d.address) for d in DEVICES]
    assert [e["channels"] for e in entries] == [[""], [""] * 8, [""] * 4, [""] * 2]  # coach v1: 1 until known
    snippet = config_snippet(DEVICES)
    assert '# or: name = "coach-1"' in snippet
    assert '# or: name = "odd \\"name\\"\\\\\\u000a"' in snippet  # escaped, so the comment stays one line
    assert "coach_v1, myoware_ble, myo, ganglion_fw3, ganglion_fw2, myoware_uart" in snippet
    assert config_snippet([]) == ""


def test_snippet_with_muscles_filled_in_is_accepted_by_the_config_parser(tmp_path):
    snippet = config_snippet(DEVICES[:2])
    path = tmp_path / "config.toml"
    path.write_text(snippet.replace('[""]', '["glute_max:L"]').replace('["", ', '["glute_max:R", '), encoding="utf-8")
    sensors = load_config(path).sensors
    assert [(s.id, s.profile, s.address) for s in sensors] == [
        ("s1", "coach_v1", "C0:B0:00:00:00:01"),
        ("s2", "myo", "C0:B0:00:00:00:02"),
    ]
    path.write_text(snippet, encoding="utf-8")  # as printed: the muscles still to be named
    with pytest.raises(ConfigError, match="name the muscle of at least one channel"):
        load_config(path)


@pytest.fixture
def bumble_neighbourhood(monkeypatch):
    """``coach scan`` scans a bumble world with :func:`add_neighbourhood` in it (or an empty one)."""
    real_scan = ble_scan.scan

    def install(populated: bool = True) -> None:
        async def scan_in_bumble_world(seconds: float, scanner_backend: type | None = None):
            async with BumbleWorld() as world:
                if populated:
                    await add_neighbourhood(world)
                return await real_scan(seconds, world.scanner_backend, world.client_backend)

        monkeypatch.setattr(ble_scan, "scan", scan_in_bumble_world)

    return install


def test_coach_scan_prints_devices_and_entries_to_paste(isolated, bumble_neighbourhood, capsys):
    bumble_neighbourhood()
    assert cli.main(["scan", "--seconds", "0.3"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("Found 5 sensors in 0.3 s:")
    assert "Myo" in out and "Thalmic Myo armband" in out and "-50 dBm" in out
    assert "OpenBCI Ganglion (firmware 2) — board reports firmware 2.0.1" in out
    assert "Polar" not in out
    snippet = out[out.index("[[sensors]]") :]
    entries = tomllib.loads(snippet)["sensors"]
    assert len(entries) == 5
    assert {e["address"]: e["profile"] for e in entries if e["profile"].startswith("ganglion")} == {
        line.split()[0]: "ganglion_fw2" if "firmware 2.0.1" in line else "ganglion_fw3"
        for line in out.splitlines() if line.startswith("  ") and "OpenBCI Ganglion (" in line
    }
    assert "# the board reports firmware 2.0.1" in snippet
    assert "fill in the muscle on each channel" in out


def test_coach_scan_finding_nothing_says_what_to_check(isolated, bumble_neighbourhood, capsys):
    bumble_neighbourhood(populated=False)
    assert cli.main(["scan", "--seconds", "0.2"]) == 1
    out = capsys.readouterr().out
    assert out.startswith("No sensors found in 0.2 s.") and "switched on" in out and "--seconds" in out


def test_coach_scan_without_usable_bluetooth_prints_one_line_and_exits_2(isolated, monkeypatch, capsys):
    real_scan = ble_scan.scan
    denied = BleakBluetoothNotAvailableError("denied", BleakBluetoothNotAvailableReason.DENIED_BY_SYSTEM)

    async def scan_without_permission(seconds: float, scanner_backend: type | None = None):
        return await real_scan(seconds, failing_scanner_backend(denied))

    monkeypatch.setattr(ble_scan, "scan", scan_without_permission)
    assert cli.main(["scan"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith("coach scan: permission to use Bluetooth was denied")
    assert captured.err.count("\n") == 1


def test_coach_scan_refuses_a_non_positive_duration(isolated, capsys):
    assert cli.main(["scan", "--seconds", "0"]) == 2
    assert "--seconds 0: must be positive" in capsys.readouterr().err
