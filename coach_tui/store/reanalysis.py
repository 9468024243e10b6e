"""A stored set run again through the recipe stored in its recording: the per-rep metrics the live
screen showed, bit for bit."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from coach_tui.domain.session import RepMetrics
from coach_tui.dsp.set_analysis import SetAnalyzer
from coach_tui.dsp.set_plan import SetPlan
from coach_tui.store.recordings import read_recording


@dataclass(frozen=True, slots=True)
class Reanalysis:
    """A stored set run again through its stored plan."""

    plan: SetPlan
    analyzer: SetAnalyzer
    complete: bool

    @property
    def reps(self) -> list[RepMetrics]:
        """The per-rep metrics, as the live screen computed them."""
        return self.analyzer.reps


def reanalyze(prefix: Path, keep_envelopes: bool = False) -> Reanalysis:
    """Run a stored recording through the plan stored in its header, to its end (as the set was
    stopped); ``keep_envelopes`` keeps every envelope sample (``SetAnalyzer.envelope``)."""
    recording = read_recording(prefix)
    plan = SetPlan.from_meta(recording.meta["plan"], str(prefix))
    analyzer = plan.analyzer(keep_envelopes)
    for block in recording.blocks():
        analyzer.add(block.sensor_id, block.samples, block.gap_before)
    analyzer.finish()
    return Reanalysis(plan, analyzer, recording.complete)
