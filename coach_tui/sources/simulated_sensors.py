"""Who wears the simulated kit: its sensors, each on one muscle and side with a role in the exercise."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

ROLES = ("target", "synergist", "antagonist")
SIDES = ("L", "R")

#: Typical MVC amplitudes (µV RMS) per muscle before the kit's ±10 % per-muscle variation.
TYPICAL_MVC_UV: dict[str, float] = {
    "glute_max": 400.0,
    "glute_med": 350.0,
    "hamstrings": 350.0,
    "erector_spinae": 300.0,
    "rectus_femoris": 450.0,
    "vastus_lateralis": 450.0,
    "gastrocnemius": 350.0,
    "biceps": 500.0,
    "triceps": 450.0,
}
DEFAULT_MVC_UV = 400.0


@dataclass(frozen=True, slots=True)
class SimulatedSensor:
    """One simulated single-channel sensor on one muscle and side.

    ``role`` is the muscle's role in the simulated exercise: "target", "synergist" or
    "antagonist". ``mvc_uv`` overrides the kit's MVC amplitude for this sensor (µV RMS).
    """

    sensor_id: str
    muscle: str
    side: str
    role: str
    mvc_uv: float | None = None


def _sensor(muscle: str, side: str, role: str) -> SimulatedSensor:
    return SimulatedSensor(f"sim-{muscle}-{side}", muscle, side, role)


#: The full 8-sensor hip-thrust kit; the default kit is the first 4.
DEFAULT_SENSORS: tuple[SimulatedSensor, ...] = (
    _sensor("glute_max", "L", "target"),
    _sensor("glute_max", "R", "target"),
    _sensor("hamstrings", "L", "synergist"),
    _sensor("hamstrings", "R", "synergist"),
    _sensor("erector_spinae", "L", "synergist"),
    _sensor("erector_spinae", "R", "synergist"),
    _sensor("rectus_femoris", "L", "antagonist"),
    _sensor("rectus_femoris", "R", "antagonist"),
)


def sensors_for_exercise(
    target: str, synergists: tuple[str, ...], antagonists: tuple[str, ...], count: int
) -> list[SimulatedSensor]:
    """A kit of ``count`` sensors (2–8, pairs) on an exercise's muscles: target, synergists, antagonists."""
    muscles = [(target, "target")] + [(m, "synergist") for m in synergists] + [(m, "antagonist") for m in antagonists]
    chosen = muscles[: max(1, count // 2)]
    return [_sensor(muscle, side, role) for muscle, role in chosen for side in SIDES]


def resolve_sensors(sensors: Sequence[SimulatedSensor] | int | None) -> list[SimulatedSensor]:
    """The kit's sensors: a list as given (checked), or the first n of ``DEFAULT_SENSORS`` (default 4)."""
    if sensors is None:
        sensors = 4
    if isinstance(sensors, int):
        if not 2 <= sensors <= len(DEFAULT_SENSORS):
            raise ValueError(f"sensor count {sensors} not supported; allowed 2..{len(DEFAULT_SENSORS)}")
        return list(DEFAULT_SENSORS[:sensors])
    specs = list(sensors)
    if not 2 <= len(specs) <= 8:
        raise ValueError(f"{len(specs)} sensors not supported; allowed 2..8")
    ids = [s.sensor_id for s in specs]
    if len(set(ids)) != len(ids):
        raise ValueError(f"duplicate sensor ids: {ids}")
    for s in specs:
        if s.role not in ROLES:
            raise ValueError(f"sensor {s.sensor_id}: role={s.role!r}; allowed: {ROLES}")
        if s.side not in SIDES:
            raise ValueError(f"sensor {s.sensor_id}: side={s.side!r}; allowed: {SIDES}")
    return specs
