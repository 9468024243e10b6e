"""``coach export``: a session's per-rep metrics and envelopes (CSV), raw signals (EDF+), provenance (JSON)."""

from __future__ import annotations

import argparse
from pathlib import Path

from coach_tui.commands import CommandError


def add_parser(commands) -> None:
    """Register the subcommand."""
    export = commands.add_parser(
        "export", help="export a session (csv, edf or json)",
        description="Export a session: csv (per-rep metrics and envelopes), edf (raw signals, EDF+) or json "
        "(provenance: devices, sample rates, filter settings, placements, calibrations). Nothing leaves the "
        "machine unless you send the files.",
    )
    export.add_argument("session", metavar="SESSION_ID", help="as listed by coach sessions")
    export.add_argument("--format", required=True, choices=["csv", "edf", "json"])
    export.add_argument("--out", required=True, metavar="DIR", help="folder to write into (created if missing)")
    export.add_argument("--json", action="store_true", help="print the files written as a JSON list")


def run(args: argparse.Namespace, config) -> int:
    """Write the export files and list them."""
    from coach_tui.reports.exports import ExportError, SessionBundle, export_session
    from coach_tui.store.recordings import RecordingError
    from coach_tui.store.repository import UnknownRecord
    from coach_tui.workflows.store_access import open_store

    with open_store(config, "export", write=False) as repo:
        try:
            session = repo.session(args.session)
        except UnknownRecord as error:
            raise CommandError(str(error)) from None
        sets = repo.sets(session.id)
        used = {cid for s in sets for cid in s.calibration_ids}
        calibrations = [c for c in repo.latest_calibrations(session.client_id).values() if c.id in used]
    bundle = SessionBundle(session, sets, calibrations, config.sessions_dir / session.folder)
    try:
        written = export_session(bundle, args.format, Path(args.out))
    except (ExportError, RecordingError) as error:
        raise CommandError(str(error)) from None
    if args.json:
        import json

        print(json.dumps([str(path) for path in written], ensure_ascii=False))
        return 0
    for path in written:
        print(path)
    return 0
