"""Whether an exercise can be measured with the sensors placed, and why a set found no rep — said
before and after a set, in words a trainer acts on."""

from __future__ import annotations

from coach_tui.domain.exercises import Exercise


def unmeasured(exercise: Exercise, placed: set[str]) -> list[str]:
    """What ``exercise`` cannot measure with sensors on the ``placed`` muscles (empty: everything)."""
    notes = []
    if exercise.target not in placed:
        notes.append(f"{exercise.name}'s target, the {exercise.target.replace('_', ' ')}, has no sensor: "
                     "no reps can be counted")
    if exercise.synergists and not placed & set(exercise.synergists):
        names = ", ".join(m.replace("_", " ") for m in exercise.synergists)
        notes.append(f"no sensor on a synergist ({names}): no target share")
    return notes


def why_no_reps(exercise: Exercise, placed: set[str], seconds: float, first_s: float) -> str:
    """Why a set of ``seconds`` found no rep (reps are looked for after its first ``first_s``)."""
    target = exercise.target.replace("_", " ")
    if exercise.target not in placed:
        return f"no sensor on the {target}, the target of {exercise.name}: place one (p)"
    if seconds < first_s + 1.0:
        return f"the set was too short ({seconds:.1f} s): reps are looked for after its first {first_s:.1f} s"
    return (f"the {target} never rose and fell clearly as in a rep — check its electrodes (p) and that the "
            f"exercise is {exercise.name} (x)")
