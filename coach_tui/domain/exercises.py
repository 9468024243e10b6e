"""The exercise library: each exercise's target muscle, synergists and antagonists.

Synergists are listed most important first: the first one is the muscle that usually takes over when
the target does not work (hamstrings in a hip thrust), so it is the one the target share
``target / (target + synergist)`` is computed against by default. ``expected_target_share`` is the
share below which the console says the synergist is doing the work. Antagonists are the muscles whose
co-contraction with the target is worth watching (triceps in a biceps curl).

Config can add exercises or replace built-in ones (``[[exercises]]`` tables, see
:func:`exercise_library`); every muscle named must be in :data:`~coach_tui.domain.muscles.MUSCLES`.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

from coach_tui.domain.errors import UnknownNameError
from coach_tui.domain.muscles import MUSCLES
from coach_tui.domain.serialization import Record
from coach_tui.domain.validation import as_tuple, require_number, require_text

__all__ = ["EXERCISES", "Exercise", "exercise_library", "find_exercise", "normalise_name"]

_KEY = re.compile(r"[a-z0-9]+(_[a-z0-9]+)*")


@dataclass(frozen=True, slots=True)
class Exercise(Record):
    """An exercise and the muscles it works (keys of ``MUSCLES``)."""

    key: str
    name: str
    target: str
    synergists: tuple[str, ...] = ()
    antagonists: tuple[str, ...] = ()
    expected_target_share: float = 0.5

    def __post_init__(self) -> None:
        require_text("Exercise", "key", self.key)
        if not _KEY.fullmatch(self.key):
            raise ValueError(f"exercise key must be lower_case_with_underscores, got {self.key!r}")
        require_text("Exercise", "name", self.name)
        require_text("Exercise", "target", self.target)
        synergists = as_tuple(self, "synergists")
        antagonists = as_tuple(self, "antagonists")
        for role, keys in (("target", (self.target,)), ("synergist", synergists), ("antagonist", antagonists)):
            for key in keys:
                if key not in MUSCLES:
                    raise ValueError(
                        f"exercise {self.key!r}: unknown {role} muscle {key!r}; "
                        f"allowed muscles: {', '.join(sorted(MUSCLES))}"
                    )
        named = (self.target, *synergists, *antagonists)
        if len(set(named)) != len(named):
            raise ValueError(f"exercise {self.key!r}: a muscle is listed twice among target, synergists and "
                             f"antagonists ({', '.join(named)})")
        try:
            require_number("Exercise", "expected_target_share", self.expected_target_share,
                           low=0.0, high=1.0, low_open=True, high_open=True)
        except ValueError as exc:
            raise ValueError(f"exercise {self.key!r}: {exc}") from None

    @property
    def main_synergist(self) -> str | None:
        """The synergist the target share is computed against (the first listed), if any."""
        return self.synergists[0] if self.synergists else None


def _ex(key: str, name: str, target: str, synergists: tuple[str, ...] = (), antagonists: tuple[str, ...] = (),
        share: float = 0.5) -> Exercise:
    return Exercise(key, name, target, synergists, antagonists, share)


#: The built-in library, by key.
EXERCISES: dict[str, Exercise] = {e.key: e for e in (
    # Glutes and posterior chain
    _ex("hip_thrust", "Hip thrust", "glute_max", ("hamstrings", "erector_spinae"), ("rectus_femoris",), 0.6),
    _ex("glute_bridge", "Glute bridge", "glute_max", ("hamstrings", "erector_spinae"), ("rectus_femoris",), 0.6),
    _ex("cable_pull_through", "Cable pull-through", "glute_max", ("hamstrings", "erector_spinae"),
        ("rectus_femoris",), 0.55),
    _ex("bulgarian_split_squat", "Bulgarian split squat", "glute_max",
        ("vastus_lateralis", "glute_med", "adductor_longus", "vastus_medialis"), (), 0.45),
    _ex("back_squat", "Back squat", "vastus_lateralis",
        ("glute_max", "vastus_medialis", "adductor_longus", "erector_spinae"), ("hamstrings",), 0.5),
    _ex("romanian_deadlift", "Romanian deadlift", "hamstrings",
        ("glute_max", "erector_spinae", "semitendinosus"), ("rectus_femoris",), 0.5),
    _ex("deadlift", "Deadlift", "glute_max",
        ("erector_spinae", "hamstrings", "vastus_lateralis", "adductor_longus"), ("rectus_abdominis",), 0.45),
    # Lower-body isolation
    _ex("leg_extension", "Leg extension", "vastus_lateralis", ("vastus_medialis", "rectus_femoris"),
        ("hamstrings",), 0.5),
    _ex("hamstring_curl", "Hamstring curl", "hamstrings", ("gastrocnemius_medial", "semitendinosus"),
        ("rectus_femoris",), 0.6),
    _ex("copenhagen_plank", "Copenhagen plank", "adductor_longus", ("external_oblique", "rectus_abdominis"),
        ("glute_med",), 0.5),
    _ex("side_lying_clamshell", "Side-lying clamshell", "glute_med", ("glute_max",), ("adductor_longus",), 0.5),
    # Upper body
    _ex("lat_pulldown", "Lat pulldown", "latissimus_dorsi",
        ("biceps", "trapezius_middle", "rhomboids", "deltoid_posterior"), ("deltoid_middle",), 0.5),
    _ex("seated_row", "Seated row", "trapezius_middle",
        ("trapezius_upper", "rhomboids", "latissimus_dorsi", "biceps", "deltoid_posterior"),
        ("pectoralis_major",), 0.5),
    _ex("bench_press", "Bench press", "pectoralis_major", ("deltoid_anterior", "triceps"),
        ("deltoid_posterior",), 0.55),
    _ex("lateral_raise", "Lateral raise", "deltoid_middle", ("trapezius_upper", "deltoid_anterior"),
        ("latissimus_dorsi",), 0.6),
    _ex("biceps_curl", "Biceps curl", "biceps", ("deltoid_anterior",), ("triceps",), 0.7),
    _ex("triceps_pushdown", "Triceps pushdown", "triceps", ("latissimus_dorsi", "deltoid_posterior"),
        ("biceps",), 0.7),
)}

_ADDITION_KEYS = frozenset(f.name for f in fields(Exercise))


def normalise_name(text: str) -> str:
    """How names are compared: case-folded, without spaces, hyphens or underscores."""
    return re.sub(r"[\s_\-]+", "", text).casefold()


def _key_from_name(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", name.casefold()).strip("_")


def exercise_library(additions: list[Mapping[str, Any]] | None = None) -> dict[str, Exercise]:
    """The built-in :data:`EXERCISES` with config ``additions`` merged in (same key replaces).

    Each addition is a mapping with ``name``, ``target`` and optionally ``key`` (default: made from the
    name, "Sumo deadlift" → ``sumo_deadlift``), ``synergists``, ``antagonists`` and
    ``expected_target_share`` (in (0, 1), default 0.5). Unknown keys, unknown muscles and bad values
    are refused with a ``ValueError`` naming the exercise.
    """
    library = dict(EXERCISES)
    seen: set[str] = set()
    for number, addition in enumerate(additions or (), start=1):
        where = f"exercise addition {number}"
        if not isinstance(addition, Mapping):
            raise ValueError(f"{where} must be a table like {{name = ..., target = ...}}, got {addition!r}")
        name = addition.get("name")
        if isinstance(name, str) and name.strip():
            where = f"{where} ({name!r})"
        unknown = sorted(set(addition) - _ADDITION_KEYS)
        if unknown:
            raise ValueError(f"{where}: unknown key(s) {', '.join(unknown)}; allowed: {', '.join(sorted(_ADDITION_KEYS))}")
        data = dict(addition)
        if "key" not in data and isinstance(name, str):
            data["key"] = _key_from_name(name)
        try:
            exercise = Exercise.from_dict(data)
        except ValueError as exc:
            message = str(exc)
            # Messages from Exercise itself already name the exercise by key.
            raise ValueError(message if message.startswith("exercise ") else f"{where}: {message}") from None
        if exercise.key in seen:
            raise ValueError(f"{where}: exercise key {exercise.key!r} is added twice")
        seen.add(exercise.key)
        library[exercise.key] = exercise
    return library


def find_exercise(library: Mapping[str, Exercise], name: str) -> Exercise:
    """The exercise whose key or name matches ``name``, ignoring case, spaces, hyphens and underscores.

    ``KeyError`` with the closest match as a suggestion when nothing matches.
    """
    wanted = normalise_name(name)
    by_name: dict[str, Exercise] = {}
    for exercise in library.values():
        by_name.setdefault(normalise_name(exercise.key), exercise)
        by_name.setdefault(normalise_name(exercise.name), exercise)
    if wanted in by_name:
        return by_name[wanted]
    close = difflib.get_close_matches(wanted, list(by_name), n=1, cutoff=0.6)
    if close:
        hint = by_name[close[0]]
        raise UnknownNameError(f"unknown exercise {name!r}; did you mean {hint.name!r} ({hint.key})?")
    raise UnknownNameError(f"unknown exercise {name!r}; known exercises: {', '.join(sorted(library))}")
