"""Each recorded set's fatigue verdict, as the history screen and the client report list them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from coach_tui.domain.progress import ClientProgress
from coach_tui.dsp.fatigue import FatigueSettings, SetFatigue, set_fatigue


@dataclass(frozen=True, slots=True)
class SetFatigueRow:
    """One recorded set's fatigue verdicts (``dsp.fatigue.set_fatigue``)."""

    started: datetime
    exercise_name: str
    index: int
    fatigue: SetFatigue


def fatigue_rows(progress: ClientProgress, settings: FatigueSettings | None = None) -> list[SetFatigueRow]:
    """The fatigue verdict of every set with a measurable trend, oldest first (sets kept with an
    earlier definition of the metrics have no median frequencies and are left out)."""
    rows = []
    for record in progress.sets:
        verdict = set_fatigue(record.reps, settings)
        if not record.old_metrics and verdict.fatigue is not None:
            rows.append(SetFatigueRow(record.started, progress.exercise_names[record.exercise], record.index, verdict))
    return rows
