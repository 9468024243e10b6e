"""Stored sets brought to the current definitions of the per-rep metrics, once, from their raw
recordings: history never mixes two definitions of %MVC."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from coach_tui.domain.session import METRICS_VERSION, SetRecord
from coach_tui.store.reanalysis import reanalyze
from coach_tui.store.recordings import RecordingError, paths
from coach_tui.store.repository import Repository
from coach_tui.workflows.rep_frequencies import rep_median_frequencies


def upgrade_metrics(repo: Repository, sessions_dir: Path) -> list[str]:
    """Re-analyse every set whose metrics use an older definition (``SetRecord.metrics_version``).

    Call while holding the writer lock, after crash recovery. Each such set with its raw recording
    is run again through the plan stored in the recording (the current code: the current
    definitions) and saved with the current version; the A/B tests that hold its reps take them
    again. A set whose recording is missing or unreadable keeps its figures and its old version,
    which the history and the report mark and keep apart. Returns notes for the trainer (none when
    there was nothing to do).
    """
    upgraded: dict[str, tuple[SetRecord, Path]] = {}
    kept: list[str] = []
    for session in repo.sessions():
        for record in repo.sets(session.id):
            if not record.old_metrics:
                continue
            prefix = sessions_dir / session.folder / record.recording
            if not record.recording or not paths(prefix)[0].exists():
                kept.append(f"set {record.index} of {session.started:%Y-%m-%d} (raw recording missing)")
                continue
            try:
                again = reanalyze(prefix)
            except (RecordingError, KeyError, ValueError) as error:
                kept.append(f"set {record.index} of {session.started:%Y-%m-%d} ({error})")
                continue
            record = replace(record, reps=tuple(again.reps), metrics_version=METRICS_VERSION)
            repo.save_set(record)
            upgraded[record.id] = (record, prefix)
    _refresh_ab_tests(repo, upgraded)
    notes = []
    if upgraded:
        notes.append(f"re-analysed {len(upgraded)} stored set{'' if len(upgraded) == 1 else 's'} from their raw "
                     "recordings with the current %MVC peak and fatigue definitions")
    if kept:
        notes.append(f"{len(kept)} set{'' if len(kept) == 1 else 's'} keep their figures from the previous peak "
                     f"definition, marked as such in history and reports: {'; '.join(kept)}")
    return notes


def _refresh_ab_tests(repo: Repository, upgraded: dict[str, tuple[SetRecord, Path]]) -> None:
    """A/B tests take the re-analysed reps of their sets (and the median frequencies of them)."""
    if not upgraded:
        return
    for client in repo.clients():
        for test in repo.abtests(client.id):
            positions = sorted({(rep.set_position, rep.set_id) for rep in test.reps if rep.set_id in upgraded})
            if not positions:
                continue
            for position, set_id in positions:
                record, prefix = upgraded[set_id]
                try:
                    frequencies = rep_median_frequencies(prefix, record.reps)
                except (RecordingError, KeyError, ValueError):
                    frequencies = []
                try:
                    test = test.with_set(position, record, frequencies)
                except ValueError:  # no longer fits the plan (e.g. not in %MVC): that set keeps its reps
                    continue
            repo.save_abtest(test)
