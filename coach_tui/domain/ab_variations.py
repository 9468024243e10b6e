"""The exercise an A/B test variation is recorded with: library, measured on another target, or typed in.

An :class:`~coach_tui.domain.abtest.ABTest` names its variations by exercise key; each set is
recorded like a live set with an :class:`Exercise` whose target is the test's target muscle:

- a library exercise with that target is used as it is;
- a library exercise with another target is measured on the test's target: its own target becomes
  the first synergist (the muscle that would take over) and the test's target leaves its synergists
  and antagonists;
- a typed-in name that is no library exercise becomes an ad-hoc exercise (key made from the name)
  with the synergists, antagonists and expected share of the library exercise with that target whose
  name is closest; when the library has none with that target, it has no synergists (no target share).

The exercise depends only on the key, the target and the library, so a test resumed later records
its sets with the same exercises.
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import replace

from coach_tui.domain.errors import UnknownNameError
from coach_tui.domain.exercises import Exercise, find_exercise, normalise_name


def variation_key(name: str) -> str:
    """The exercise key of a typed-in name: "Banded hip-thrust" → ``banded_hip_thrust``."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "_", ascii_name.casefold()).strip("_")


def closest_with_target(name: str, target: str, library: Mapping[str, Exercise]) -> Exercise | None:
    """The library exercise with ``target`` whose name is most like ``name`` (None: none has it)."""
    candidates = [e for e in library.values() if e.target == target]
    wanted = normalise_name(name)
    return max(candidates, key=lambda e: difflib.SequenceMatcher(None, wanted, normalise_name(e.name)).ratio(),
               default=None)


def variation_exercise(key: str, target: str, library: Mapping[str, Exercise]) -> Exercise:
    """The exercise variation ``key`` of an A/B test of ``target`` is recorded with (see the module)."""
    known = library.get(key)
    if known is not None:
        if known.target == target:
            return known
        return replace(known, target=target,
                       synergists=(known.target, *(m for m in known.synergists if m != target)),
                       antagonists=tuple(m for m in known.antagonists if m != target))
    name = key.replace("_", " ").capitalize()
    like = closest_with_target(name, target, library)
    if like is None:
        return Exercise(key, name, target)
    return Exercise(key, name, target, like.synergists, like.antagonists, like.expected_target_share)


def variation_names(keys: Sequence[str], target: str, library: Mapping[str, Exercise]) -> tuple[str, ...]:
    """What an A/B test calls its variations: each one's exercise name (:func:`variation_exercise`),
    or every key when two names are alike (so verdicts and warnings never confuse two variations)."""
    names = tuple(variation_exercise(key, target, library).name for key in keys)
    return names if len(set(names)) == len(names) else tuple(keys)


def typed_variation(text: str, target: str, library: Mapping[str, Exercise]) -> Exercise:
    """The variation a trainer typed: the library exercise of that name or key (ignoring case,
    spaces and hyphens), else an ad-hoc one; ``ValueError`` when the text has no letter or digit."""
    try:
        key = find_exercise(library, text).key
    except UnknownNameError:
        key = variation_key(text)
    if not key:
        raise ValueError(f"a typed-in variation needs a name with letters or digits, got {text!r}")
    return variation_exercise(key, target, library)


def variation_origin(exercise: Exercise, library: Mapping[str, Exercise]) -> str:
    """How ``exercise`` (from :func:`variation_exercise`) is measured, in words for the trainer."""
    muscle = exercise.target.replace("_", " ")
    synergists = ", ".join(m.replace("_", " ") for m in exercise.synergists)
    known = library.get(exercise.key)
    if known is not None:
        if known.target == exercise.target:
            return f"{exercise.name}: from the library"
        return (f"{exercise.name}: library exercise for the {known.target.replace('_', ' ')}, measured on the "
                f"{muscle} (target share against the {known.target.replace('_', ' ')})")
    like = closest_with_target(exercise.name, exercise.target, library)
    if like is None:
        return f"{exercise.name}: typed in; no library exercise targets the {muscle}, so no target share"
    return f"{exercise.name}: typed in; measured like {like.name} (synergists: {synergists or 'none'})"
