"""What a trainer (or a test) can switch on the simulated kit while it runs, and the checks on it."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

ALLOWED_MAINS_HZ = (0, 50, 60)
SCENARIOS = ("rest", "mvc", "reps")


@dataclass(frozen=True, slots=True)
class Steering:
    """The switchable flags of a ``SimulatedKit`` (read ``kit.flags``, change via ``kit.steer``).

    - ``scenario``: "rest" | "mvc" | "reps"; requesting "mvc" (re)starts the protocol.
    - ``compensate``: target share drops (target 40 % MVC, synergists 65 % and leading by 60 ms).
    - ``cocontract``: antagonists work with the target (``RepProfile.cocontracting_antagonist``).
    - ``left_deficit_pct``: activation of every left-side sensor scaled by ``1 - pct/100``.
    - ``fatigue``: fatigue builds over ``fatigue_time_s`` (amplitude ×1.25, spectrum ×0.7 at
      full fatigue) and recovers twice as fast when switched off.
    - ``mains_hz`` (0, 50, 60), ``mains_uv`` (RMS at the fundamental), ``mains_sensor`` (None = all
      sensors, or one sensor id): additive hum with harmonics.
    - ``electrode_pop``: True (first sensor) or a sensor id; one step transient, then clears.
    - ``drop_packets``: probability per block and sensor that the block is lost.
    - ``clip_uv``: saturate samples at ±value (None = no clipping).
    - ``lost_sensor``: a sensor id whose link is down (nothing delivered, reported disconnected);
      back to None and it reconnects, its first block reporting the samples lost meanwhile.
    """

    scenario: str = "rest"
    compensate: bool = False
    cocontract: bool = False
    left_deficit_pct: float = 0.0
    fatigue: bool = False
    mains_hz: int = 0
    mains_uv: float = 20.0
    mains_sensor: str | None = None
    electrode_pop: bool | str = False
    drop_packets: float = 0.0
    clip_uv: float | None = None
    lost_sensor: str | None = None


def steered(current: Steering, flags: dict[str, object], sensor_ids: set[str]) -> Steering:
    """``current`` with ``flags`` changed; unknown names or bad values raise ``ValueError`` naming the
    flag and what is allowed."""
    known = {f.name for f in dataclasses.fields(Steering)}
    clean: dict[str, object] = {}
    for name, value in flags.items():
        if name not in known:
            raise ValueError(f"unknown steering flag {name!r}; allowed: {sorted(known)}")
        clean[name] = _validate(name, value, sensor_ids)
    return dataclasses.replace(current, **clean)


def _validate(name: str, value: object, ids: set[str]) -> object:
    def bad(allowed: str) -> ValueError:
        return ValueError(f"steering flag {name}={value!r} not allowed; allowed: {allowed}")

    if name == "scenario":
        if value not in SCENARIOS:
            raise bad(str(SCENARIOS))
        return value
    if name in ("compensate", "cocontract", "fatigue"):
        if not isinstance(value, bool | np.bool_):
            raise bad("True or False")
        return bool(value)
    if name == "left_deficit_pct":
        if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value < 100:
            raise bad("a number 0 <= pct < 100")
        return float(value)
    if name == "mains_hz":
        if isinstance(value, bool) or value not in ALLOWED_MAINS_HZ:
            raise bad(str(ALLOWED_MAINS_HZ))
        return int(value)  # type: ignore[arg-type]
    if name == "mains_uv":
        if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
            raise bad("a number >= 0 (µV RMS)")
        return float(value)
    if name in ("mains_sensor", "lost_sensor"):
        if value is not None and value not in ids:
            raise bad(f"None or one of {sorted(ids)}")
        return value
    if name == "electrode_pop":
        if value is True or value is False or value in ids:
            return value
        raise bad(f"True, False or one of {sorted(ids)}")
    if name == "drop_packets":
        if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value < 1:
            raise bad("a probability 0 <= p < 1")
        return float(value)
    if name == "clip_uv":
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
            raise bad("None or a number > 0 (µV)")
        return float(value)
    raise AssertionError(name)  # pragma: no cover
