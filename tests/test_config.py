"""config.toml: the reference equals the code defaults, which file is used, COACH_SESSIONS, and every
refusal naming the file, the key, the value and what is allowed."""

from __future__ import annotations

import tomllib
from dataclasses import fields, replace
from pathlib import Path

import pytest
from conftest import ROOT

from coach_tui.config import (
    REFERENCE_CONFIG,
    SECTIONS,
    CheckSettings,
    Config,
    ConfigError,
    SimulationSettings,
    find_config,
    load_config,
)
from coach_tui.dsp.mvc import MvcSettings
from coach_tui.dsp.analysis_settings import MAINS_CHOICES, AnalysisSettings
from coach_tui.dsp.settings import FilterSettings

pytestmark = pytest.mark.usefixtures("isolated")

REPO_CONFIG = ROOT / "config.toml"




def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def refusal(tmp_path: Path, text: str) -> str:
    """The one-line message ``load_config`` refuses ``text`` with; it names the file."""
    path = write(tmp_path / "bad.toml", text)
    with pytest.raises(ConfigError) as error:
        load_config(path)
    message = str(error.value)
    assert "\n" not in message
    assert message.startswith(f"{path}: ")
    return message


# --- the reference config ----------------------------------------------------------------------


def test_reference_config_equals_the_code_defaults():
    config = load_config(REPO_CONFIG)
    assert isinstance(config, Config)
    assert config.path == REPO_CONFIG
    assert config.analysis == AnalysisSettings()
    assert config.mvc == MvcSettings()
    assert config.simulation == SimulationSettings()
    assert config.check == CheckSettings()
    assert config.sessions_dir == ROOT / "sessions"


def test_reference_config_documents_every_key():
    document = tomllib.loads(REPO_CONFIG.read_text(encoding="utf-8"))
    assert set(document) == {"sessions_dir", *SECTIONS}
    for section, (_, cls) in SECTIONS.items():
        assert set(document[section]) == {f.name for f in fields(cls)}, section


def test_packaged_reference_is_the_repo_config():
    assert REFERENCE_CONFIG.is_file()
    assert REFERENCE_CONFIG.read_text(encoding="utf-8") == REPO_CONFIG.read_text(encoding="utf-8")
    packaged = load_config(REFERENCE_CONFIG)
    repo = load_config(REPO_CONFIG)
    assert (packaged.analysis, packaged.mvc, packaged.simulation, packaged.check) == (
        repo.analysis, repo.mvc, repo.simulation, repo.check,
    )


def test_empty_file_gives_every_default(tmp_path, user_folders):
    path = write(tmp_path / "cfg" / "empty.toml", "")
    config = load_config(path)
    assert config.analysis == AnalysisSettings()
    assert (config.mvc, config.simulation, config.check) == (MvcSettings(), SimulationSettings(), CheckSettings())
    # no sessions_dir: the user data folder, as for an installed CLI (not beside the config file)
    assert config.sessions_dir == user_folders / "data" / "coach-tui" / "sessions"


def test_partial_config_keeps_defaults_for_missing_keys(tmp_path):
    path = write(tmp_path / "partial.toml", "[filters]\norder = 2\n\n[check]\nseconds = 5\n")
    config = load_config(path)
    defaults = AnalysisSettings()
    expected_filters = replace(defaults.dsp.filters, order=2)
    assert config.analysis == replace(defaults, dsp=replace(defaults.dsp, filters=expected_filters))
    assert config.analysis.dsp.filters.band_hz == FilterSettings().band_hz
    assert config.check.seconds == 5.0 and isinstance(config.check.seconds, float)
    assert config.simulation == SimulationSettings()
    assert config.mvc == MvcSettings()


def test_values_take_the_fields_types(tmp_path):
    path = write(
        tmp_path / "types.toml",
        '[envelope]\nwindow_ms = 50\n[quality]\nnoise_uv = [10, 30]\n[filters]\nmains = "60"\n',
    )
    config = load_config(path)
    assert config.analysis.dsp.envelope.window_ms == 50.0
    assert isinstance(config.analysis.dsp.envelope.window_ms, float)
    assert config.analysis.quality.noise_uv == (10.0, 30.0)
    assert all(isinstance(v, float) for v in config.analysis.quality.noise_uv)
    assert config.analysis.dsp.filters.mains == "60"


@pytest.mark.parametrize("mains", MAINS_CHOICES)
def test_every_mains_choice_is_accepted(tmp_path, mains):
    path = write(tmp_path / "mains.toml", f'[filters]\nmains = "{mains}"\n')
    assert load_config(path).analysis.dsp.filters.mains == mains


# --- refusals ----------------------------------------------------------------------------------


def test_unknown_top_level_key_is_refused_listing_the_allowed(tmp_path):
    message = refusal(tmp_path, 'sessions_dir = "s"\nsesions = "typo"\n')
    assert "unknown key sesions" in message
    assert "allowed:" in message
    for allowed in ("sessions_dir", *SECTIONS):
        assert allowed in message


def test_unknown_key_in_a_section_is_refused_listing_the_allowed(tmp_path):
    message = refusal(tmp_path, "[filters]\norder = 4\nbogus = 1\n")
    assert "unknown key filters.bogus" in message
    allowed = message.split("allowed:", 1)[1]
    assert {name.strip() for name in allowed.split(",")} == {f.name for f in fields(FilterSettings)}


@pytest.mark.parametrize(
    ("text", "phrases"),
    [
        # wrong type
        ('[filters]\norder = "four"\n', ["filters.order", "'four'", "whole number"]),
        ('[envelope]\nwindow_ms = "100"\n', ["envelope.window_ms", "'100'", "must be a number"]),
        ("[check]\nseconds = true\n", ["check.seconds", "True", "number"]),
        ("[simulation]\nfs_hz = 2000.0\n", ["simulation.fs_hz", "2000.0", "whole number"]),
        ('[filters]\nmains = ["50"]\n', ["filters.mains", "['50']", "string"]),
        # list of the wrong length or not a list
        ("[filters]\nband_hz = [20.0]\n", ["filters.band_hz", "[20.0]", "list of 2 numbers"]),
        ("[filters]\nband_hz = [20.0, 450.0, 900.0]\n", ["filters.band_hz", "900.0", "list of 2 numbers"]),
        ("[quality]\nnoise_uv = 20.0\n", ["quality.noise_uv", "20.0", "list of 2 numbers"]),
        ('[quality]\nnoise_uv = [20.0, "x"]\n', ["quality.noise_uv", "'x'", "number"]),
        # negative
        ("[filters]\nnotch_q = -3.0\n", ["filters.notch_q", "-3.0", "must not be negative"]),
        ("[quality]\nnoise_uv = [-1.0, 50.0]\n", ["quality.noise_uv", "-1.0", "must not be negative"]),
        ("[reps]\nmin_gap_ms = -400\n", ["reps.min_gap_ms", "-400", "must not be negative"]),
        # out of the allowed set or range
        ('[filters]\nmains = "55"\n', ["filters.mains", "'55'", "allowed", "auto, 50, 60, off"]),
        ("[simulation]\nfs_hz = 500\n", ["simulation.fs_hz", "500", "allowed 1000, 2000"]),
        ("[simulation]\nsensors = 9\n", ["simulation.sensors", "9", "2 to 8"]),
        ("[filters]\nband_hz = [450, 20]\n", ["filters.band_hz", "450", "20", "0 < low < high"]),
        ("[filters]\nband_hz = [0.0, 450.0]\n", ["filters.band_hz", "0 < low < high"]),
        # structure
        ("sessions_dir = 5\n", ["sessions_dir", "5", "folder path"]),
        ('sessions_dir = ""\n', ["sessions_dir", "''", "folder path"]),
        ("filters = 3\n", ["[filters]", "table"]),
        # the dataclasses' own range checks, named by section
        ("[ab_statistics]\nconfidence = 1.5\n", ["[ab_statistics]", "confidence", "1.5"]),
        ("[ab_plan]\nreps_per_set = 1\n", ["[ab_plan]", "reps_per_set", "1"]),
        ("[progression]\nsets = 0\n", ["[progression]", "sets", "0"]),
        # [[sensors]]
        ('[[sensors]]\nprofile = "polar"\nchannels = ["biceps:L"]\n', ["[[sensors]] #1", "'polar'", "coach_v1, "]),
        ('[[sensors]]\nprofile = "coach_v1"\n', ["[[sensors]] #1", "channels = None", "muscle:side"]),
        ('[[sensors]]\nprofile = "myo"\nchannels = ["biceps:L"]\n', ["channels has 1 entries", "myo sensor has 8"]),
        ('[[sensors]]\nprofile = "coach_v1"\nchannels = ["bicep:L"]\n', ["unknown muscle 'bicep'", "muscles.py"]),
        ('[[sensors]]\nprofile = "coach_v1"\nchannels = ["biceps:X"]\n', ["'biceps:X'", "muscle:L"]),
        ('[[sensors]]\nprofile = "coach_v1"\nchannels = ["biceps:L"]\nmac = "x"\n', ["unknown key mac", "address"]),
        ('[[sensors]]\nprofile = "coach_v1"\naddress = ""\nchannels = ["biceps:L"]\n', ["address = ''", "non-empty"]),
        ('[[sensors]]\nprofile = "coach_v1"\nadapter = "usb0"\nchannels = ["biceps:L"]\n',
         ["[[sensors]] #1", "adapter = 'usb0'", 'like "hci1"', "bluetoothctl list"]),
        ('[[sensors]]\nprofile = "coach_v1"\nadapter = "hci"\nchannels = ["biceps:L"]\n', ["adapter = 'hci'", 'like "hci1"']),
        ('[[sensors]]\nid = "a"\nprofile = "coach_v1"\nchannels = ["biceps:L"]\n'
         '[[sensors]]\nid = "a"\nprofile = "coach_v1"\nchannels = ["biceps:R"]\n', ["#2", "'a' is used twice"]),
        ('sensors = 3\n', ["sensors must be [[sensors]] tables"]),
        # a rep held like a trial is measured like the reference: one window for both
        ("[peak]\nmax_window_ms = 400.0\n", ["peak.max_window_ms", "400.0", "mvc.window_ms = 500"]),
        ("[fatigue]\nconfidence = 1.0\n", ["fatigue.confidence", "1.0", "below 1"]),
        ("[filters]\nnyquist_margin = 1.0\n", ["filters.nyquist_margin", "1.0", "below 1"]),
        # a key of an earlier version, with why it went
        ("[filters]\nfull_band_min_fs_hz = 1000.0\n", ["filters.full_band_min_fs_hz is no longer used",
                                                         "Nyquist", "nyquist_margin", "remove the key"]),
    ],
)
def test_bad_values_are_refused_naming_key_value_and_what_is_allowed(tmp_path, text, phrases):
    message = refusal(tmp_path, text)
    for phrase in phrases:
        assert phrase in message, f"{phrase!r} not in {message!r}"


def test_a_stored_recipe_with_a_retired_key_is_still_read():
    from coach_tui.dsp.analysis_settings import AnalysisSettings, analysis_settings_from_dict, analysis_settings_to_dict

    tables = analysis_settings_to_dict(AnalysisSettings())
    tables["filters"] = {**tables["filters"], "full_band_min_fs_hz": 1000.0}
    del tables["peak"]  # recorded before the peak estimator had settings
    assert analysis_settings_from_dict(tables) == AnalysisSettings()


def test_sensors_are_read_with_their_channels(tmp_path):
    from coach_tui.domain.channels import ChannelAssignment

    path = write(tmp_path / "c.toml", '''
[[sensors]]
id = "hips"
profile = "ganglion_fw3"
name = "Ganglion-1a2b"
adapter = "hci1"
channels = ["glute_max:L", "glute_max:R", "", "hamstrings:L"]

[[sensors]]
profile = "coach_v1"
address = "AA:BB:CC:DD:EE:FF"
channels = ["biceps"]
''')
    hips, second = load_config(path).sensors
    assert (hips.id, hips.profile, hips.name, hips.address, hips.adapter) == (
        "hips", "ganglion_fw3", "Ganglion-1a2b", None, "hci1")
    assert hips.channels == (ChannelAssignment("glute_max", "L"), ChannelAssignment("glute_max", "R"), None,
                             ChannelAssignment("hamstrings", "L"))
    assert (second.id, second.address, second.channels, second.adapter) == (
        "s2", "AA:BB:CC:DD:EE:FF", (ChannelAssignment("biceps"),), None)


def test_zero_envelope_window_is_refused(tmp_path):
    message = refusal(tmp_path, "[envelope]\nwindow_ms = 0\n")
    assert "envelope.window_ms" in message and "positive" in message


def test_zero_envelope_window_message_names_the_value(tmp_path):
    message = refusal(tmp_path, "[envelope]\nwindow_ms = 0\n")
    assert "= 0" in message


@pytest.mark.parametrize(
    "text",
    [
        "[fatigue]\noverlap = 1.0\n",  # scipy later fails: 'noverlap=500 must be less than nperseg=500!'
        "[filters]\norder = 0\n",  # a band-pass of order 0 does no filtering
        "[asymmetry_alert]\nconsecutive = 0\n",  # the alert is raised before any rep
    ],
)
def test_unusable_values_are_refused(tmp_path, text):
    refusal(tmp_path, text)


def test_invalid_toml_is_refused_naming_the_file(tmp_path):
    message = refusal(tmp_path, "[filters\norder = 4\n")
    assert "not valid TOML" in message
    assert "line 1" in message


def test_explicit_missing_file_is_refused(tmp_path):
    with pytest.raises(ConfigError, match="config file not found"):
        load_config(tmp_path / "nope.toml")
    with pytest.raises(ConfigError, match="config file not found"):
        load_config(tmp_path)  # a folder is not a config file


# --- sessions_dir and COACH_SESSIONS ---------------------------------------------------------------


def test_sessions_dir_is_relative_to_the_config_files_folder(tmp_path):
    path = write(tmp_path / "somewhere" / "deep" / "c.toml", 'sessions_dir = "data/clients"\n')
    assert load_config(path).sessions_dir == tmp_path / "somewhere" / "deep" / "data" / "clients"
    absolute = tmp_path / "elsewhere"
    path = write(tmp_path / "abs.toml", f'sessions_dir = "{absolute.as_posix()}"\n')
    assert load_config(path).sessions_dir == absolute


def test_coach_sessions_overrides_sessions_dir(tmp_path, monkeypatch):
    path = write(tmp_path / "c.toml", 'sessions_dir = "mine"\n')
    monkeypatch.setenv("COACH_SESSIONS", str(tmp_path / "override"))
    assert load_config(path).sessions_dir == tmp_path / "override"
    assert load_config(REPO_CONFIG).sessions_dir == tmp_path / "override"
    monkeypatch.setenv("COACH_SESSIONS", "")  # empty: no override
    assert load_config(path).sessions_dir == tmp_path / "mine"


def test_coach_sessions_does_not_hide_config_errors(tmp_path, monkeypatch):
    monkeypatch.setenv("COACH_SESSIONS", str(tmp_path / "override"))
    assert "sessions_dir" in refusal(tmp_path, "sessions_dir = 5\n")


# --- which file --------------------------------------------------------------------------------------


def _marked(path: Path, seconds: float) -> Path:
    return write(path, f'sessions_dir = "here"\n[check]\nseconds = {seconds}\n')


def test_precedence_working_folder_then_user_dir_then_reference(tmp_path, isolated):
    user = _marked(tmp_path / "xdg" / "coach-tui" / "config.toml", 9.0)
    local = _marked(isolated / "config.toml", 7.0)

    # ./config.toml first
    assert find_config().resolve() == local.resolve()
    config = load_config()
    assert config.check.seconds == 7.0
    assert config.sessions_dir.resolve() == (isolated / "here").resolve()

    # --config beats both
    explicit = _marked(tmp_path / "explicit.toml", 3.0)
    assert load_config(explicit).check.seconds == 3.0

    # then $XDG_CONFIG_HOME/coach-tui/config.toml
    local.unlink()
    assert find_config() == user
    config = load_config()
    assert config.check.seconds == 9.0
    assert config.sessions_dir == user.parent / "here"

    # then the packaged reference
    user.unlink()
    assert find_config() == REFERENCE_CONFIG
    config = load_config()
    assert config.path == REFERENCE_CONFIG
    assert config.check == CheckSettings() and config.analysis == AnalysisSettings()


def test_user_dir_defaults_to_dot_config_in_home(tmp_path, monkeypatch):
    monkeypatch.delenv("XDG_CONFIG_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    user = _marked(tmp_path / "home" / ".config" / "coach-tui" / "config.toml", 4.0)
    assert find_config() == user
    assert load_config().check.seconds == 4.0


def test_a_broken_working_folder_config_is_not_skipped(tmp_path, isolated):
    _marked(tmp_path / "xdg" / "coach-tui" / "config.toml", 9.0)
    write(isolated / "config.toml", "[check]\nseconds = -1.0\n")
    with pytest.raises(ConfigError, match=r"check\.seconds = -1\.0"):
        load_config()


# --- where an installed coach keeps things (issue 11) ------------------------------------------------


def test_the_shipped_reference_never_keeps_sessions_beside_itself(isolated, user_folders):
    from coach_tui.config import PACKAGE_DIR

    for config in (load_config(), load_config(REFERENCE_CONFIG)):
        assert config.path == REFERENCE_CONFIG
        assert config.sessions_dir == user_folders / "data" / "coach-tui" / "sessions"
        assert PACKAGE_DIR not in config.sessions_dir.parents
        assert "user data folder" in config.sessions_reason


def test_a_sessions_folder_inside_the_package_is_refused(tmp_path):
    from coach_tui.config import PACKAGE_DIR

    path = write(tmp_path / "c.toml", f'sessions_dir = "{(PACKAGE_DIR / "sessions").as_posix()}"\n')
    with pytest.raises(ConfigError, match="inside the installed coach-tui package"):
        load_config(path)


def test_each_choice_says_why(tmp_path, isolated, user_folders, monkeypatch):
    assert "defaults" in load_config().path_reason
    local = write(isolated / "config.toml", 'sessions_dir = "here"\n')
    config = load_config()
    assert config.path_reason == "config.toml in the working folder"
    assert config.sessions_reason == f"sessions_dir in {config.path}"
    assert load_config(local).path_reason == "given with --config"
    monkeypatch.setenv("COACH_SESSIONS", str(tmp_path / "elsewhere"))
    assert load_config().sessions_reason == "the environment variable COACH_SESSIONS"
    local.unlink()
    user = write(tmp_path / "xdg" / "coach-tui" / "config.toml", "")  # isolated's XDG_CONFIG_HOME
    assert load_config().path == user and load_config().path_reason == "the user config folder"
