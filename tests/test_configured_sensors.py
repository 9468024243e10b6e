"""config.toml's [[sensors]] as the console and `coach check` read them: placements from the
config, only the placed channels, the pre-session check graded over Bluetooth (bumble), and what
the check keeps of a gap a corrupt counter claims."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest
from ble_encoders import coach_v1_info, encode_coach_v1
from ble_peripherals import Firmware, peripheral_spec
from bumble_link import BumbleWorld

from coach_tui.workflows import configured_sensors
from coach_tui.config import ConfigError, load_config
from coach_tui.domain.placement import Placement
from coach_tui.workflows.sensor_check import RecentSamples, collect, grade_sensors
from coach_tui.sources.block import Block, SensorStatus
from coach_tui.sources.ble.profiles import PROFILES

CONFIG = """
[[sensors]]
id = "hips"
profile = "coach_v1"
name = "coach-hips"
channels = ["", "glute_max:L"]

[[sensors]]
id = "hams"
profile = "coach_v1"
name = "coach-hams"
channels = ["hamstrings:R"]

[[sensors]]
id = "band"
profile = "myoware_ble"
channels = ["biceps:L"]
"""


@pytest.fixture
def config(tmp_path):
    path = tmp_path / "config.toml"
    path.write_text(CONFIG, encoding="utf-8")
    return load_config(path)


def test_placements_columns_envelope_sensors_and_units_come_from_the_config(config):
    placements = configured_sensors.configured_placements(config)
    assert placements == [Placement("glute_max", "L", "hips", 1), Placement("hamstrings", "R", "hams", 0),
                          Placement("biceps", "L", "band", 0)]
    assert configured_sensors.placed_columns(placements) == {"hips": [1], "hams": [0], "band": [0]}
    assert configured_sensors.envelope_sensors(config) == frozenset({"band"})
    assert configured_sensors.device_units(config) == {"hips": "µV", "hams": "µV", "band": "counts"}


@pytest.mark.parametrize(("channels", "envelopes"), [('["biceps:L", ""]', {"uart"}), ('["", "biceps:L"]', set())],
                         ids=["envelope-placed", "raw-placed"])
def test_a_myoware_uart_shield_s_raw_channel_is_raw_emg_and_its_envelope_an_envelope(tmp_path, channels, envelopes):
    # "<envelope>,<raw>": the raw value swings around zero, EMG to filter like any other
    path = tmp_path / "config.toml"
    path.write_text(f'[[sensors]]\nid = "uart"\nprofile = "myoware_uart"\nchannels = {channels}\n', encoding="utf-8")
    assert configured_sensors.envelope_sensors(load_config(path)) == frozenset(envelopes)


def test_placing_both_the_envelope_and_the_raw_channel_of_one_sensor_is_refused(tmp_path):
    path = tmp_path / "config.toml"
    path.write_text('[[sensors]]\nid = "uart"\nprofile = "myoware_uart"\nchannels = ["biceps:L", "biceps:L"]\n',
                    encoding="utf-8")
    with pytest.raises(ConfigError, match=r"sensor sends its envelope on channel 1 and its raw signal on channel 2 "
                                          r"— name the muscle on one of them"):
        load_config(path)


async def test_the_check_reads_only_the_placed_channels_and_grades_each_sensor(config):
    rng = np.random.default_rng(5)
    counts = {"hips": rng.normal(0, 40, size=(6000, 2)).astype(int), "hams": rng.normal(0, 40, size=(6000, 1)).astype(int)}
    placements = configured_sensors.configured_placements(config)[:2]  # the MyoWare is switched off today
    async with BumbleWorld() as world:
        for sensor_id, channels in (("hips", 2), ("hams", 1)):
            peripheral = await world.add_peripheral(
                peripheral_spec(PROFILES["coach_v1"], f"coach-{sensor_id}", info=coach_v1_info(channels, 1000.0, 0.5)))
            packets = [encode_coach_v1(counts[sensor_id][k:k + 20], k) for k in range(0, 6000, 20)]
            Firmware(peripheral, PROFILES["coach_v1"], lambda packets=packets: packets, rate_hz=50)
        source = configured_sensors.bluetooth_source(config, placements, scanner_backend=world.scanner_backend,
                                             client_backend=world.client_backend)
        received = await collect(source, 1.0)
        statuses = source.status()
    assert set(received) == {"hips", "hams"}
    hips = np.concatenate(received["hips"])
    assert hips.shape[1] == 1  # channel 2 of the two only
    start = 0
    while not np.allclose(hips[:5, 0], counts["hips"][start:start + 5, 1] * 0.5):
        start += 1
    assert np.array_equal(hips[:, 0], (counts["hips"][start:start + len(hips), 1] * 0.5).astype(np.float32))
    report = grade_sensors(received, statuses, {"hips": "left glute max", "hams": "right hamstrings"},
                           load_config().analysis, 1.0, simulated=False)
    assert [(s.name, s.streaming) for s in report.sensors] == [("left glute max", True), ("right hamstrings", True)]
    assert all(s.status.nominal_rate_hz == 1000.0 and s.status.channels == 1 for s in report.sensors)


def test_each_entry_becomes_a_ble_sensor_with_its_address_name_and_adapter(tmp_path):
    from coach_tui.sources.ble.ble_source import BleSensor

    path = tmp_path / "config.toml"
    path.write_text(CONFIG.replace('name = "coach-hams"', 'name = "coach-hams"\nadapter = "hci1"'), encoding="utf-8")
    config = load_config(path)
    source = configured_sensors.bluetooth_source(config, configured_sensors.configured_placements(config))
    assert [link.sensor for link in source.source._links] == [
        BleSensor("hips", "coach_v1", None, "coach-hips"),
        BleSensor("hams", "coach_v1", None, "coach-hams", "hci1"),
        BleSensor("band", "myoware_ble"),
    ]


WILD_GAP = 2**31  # what a corrupt 32-bit counter can claim: 8 GB of float32 zeros for 1 channel


class GapSource:
    """One 1000 Hz sensor: 10-sample blocks every 10 ms, the fifth after a wild gap."""

    def __init__(self):
        self._status = SensorStatus("s1", nominal_rate_hz=1000.0, channels=1, connected=True)

    def status(self):
        return [self._status]

    async def _blocks(self):
        index = 0
        for k in range(1000):
            await asyncio.sleep(0.01)
            gap = WILD_GAP if k == 4 else 0
            index += gap
            yield Block("s1", index, np.full((10, 1), k + 1.0, dtype=np.float32), 0.0, gap)
            index += 10

    def __aiter__(self):
        return self._blocks()

    async def close(self):
        pass


async def test_the_check_fills_a_gap_with_at_most_the_listening_window_of_the_last_sample():
    received = await collect(GapSource(), 0.2)
    pieces = received["s1"]
    fills = [p for p in pieces if len(p) != 10]
    assert [len(f) for f in fills] == [200]  # 0.2 s at 1000 Hz
    assert np.all(fills[0] == 4.0)  # the sample before the gap, held (Pipeline.process_gap does the same)
    blocks = [p for p in pieces if len(p) == 10]
    assert [p[0, 0] for p in blocks] == list(range(1, len(blocks) + 1))


def test_recent_samples_keep_at_most_a_window_of_the_last_sample_for_a_gap():
    recent = RecentSamples(0.5, 1000.0)
    recent.add(Block("s1", 0, np.ones((10, 1), dtype=np.float32), 0.0))
    recent.add(Block("s1", 10 + WILD_GAP, np.full((10, 1), 2.0, dtype=np.float32), 0.0, WILD_GAP))
    kept = recent.received()["s1"]
    assert [len(p) for p in kept] == [500, 10]  # the window's 500 held samples, then the new ones
    assert np.all(kept[0] == 1.0) and np.all(kept[1] == 2.0)
