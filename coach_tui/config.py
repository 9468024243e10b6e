"""The one configuration object, loaded from ``config.toml``.

Which file: ``coach --config PATH`` if given, else ``./config.toml``, else
``$XDG_CONFIG_HOME/coach-tui/config.toml`` (``~/.config/coach-tui/config.toml``), else the reference
file shipped with the package (the repository's ``config.toml``). Every key is optional: a missing
key takes the reference default. Unknown keys and bad values are refused with the key's name, the
value and what is allowed. ``sessions_dir`` is relative to the config file; the environment
variable ``COACH_SESSIONS`` overrides it.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from coach_tui.domain.abtest import ABPlanSettings
from coach_tui.domain.channels import ChannelAssignment, parse_channel_spec
from coach_tui.domain.hysteresis_alert import AlertRule
from coach_tui.domain.progression import ProgressionSettings
from coach_tui.domain.settings_tables import SettingsError as ConfigError
from coach_tui.domain.settings_tables import build, refuse_broken, replace_in
from coach_tui.dsp.analysis_settings import ANALYSIS_TABLES, MAINS_CHOICES, AnalysisSettings, analysis_rules
from coach_tui.dsp.mvc import MvcSettings
from coach_tui.statistics.ab_statistics import ABSettings

REFERENCE_CONFIG = Path(__file__).with_name("reference_config.toml")


@dataclass(frozen=True, slots=True)
class SimulationSettings:
    """The simulated sensor kit used when no sensors are configured (or with ``--simulate``)."""

    sensors: int = 4
    fs_hz: int = 2000
    seed: int = 1
    realtime: bool = True


@dataclass(frozen=True, slots=True)
class CheckSettings:
    """The pre-session check."""

    seconds: float = 2.0


@dataclass(frozen=True, slots=True)
class CalibrationSettings:
    """When a calibration should be redone."""

    max_age_days: float = 28.0


@dataclass(frozen=True, slots=True)
class VisitSettings:
    """When a client's sets belong to one session (a visit)."""

    idle_gap_minutes: float = 60.0


@dataclass(frozen=True, slots=True)
class SensorEntry:
    """One ``[[sensors]]`` entry: a Bluetooth sensor, its profile, the muscle on each channel, and
    the Bluetooth adapter that connects it (None: the system's default)."""

    id: str
    profile: str
    address: str | None
    name: str | None
    channels: tuple[ChannelAssignment | None, ...]
    adapter: str | None = None


@dataclass(frozen=True, slots=True)
class Config:
    """Everything the console reads from ``config.toml``."""

    path: Path
    sessions_dir: Path
    analysis: AnalysisSettings = field(default_factory=AnalysisSettings)
    mvc: MvcSettings = field(default_factory=MvcSettings)
    simulation: SimulationSettings = field(default_factory=SimulationSettings)
    check: CheckSettings = field(default_factory=CheckSettings)
    calibration: CalibrationSettings = field(default_factory=CalibrationSettings)
    visits: VisitSettings = field(default_factory=VisitSettings)
    progression: ProgressionSettings = field(default_factory=ProgressionSettings)
    ab_statistics: ABSettings = field(default_factory=ABSettings)
    ab_plan: ABPlanSettings = field(default_factory=ABPlanSettings)
    sensors: tuple[SensorEntry, ...] = ()
    #: ``[[exercises]]`` tables adding to (or replacing in) the packaged exercise library.
    exercises: tuple[dict, ...] = ()
    #: ``[keymap]``: binding id → keys (comma-separated), e.g. ``"live.set" = "space,enter"``.
    keymap: tuple[tuple[str, str], ...] = ()


#: TOML table → (where it lives in Config, its dataclass).
SECTIONS: dict[str, tuple[tuple[str, ...], type]] = {
    **{name: (("analysis", *where), cls) for name, (where, cls) in ANALYSIS_TABLES.items()},
    "mvc": (("mvc",), MvcSettings),
    "simulation": (("simulation",), SimulationSettings),
    "check": (("check",), CheckSettings),
    "calibration": (("calibration",), CalibrationSettings),
    "visits": (("visits",), VisitSettings),
    "progression": (("progression",), ProgressionSettings),
    "ab_statistics": (("ab_statistics",), ABSettings),
    "ab_plan": (("ab_plan",), ABPlanSettings),
}


def find_config(explicit: str | os.PathLike | None = None) -> Path:
    """The config file to use, by the precedence in this module's docstring."""
    if explicit is not None:
        path = Path(explicit)
        if not path.is_file():
            raise ConfigError(f"{path}: config file not found")
        return path
    user_dir = Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")
    for candidate in (Path("config.toml"), user_dir / "coach-tui" / "config.toml"):
        if candidate.is_file():
            return candidate
    return REFERENCE_CONFIG


def _validate(path: Path, config: Config) -> None:
    """Refuse values the code could load but not use, naming the key, the value and what is allowed."""
    mvc, sim = config.mvc, config.simulation
    refuse_broken(str(path), analysis_rules(config.analysis) + [
        ("mvc.window_ms", mvc.window_ms, mvc.window_ms > 0, "a positive number"),
        ("mvc.trials", mvc.trials, 1 <= mvc.trials <= 10, "1 to 10"),
        ("mvc.trial_seconds", mvc.trial_seconds, mvc.trial_seconds >= mvc.window_ms / 1000,
         "at least the window (mvc.window_ms)"),
        ("mvc.baseline_seconds", mvc.baseline_seconds, mvc.baseline_seconds >= 1, "at least 1"),
        ("simulation.fs_hz", sim.fs_hz, sim.fs_hz in (1000, 2000), "1000, 2000"),
        ("simulation.sensors", sim.sensors, 2 <= sim.sensors <= 8, "2 to 8"),
        ("check.seconds", config.check.seconds, config.check.seconds > 0, "a positive number"),
        ("calibration.max_age_days", config.calibration.max_age_days, config.calibration.max_age_days > 0,
         "a positive number"),
        ("visits.idle_gap_minutes", config.visits.idle_gap_minutes, config.visits.idle_gap_minutes > 0,
         "a positive number of minutes"),
    ])


def _keymap(path: Path, table) -> tuple[tuple[str, str], ...]:
    """``[keymap]`` entries: binding ids to key names (checked against the bindings by the console)."""
    if not isinstance(table, dict) or not all(isinstance(k, str) and isinstance(v, str) and v for k, v in table.items()):
        raise ConfigError(f"{path}: keymap = {table!r}: must be a table of \"binding.id\" = \"keys\"")
    return tuple(sorted(table.items()))


def _exercises(path: Path, tables) -> tuple[dict, ...]:
    """``[[exercises]]`` entries, checked against the muscle list by the exercise library."""
    from coach_tui.domain.exercises import exercise_library

    if not isinstance(tables, list) or not all(isinstance(t, dict) for t in tables):
        raise ConfigError(f"{path}: exercises must be [[exercises]] tables")
    try:
        exercise_library(tables)
    except (ValueError, KeyError) as error:
        raise ConfigError(f"{path}: [[exercises]]: {error}") from None
    return tuple(tables)


SENSOR_KEYS = ("id", "profile", "address", "name", "adapter", "channels")


def _sensors(path: Path, tables) -> tuple[SensorEntry, ...]:
    """``[[sensors]]`` entries: id, profile, address or name, adapter, and one "muscle:side" per
    channel."""
    from coach_tui.domain.muscles import MUSCLES
    from coach_tui.sources.ble.profiles import PROFILES

    if not isinstance(tables, list) or not all(isinstance(t, dict) for t in tables):
        raise ConfigError(f"{path}: sensors must be [[sensors]] tables")
    entries: list[SensorEntry] = []
    for n, table in enumerate(tables, start=1):
        where = f"{path}: [[sensors]] #{n}"
        unknown = sorted(set(table) - set(SENSOR_KEYS))
        if unknown:
            raise ConfigError(f"{where}: unknown key {unknown[0]}; allowed: {', '.join(SENSOR_KEYS)}")
        for key in SENSOR_KEYS:
            value = table.get(key)
            if value is not None and key != "channels" and not (isinstance(value, str) and value.strip()):
                raise ConfigError(f"{where}: {key} = {value!r}: must be a non-empty string")
        adapter = table.get("adapter")
        if adapter is not None and not (adapter.startswith("hci") and adapter[3:].isascii() and adapter[3:].isdigit()):
            raise ConfigError(f"{where}: adapter = {adapter!r}: must be a Bluetooth adapter name like \"hci1\" "
                              "(bluetoothctl list shows them; leave it out for the default adapter)")
        sensor_id = table.get("id") or f"s{n}"
        profile = table.get("profile")
        if profile not in PROFILES:
            raise ConfigError(f"{where}: profile = {profile!r}: allowed {', '.join(PROFILES)}")
        channels = table.get("channels")
        if not isinstance(channels, list) or not channels or not all(isinstance(c, str) for c in channels):
            raise ConfigError(f"{where}: channels = {channels!r}: must be a list like [\"glute_max:L\"], "
                              f"one \"muscle:side\" per channel (\"\" for an unused one)")
        expected = PROFILES[profile].channels
        if expected is not None and len(channels) != expected:
            raise ConfigError(f"{where}: channels has {len(channels)} entries; a {profile} sensor has {expected} channels")
        try:
            assigned = tuple(parse_channel_spec(",".join(c or "skip" for c in channels), len(channels)))
        except ValueError as error:
            raise ConfigError(f"{where}: channels: {error}".replace("--channels ", "")) from None
        for a in assigned:
            if a is not None and a.muscle not in MUSCLES:
                raise ConfigError(f"{where}: channels: unknown muscle {a.muscle!r}; see coach_tui/domain/muscles.py")
        if all(a is None for a in assigned):
            raise ConfigError(f"{where}: channels: name the muscle of at least one channel")
        if sensor_id in {e.id for e in entries}:
            raise ConfigError(f"{where}: id = {sensor_id!r} is used twice; give each sensor its own id")
        entries.append(SensorEntry(sensor_id, profile, table.get("address"), table.get("name"), assigned, adapter))
    return tuple(entries)


def load_config(explicit: str | os.PathLike | None = None) -> Config:
    """Load and validate the config file chosen by ``find_config``."""
    path = find_config(explicit)
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{path}: not valid TOML ({error})") from None
    except OSError as error:
        raise ConfigError(f"{path}: cannot read ({error.strerror})") from None
    allowed = {"sessions_dir", "exercises", "keymap", "sensors", *SECTIONS}
    unknown = sorted(set(document) - allowed)
    if unknown:
        raise ConfigError(f"{path}: unknown key {unknown[0]}; allowed: {', '.join(sorted(allowed))}")
    sessions = document.get("sessions_dir", "sessions")
    if not isinstance(sessions, str) or not sessions:
        raise ConfigError(f"{path}: sessions_dir = {sessions!r}: must be a folder path")
    config = Config(path=path, sessions_dir=path.parent / sessions)
    for section, (where, cls) in SECTIONS.items():
        if section in document:
            config = replace_in(config, where, build(str(path), section, cls, document[section]))
    if "keymap" in document:
        config = replace_in(config, ("keymap",), _keymap(path, document["keymap"]))
    if "exercises" in document:
        config = replace_in(config, ("exercises",), _exercises(path, document["exercises"]))
    if "sensors" in document:
        config = replace_in(config, ("sensors",), _sensors(path, document["sensors"]))
    _validate(path, config)
    override = os.environ.get("COACH_SESSIONS")
    if override:
        config = replace_in(config, ("sessions_dir",), Path(override))
    return config
