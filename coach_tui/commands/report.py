"""``coach report``: a client's one-page progress report, as Markdown or HTML."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from coach_tui.commands import CommandError


def add_parser(commands) -> None:
    """Register the subcommand."""
    report = commands.add_parser(
        "report", help="a client's one-page progress report (Markdown or HTML)",
        description="Write a client's one-page report: activation and symmetry trends, progression status, best "
        "exercises from A/B tests, perceived vs measured activation and calibrations, with dates, numbers and "
        "formulas. Without --out, Markdown goes to stdout. Files are readable by you only; nothing leaves the "
        "machine unless you send the file.",
    )
    report.add_argument("client", metavar="CLIENT", help="the client's name")
    report.add_argument("--out", metavar="FILE", help="file to write (its folder must exist)")
    report.add_argument("--format", choices=["md", "html"],
                        help="md or html (default: from the --out suffix, .html → html, else md)")
    report.add_argument("--json", action="store_true",
                        help="print one JSON object: the client, the format and the file written (or the text)")


def run(args: argparse.Namespace, config) -> int:
    """Print or write the report."""
    from coach_tui.domain.ids import now_utc
    from coach_tui.reports.client_report import format_for, load_progress, report_text, write_report
    from coach_tui.store.repository import UnknownRecord
    from coach_tui.workflows.store_access import open_store

    out = Path(args.out) if args.out else None
    with open_store(config, "report", write=False) as repo:
        try:
            client = repo.client(args.client)
        except UnknownRecord as error:
            raise CommandError(str(error)) from None
        progress = load_progress(repo, client, config)
    fmt = format_for(out, args.format)
    text = report_text(progress, fmt, now_utc(), config.ab_statistics, config.analysis.fatigue)
    if out is None:
        if args.json:
            print(json.dumps({"client": client.name, "format": fmt, "path": None, "text": text}, ensure_ascii=False))
        else:
            sys.stdout.write(text)
        return 0
    if not out.parent.is_dir():
        raise CommandError(f"{out}: folder {out.parent} does not exist")
    try:
        write_report(out, text)
    except OSError as error:
        raise CommandError(f"{out}: cannot write ({error.strerror})") from None
    if args.json:
        print(json.dumps({"client": client.name, "format": fmt, "path": str(out), "text": None}, ensure_ascii=False))
    else:
        print(out)
    return 0
