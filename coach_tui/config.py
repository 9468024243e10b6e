"""The one configuration object, loaded from ``config.toml``, and where coach-tui keeps things.

Which config file, first found:

1. ``coach --config PATH``;
2. ``./config.toml`` in the working folder (a clone of the repository has one);
3. ``config.toml`` in the user config folder (platformdirs: ``$XDG_CONFIG_HOME/coach-tui``, i.e.
   ``~/.config/coach-tui`` on Linux; ``~/Library/Application Support/coach-tui`` on macOS);
4. none: the reference file shipped inside the package (the repository's ``config.toml``) gives
   the defaults.

Where clients and recordings are kept (the sessions folder), first found:

1. the environment variable ``COACH_SESSIONS``;
2. ``sessions_dir`` of the config file in use, relative to that file (a clone's ``config.toml``
   says ``sessions``: the repository's ``sessions/``);
3. ``sessions`` in the user data folder (``$XDG_DATA_HOME/coach-tui``, i.e.
   ``~/.local/share/coach-tui`` on Linux).

Nothing is ever kept inside the installed package: the shipped reference's own ``sessions_dir``
is not used, and a sessions folder inside the package is refused. The log file lives in the user
log folder (``$XDG_STATE_HOME/coach-tui/log`` on Linux). ``coach paths`` prints all three and why.

Every key is optional: a missing key takes the reference default. Unknown keys and bad values are
refused with the key's name, the value and what is allowed.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from coach_tui.domain.abtest import ABPlanSettings
from coach_tui.domain.channels import ChannelAssignment, parse_channel_spec
from coach_tui.domain.progression import ProgressionSettings
from coach_tui.domain.settings_tables import SettingsError as ConfigError
from coach_tui.domain.settings_tables import build, refuse_broken, replace_in
from coach_tui.dsp.analysis_settings import ANALYSIS_TABLES, AnalysisSettings, analysis_rules, refuse_retired
from coach_tui.dsp.mvc import MvcSettings
from coach_tui.statistics.ab_statistics import ABSettings

APP_NAME = "coach-tui"
PACKAGE_DIR = Path(__file__).parent
REFERENCE_CONFIG = PACKAGE_DIR / "reference_config.toml"
LOG_NAME = "coach.log"


def user_config_dir() -> Path:
    """The user config folder (platformdirs)."""
    import platformdirs

    return platformdirs.user_config_path(APP_NAME, appauthor=False)


def user_data_dir() -> Path:
    """The user data folder (platformdirs); the default sessions folder is ``sessions`` in it."""
    import platformdirs

    return platformdirs.user_data_path(APP_NAME, appauthor=False)


def log_file() -> Path:
    """The log file, in the user log folder (platformdirs)."""
    import platformdirs

    return platformdirs.user_log_path(APP_NAME, appauthor=False) / LOG_NAME


def _is_packaged(path: Path) -> bool:
    """True for a file inside the installed package (the shipped reference config)."""
    where = Path(os.path.abspath(path))
    return where == Path(os.path.abspath(REFERENCE_CONFIG)) or Path(os.path.abspath(PACKAGE_DIR)) in where.parents


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
    #: Why this config file and this sessions folder (``coach paths`` says it).
    path_reason: str = "given"
    sessions_reason: str = "given"
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
    return _find_config(explicit)[0]


def _find_config(explicit: str | os.PathLike | None) -> tuple[Path, str]:
    """The config file and why it is the one."""
    if explicit is not None:
        path = Path(explicit)
        try:
            found = path.is_file()
        except OSError as error:  # e.g. a folder on the way that this user may not open
            raise ConfigError(f"{path}: cannot read the config file ({error.strerror})") from None
        if not found:
            raise ConfigError(f"{path}: config file not found")
        return path, "given with --config"
    local = Path("config.toml")
    if local.is_file():
        return local, "config.toml in the working folder"
    user = user_config_dir() / "config.toml"
    if user.is_file():
        return user, "the user config folder"
    return REFERENCE_CONFIG, f"no config.toml in the working folder or in {user.parent}: the defaults"


def _validate(path: Path, config: Config) -> None:
    """Refuse values the code could load but not use, naming the key, the value and what is allowed."""
    mvc, sim = config.mvc, config.simulation
    refuse_broken(str(path), analysis_rules(config.analysis) + [
        ("mvc.window_ms", mvc.window_ms, mvc.window_ms > 0, "a positive number"),
        ("peak.max_window_ms", config.analysis.peak.max_window_ms, config.analysis.peak.max_window_ms == mvc.window_ms,
         f"the MVC reference's window, mvc.window_ms = {mvc.window_ms:g} (a held rep is measured like the reference)"),
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
        kinds = {PROFILES[profile].channel_kind(c): c for c, a in enumerate(assigned) if a is not None}
        if len(kinds) > 1:  # one sensor's channels are read as raw EMG or as its envelope, not both
            raise ConfigError(f"{where}: channels: a {profile} sensor sends its envelope on channel "
                              f"{kinds['envelope'] + 1} and its raw signal on channel {kinds['raw'] + 1} — "
                              "name the muscle on one of them (\"\" for the other)")
        if sensor_id in {e.id for e in entries}:
            raise ConfigError(f"{where}: id = {sensor_id!r} is used twice; give each sensor its own id")
        entries.append(SensorEntry(sensor_id, profile, table.get("address"), table.get("name"), assigned, adapter))
    return tuple(entries)


def _sessions_dir(path: Path, document: dict) -> tuple[Path, str]:
    """The sessions folder and why, by the precedence in this module's docstring."""
    override = os.environ.get("COACH_SESSIONS")
    sessions = document.get("sessions_dir")
    if sessions is not None and (not isinstance(sessions, str) or not sessions):
        raise ConfigError(f"{path}: sessions_dir = {sessions!r}: must be a folder path")
    if override:
        chosen, reason = Path(override), "the environment variable COACH_SESSIONS"
    elif sessions is not None and not _is_packaged(path):
        chosen, reason = path.parent / sessions, f"sessions_dir in {path}"
    else:
        chosen, reason = user_data_dir() / "sessions", "the user data folder (the config sets no sessions_dir)"
    inside = Path(os.path.abspath(PACKAGE_DIR))
    if Path(os.path.abspath(chosen)) == inside or inside in Path(os.path.abspath(chosen)).parents:
        raise ConfigError(f"{chosen}: the sessions folder ({reason}) is inside the installed coach-tui package, "
                          "which an upgrade would delete; choose a folder of your own")
    return chosen, reason


def load_config(explicit: str | os.PathLike | None = None) -> Config:
    """Load and validate the config file chosen by ``find_config``."""
    path, path_reason = _find_config(explicit)
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{path}: not valid TOML ({error})") from None
    except OSError as error:
        raise ConfigError(f"{path}: cannot read ({error.strerror})") from None
    refuse_retired(str(path), document)
    allowed = {"sessions_dir", "exercises", "keymap", "sensors", *SECTIONS}
    unknown = sorted(set(document) - allowed)
    if unknown:
        raise ConfigError(f"{path}: unknown key {unknown[0]}; allowed: {', '.join(sorted(allowed))}")
    sessions_dir, sessions_reason = _sessions_dir(path, document)
    config = Config(path=path, sessions_dir=sessions_dir, path_reason=path_reason, sessions_reason=sessions_reason)
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
    return config
