"""A/B tests: which of 2–4 exercise variations works one target muscle harder in this client.

The console proposes a counterbalanced order of sets so that drift over the test (fatigue, an
electrode shifting) and the carry-over from the previous set do not favour one variation:
:func:`counterbalanced_order`. The statistics (mean peak %MVC with a 95 % interval, difference,
effect size, verdict) live in ``coach_tui.statistics.ab_statistics``; this module holds the plan, the
per-rep results (:class:`ABRep`) and the verdict reported for them.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from coach_tui.domain.serialization import Record
from coach_tui.domain.session import SetRecord
from coach_tui.domain.validation import (
    as_tuple,
    require_aware,
    require_int,
    require_number,
    require_str,
    require_text,
)

MIN_VARIATIONS = 2
MAX_VARIATIONS = 4
#: The units A/B tests compare: per-rep activation relative to the muscle's MVC reference.
PCT_MVC = "%MVC"


def _williams_rows(n: int) -> list[tuple[int, ...]]:
    """Rows of a Williams design for ``n`` treatments, each row followed by its mirror image.

    First row 0, 1, n−1, 2, n−2, …; row i adds i (mod n). For even n the n rows already contain each
    row's mirror (row i + n/2), for odd n the mirrored rows are added, giving 2n rows. Either way each
    treatment follows each other treatment equally often within rows (first-order carry-over
    balance) and takes every position equally often.
    """
    first = [0]
    low, high = 1, n - 1
    while len(first) < n:
        first.append(low)
        low += 1
        if len(first) < n:
            first.append(high)
            high -= 1
    rows: list[tuple[int, ...]] = []
    for shift in range(n // 2 if n % 2 == 0 else n):
        row = tuple((x + shift) % n for x in first)
        rows += [row, row[::-1]]
    return rows


def counterbalanced_order(n_variations: int, blocks_per_variation: int = 2) -> tuple[int, ...]:
    """The order of sets for an A/B test: variation indices, ``blocks_per_variation`` blocks long.

    Each block is one set of every variation; blocks are rows of a Williams design, each followed by
    its mirror image. So:

    - every variation gets ``blocks_per_variation`` sets;
    - with an even number of blocks every variation has the same mean position in the test, so a
      linear drift (fatigue, electrode shift) cancels: 2 variations give A B B A, 3 give A B C C B A;
    - with a whole Williams design (n blocks for even n, 2n for odd n) every variation takes every
      position within a block equally often and follows every other variation equally often within
      blocks (first-order carry-over balance).
    """
    require_int("counterbalanced_order", "n_variations", n_variations, low=MIN_VARIATIONS)
    require_int("counterbalanced_order", "blocks_per_variation", blocks_per_variation, low=1)
    rows = _williams_rows(n_variations)
    order: list[int] = []
    for block in range(blocks_per_variation):
        order.extend(rows[block % len(rows)])
    return tuple(order)


def williams_blocks(n_variations: int) -> int:
    """The blocks (sets per variation) of one whole Williams design: ``n`` for even ``n``, ``2n`` for odd."""
    require_int("williams_blocks", "n_variations", n_variations, low=MIN_VARIATIONS)
    return len(_williams_rows(n_variations))


def order_notes(n_variations: int, blocks_per_variation: int) -> tuple[str, ...]:
    """What the trainer should know about :func:`counterbalanced_order` with these counts, in words:
    no drift check with 1 set per variation, no position balance with an odd number, and (3–4
    variations) how many sets per variation make a whole Williams design. Empty when fully balanced."""
    require_int("order_notes", "blocks_per_variation", blocks_per_variation, low=1)
    whole = williams_blocks(n_variations)
    blocks = blocks_per_variation
    notes = []
    if blocks == 1:
        notes.append("1 set per variation: drift between first and last sets cannot be checked — use 2 or more")
    elif blocks % 2:
        notes.append(f"{blocks} sets per variation: an odd number leaves the order unbalanced by position, so a drift "
                     f"over the test can favour one variation — use {blocks - 1} or {blocks + 1}")
    if n_variations > 2 and blocks % whole:
        notes.append(f"{whole} sets per variation give a fully balanced (Williams) order of {n_variations} "
                     "variations: each in every position and after every other equally often")
    return tuple(notes)


@dataclass(frozen=True, slots=True)
class ABPlanSettings:
    """What the console proposes for a new A/B test: sets per variation, reps per set, rest between sets."""

    sets_per_variation: int = 2
    reps_per_set: int = 6
    rest_seconds: float = 90.0

    def __post_init__(self) -> None:
        require_int("ABPlanSettings", "sets_per_variation", self.sets_per_variation, low=1, high=8)
        require_int("ABPlanSettings", "reps_per_set", self.reps_per_set, low=2, high=30)
        require_number("ABPlanSettings", "rest_seconds", self.rest_seconds, low=0.0)


@dataclass(frozen=True, slots=True)
class ABRep(Record):
    """One rep of an A/B test: where it came from and the target muscle's per-rep metrics.

    ``set_position`` is the index into :attr:`ABTest.order` of the planned set the rep belongs to
    (so the variation's first and last sets, and drift over the test, are known); ``set_id`` the
    stored :class:`~coach_tui.domain.session.SetRecord` ("" when there is none); ``index`` the rep's
    number in that set. ``peak`` and ``mean`` are the target's %MVC, ``target_share`` target /
    (target + synergist) in 0–1, ``asymmetry_pct`` left/right asymmetry, ``median_frequency_hz``
    the target's median frequency over the rep — each None when not measured.
    """

    variation: str
    set_position: int
    set_id: str
    index: int
    peak: float
    mean: float
    target_share: float | None = None
    asymmetry_pct: float | None = None
    median_frequency_hz: float | None = None

    def __post_init__(self) -> None:
        require_text("ABRep", "variation", self.variation)
        require_int("ABRep", "set_position", self.set_position, low=0)
        require_str("ABRep", "set_id", self.set_id)
        require_int("ABRep", "index", self.index, low=0)
        require_number("ABRep", "peak", self.peak, low=0.0)
        require_number("ABRep", "mean", self.mean, low=0.0)
        require_number("ABRep", "target_share", self.target_share, low=0.0, high=1.0, optional=True)
        require_number("ABRep", "asymmetry_pct", self.asymmetry_pct, low=0.0, high=100.0, optional=True)
        require_number("ABRep", "median_frequency_hz", self.median_frequency_hz, low=0.0, low_open=True, optional=True)


@dataclass(frozen=True, slots=True)
class ABTest(Record):
    """A comparison of 2–4 exercise variations (exercise keys) for one target muscle in one client.

    ``order`` is the planned sequence of sets as indices into ``variations`` (see
    :func:`counterbalanced_order`); ``reps`` holds every rep collected so far (:class:`ABRep`, each
    tied to its planned set). ``verdict``, ``winner`` and ``warnings`` are what the statistics
    (``coach_tui.statistics.ab_statistics``) reported for these reps: the verdict wording, the winning
    variation (None: no clear difference) and the drift warnings; empty until computed.
    """

    id: str
    client_id: str
    target_muscle: str
    variations: tuple[str, ...]
    order: tuple[int, ...]
    created: datetime
    reps: tuple[ABRep, ...] = ()
    verdict: str = ""
    winner: str | None = None
    warnings: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        require_text("ABTest", "id", self.id)
        require_text("ABTest", "client_id", self.client_id)
        require_text("ABTest", "target_muscle", self.target_muscle)
        variations = as_tuple(self, "variations")
        if not MIN_VARIATIONS <= len(variations) <= MAX_VARIATIONS:
            raise ValueError(
                f"ABTest.variations must name {MIN_VARIATIONS}–{MAX_VARIATIONS} exercises, got {len(variations)}"
            )
        for variation in variations:
            require_text("ABTest", "variations[]", variation)
        if len(set(variations)) != len(variations):
            raise ValueError(f"ABTest.variations must be different exercises, got {', '.join(variations)}")
        order = as_tuple(self, "order")
        for index in order:
            require_int("ABTest", "order[]", index, low=0, high=len(variations) - 1)
        missing = [variations[i] for i in range(len(variations)) if i not in order]
        if missing:
            raise ValueError(f"ABTest.order never schedules {', '.join(missing)}")
        require_aware("ABTest", "created", self.created)
        for rep in as_tuple(self, "reps"):
            if not isinstance(rep, ABRep):
                raise ValueError(f"ABTest.reps must hold ABRep records, got {rep!r}")
            if rep.variation not in variations:
                raise ValueError(f"ABTest.reps has {rep.variation!r}, which is not one of {', '.join(variations)}")
            if rep.set_position >= len(order):
                raise ValueError(
                    f"ABTest.reps has a rep of set {rep.set_position}, but the plan has {len(order)} sets"
                )
            planned = variations[order[rep.set_position]]
            if rep.variation != planned:
                raise ValueError(
                    f"ABTest.reps has a {rep.variation} rep in set {rep.set_position}, which is planned as {planned}"
                )
        require_str("ABTest", "verdict", self.verdict)
        if self.winner is not None and self.winner not in variations:
            raise ValueError(f"ABTest.winner must be one of {', '.join(variations)} or None, got {self.winner!r}")
        for warning in as_tuple(self, "warnings"):
            require_text("ABTest", "warnings[]", warning)

    @property
    def planned_sets(self) -> tuple[str, ...]:
        """The variation (exercise key) of each planned set, in order."""
        return tuple(self.variations[i] for i in self.order)

    @property
    def next_position(self) -> int | None:
        """The first planned set without reps yet (None when every set has reps)."""
        done = {rep.set_position for rep in self.reps}
        return next((p for p in range(len(self.order)) if p not in done), None)

    def with_set(
        self,
        set_position: int,
        record: SetRecord,
        median_frequencies_hz: Sequence[float | None] = (),
    ) -> ABTest:
        """A copy holding the reps of ``record`` as planned set ``set_position``.

        Reps stored earlier for that set are replaced (a set done again); the verdict is cleared
        until recomputed. ``median_frequencies_hz`` gives each rep's median frequency when known.
        Refuses a set of another exercise than planned, or reps not in %MVC (calibrate first). Reps
        during which a sensor was lost are left out.
        """
        require_int("ABTest.with_set", "set_position", set_position, low=0, high=len(self.order) - 1)
        planned = self.planned_sets[set_position]
        if record.exercise != planned:
            raise ValueError(f"set {set_position + 1} of this A/B test is planned as {planned.replace('_', ' ')}, "
                             f"not {record.exercise.replace('_', ' ')}")
        uncalibrated = sorted({rep.units for rep in record.reps if rep.units != PCT_MVC})
        if uncalibrated:
            raise ValueError(
                f"A/B tests compare %MVC, but this set is in {', '.join(uncalibrated)}: calibrate the "
                f"{self.target_muscle.replace('_', ' ')} first"
            )
        frequencies = list(median_frequencies_hz) or [None] * len(record.reps)
        if len(frequencies) != len(record.reps):
            raise ValueError(
                f"median_frequencies_hz has {len(frequencies)} values for {len(record.reps)} reps"
            )
        added = tuple(
            ABRep(planned, set_position, record.id, rep.index, rep.peak, rep.mean, rep.target_share,
                  rep.asymmetry_pct, frequency)
            for rep, frequency in zip(record.reps, frequencies, strict=True)
            if not rep.incomplete  # a sensor was lost during it: not a measurement of the variation
        )
        kept = tuple(rep for rep in self.reps if rep.set_position != set_position)
        return dataclasses.replace(self, reps=kept + added, verdict="", winner=None, warnings=())

    def with_verdict(self, verdict: str, winner: str | None, warnings: Sequence[str] = ()) -> ABTest:
        """A copy with the statistics' verdict, winner (None: no clear difference) and warnings."""
        return dataclasses.replace(self, verdict=verdict, winner=winner, warnings=tuple(warnings))
