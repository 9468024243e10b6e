"""``coach sessions``: recorded sessions, newest last."""

from __future__ import annotations

import argparse
from functools import partial


def add_parser(commands) -> None:
    """Register the subcommand."""
    sessions = commands.add_parser("sessions", help="list recorded sessions", description="List recorded sessions.")
    sessions.add_argument("--client", metavar="NAME", help="only this client's sessions")
    sessions.add_argument("--json", action="store_true", help="print a JSON list")


def session_row(repo, session, names: dict[str, str], sessions_dir=None) -> dict:
    """One session as ``coach sessions --json`` lists it (``names``: client id → name). With
    ``sessions_dir``, a complete session whose recordings are visibly damaged since (a samples
    file missing or cut short) is listed as "damaged", each problem under ``problems``."""
    from coach_tui.store.recording_reader import damage_seen

    sets = repo.sets(session.id)
    problems = [] if sessions_dir is None else [
        problem for s in sets if s.recording and (problem := damage_seen(sessions_dir / session.folder / s.recording))]
    row = {
        "id": session.id,
        "client": names.get(session.client_id, session.client_id),
        "started": session.started.isoformat(),
        "duration_s": session.duration_s,
        "status": "damaged" if problems else session.status,
        "sets": [
            {"id": s.id, "index": s.index, "exercise": s.exercise, "reps": len(s.reps), "duration_s": s.duration_s,
             "load_kg": s.load_kg, "perceived_activation": s.perceived_activation}
            for s in sets
        ],
    }
    if problems:
        row["problems"] = problems
    return row


def run(args: argparse.Namespace, config) -> int:
    """List sessions with their sets."""
    from coach_tui.commands import CommandError, print_listing
    from coach_tui.domain.exercises import exercise_library
    from coach_tui.store.repository import UnknownRecord
    from coach_tui.workflows.store_access import open_store

    library = exercise_library(config.exercises)
    with open_store(config, "sessions", write=False) as repo:
        try:
            client_id = repo.client(args.client).id if args.client else None
        except UnknownRecord as error:
            raise CommandError(str(error)) from None
        names = {c.id: c.name for c in repo.clients()}
        rows = [session_row(repo, session, names, config.sessions_dir) for session in repo.sessions(client_id)]
    print_listing(rows, args.json, none_yet="no sessions yet — record one with: coach record --client NAME --simulate",
                  header=f"{'id':<20} {'client':<18} {'started':<16} {'length':>7}  {'status':<9} sets",
                  lines=partial(_session_lines, library=library))
    return 0


def _session_lines(row: dict, library) -> list[str]:
    """The session's line (its sets in words), then a line per damaged recording."""
    from datetime import datetime

    from coach_tui.domain.names import cut

    length = f"{row['duration_s']:.0f} s" if row["duration_s"] is not None else "—"
    sets = "; ".join(_set_words(s, library) for s in row["sets"]) or "—"
    started = datetime.fromisoformat(row["started"]).astimezone()
    return [f"{row['id']:<20} {cut(row['client'], 18):<18} {started:%Y-%m-%d %H:%M} {length:>7}  "
            f"{row['status']:<9} {sets}",
            *(f"  damaged: {problem} — copy it again from where it came from (coach export refuses it)"
              for problem in row.get("problems", []))]


def _set_words(row: dict, library) -> str:
    """"Hip thrust 62.5 kg (6 reps)": the exercise by name, the load, the reps."""
    exercise = library.get(row["exercise"])
    name = exercise.name if exercise else row["exercise"].replace("_", " ")
    load = f" {row['load_kg']:g} kg" if row["load_kg"] is not None else ""
    return f"{name}{load} ({row['reps']} rep{'' if row['reps'] == 1 else 's'})"
