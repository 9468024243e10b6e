"""A/B tests: which of 2–4 exercise variations works one target muscle harder in this client.

The console proposes a counterbalanced order of sets so that drift over the test (fatigue, an
electrode shifting) and the carry-over from the previous set do not favour one variation:
:func:`counterbalanced_order`. The statistics (mean peak %MVC with a 95 % interval, difference,
effect size, verdict) live in ``coach_tui.dsp``; this module holds the plan and the results.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import datetime

from coach_tui.domain.serialization import Record
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


@dataclass(frozen=True, slots=True)
class ABTest(Record):
    """A comparison of 2–4 exercise variations (exercise keys) for one target muscle in one client.

    ``order`` is the planned sequence of sets as indices into ``variations`` (see
    :func:`counterbalanced_order`); ``results`` maps each variation to its per-rep peak %MVC so far;
    ``verdict`` is the wording reported at the end ("no clear difference" unless the interval
    excludes zero).
    """

    id: str
    client_id: str
    target_muscle: str
    variations: tuple[str, ...]
    order: tuple[int, ...]
    created: datetime
    results: dict[str, list[float]] = field(default_factory=dict)
    verdict: str = ""

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
        if not isinstance(self.results, dict):
            raise ValueError(f"ABTest.results must be a dict of variation → peaks, got {self.results!r}")
        results: dict[str, list[float]] = {}
        for variation, peaks in self.results.items():
            if variation not in variations:
                raise ValueError(f"ABTest.results has {variation!r}, which is not one of {', '.join(variations)}")
            if isinstance(peaks, (str, bytes)) or not hasattr(peaks, "__iter__"):
                raise ValueError(f"ABTest.results[{variation!r}] must be a list of numbers, got {peaks!r}")
            peaks = list(peaks)
            for peak in peaks:
                require_number("ABTest", f"results[{variation!r}][]", peak)
            results[variation] = [float(p) for p in peaks]
        object.__setattr__(self, "results", results)
        require_str("ABTest", "verdict", self.verdict)

    @property
    def planned_sets(self) -> tuple[str, ...]:
        """The variation (exercise key) of each planned set, in order."""
        return tuple(self.variations[i] for i in self.order)

    def with_peaks(self, variation: str, peaks: list[float]) -> ABTest:
        """A copy with ``peaks`` (per-rep peak %MVC) added to ``variation``'s results."""
        results = {k: list(v) for k, v in self.results.items()}
        results.setdefault(variation, []).extend(peaks)
        return dataclasses.replace(self, results=results)
