"""After a crash, power cut or killed SSH session: find unfinished sessions and keep what was saved."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from pathlib import Path

from coach_tui.domain.session import METRICS_VERSION
from coach_tui.store.reanalysis import reanalyze
from coach_tui.store.recordings import RecordingError, paths, recover
from coach_tui.store.repository import Repository


def recover_unfinished(repo: Repository, sessions_dir: Path) -> list[str]:
    """Recover every session still marked "recording"; return one note per session for the trainer.

    Call only while holding the writer lock: a session being recorded right now also reads
    "recording". Each set's file is cut back to its last complete record, re-analysed with its
    stored plan (so its reps are back), and the session is marked "recovered".
    """
    notes = []
    for session in repo.sessions():
        if session.status != "recording":
            continue
        kept_s = 0.0
        problems = []
        for record in repo.sets(session.id):
            prefix = sessions_dir / session.folder / record.recording
            if not paths(prefix)[0].exists():
                continue
            try:
                recover(prefix)
                again = reanalyze(prefix)
            except (RecordingError, KeyError, ValueError) as error:
                problems.append(f"set {record.index}: {error}")
                continue
            duration = again.analyzer.samples_aligned / again.plan.fs_hz
            kept_s += duration
            repo.save_set(replace(record, duration_s=duration, reps=tuple(again.reps), metrics_version=METRICS_VERSION))
        ended = session.started + timedelta(seconds=kept_s)
        repo.save_session(replace(session, status="recovered", ended=ended))
        client = repo.client_by_id(session.client_id)
        who = client.name if client else session.client_id
        note = (
            f"recovered session {session.id} of {who} ({session.started:%Y-%m-%d %H:%M}), which was interrupted: "
            f"{kept_s:.1f} s of recording kept"
        )
        notes.append(note + (f"; could not read {'; '.join(problems)}" if problems else ""))
    return notes
