"""Steering the simulated kit from the live screen (F4–F9), so a demo shows every alert."""

from __future__ import annotations

from coach_tui.domain.exercises import Exercise


def steer_demo(kit, what: str, exercise: Exercise, placed: set[str]) -> str:
    """Toggle ``what`` on the simulated ``kit`` (the client doing ``exercise`` with sensors on the
    ``placed`` muscles); returns what changed, in words."""
    flags = kit.flags
    first = kit.sensors[0].sensor_id
    if what == "compensate":
        kit.steer(compensate=not flags.compensate)
        return "client compensates (synergist does the work)" if not flags.compensate else "compensation off"
    if what == "cocontract":
        if not placed & set(exercise.antagonists):
            muscles = " or ".join(m.replace("_", " ") for m in exercise.antagonists) or "none for this exercise"
            return (f"no antagonist sensor placed ({muscles}): co-contraction needs one — place one (p; more "
                    "sensors: [simulation] sensors = 8 in config.toml)")
        kit.steer(cocontract=not flags.cocontract)
        return "antagonist co-contracts" if not flags.cocontract else "co-contraction off"
    if what == "left_deficit":
        kit.steer(left_deficit_pct=0.0 if flags.left_deficit_pct else 30.0)
        return "left side 30 % weaker" if not flags.left_deficit_pct else "left deficit off"
    if what == "fatigue":
        kit.steer(fatigue=not flags.fatigue)
        return "fatigue building" if not flags.fatigue else "fatigue off (recovering)"
    if what == "electrode_pop":
        kit.steer(electrode_pop=first)
        return f"electrode pop on {first}"
    if what == "drop_sensor":
        kit.steer(lost_sensor=None if flags.lost_sensor else first)
        return f"{first} lost" if not flags.lost_sensor else f"{first} reconnected"
    raise ValueError(f"unknown simulated condition {what!r}")
