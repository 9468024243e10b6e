"""``coach clients``: list clients, or add one."""

from __future__ import annotations

import argparse
import json

from coach_tui.commands import CommandError, print_listing


def add_parser(commands) -> None:
    """Register the subcommand."""
    clients = commands.add_parser("clients", help="list clients, or add one (coach clients add NAME)",
                                  description="List clients with their last session; `coach clients add NAME` creates one.")
    clients.add_argument("--json", action="store_true", help="print a JSON list")
    actions = clients.add_subparsers(dest="action", metavar="ACTION")
    add = actions.add_parser("add", help="create a client", description="Create a client.")
    add.add_argument("name", help="the client's name (unique)")
    add.add_argument("--dominant", choices=["L", "R"], type=str.upper, help="dominant side")
    add.add_argument("--notes", default="", help="notes worth knowing (goals, injuries)")
    add.add_argument("--json", action="store_true", help="print the new client as a JSON object")


def run(args: argparse.Namespace, config) -> int:
    """List or add clients."""
    from coach_tui.domain.client import Client
    from coach_tui.domain.ids import new_id, now_utc
    from coach_tui.workflows.store_access import open_store

    if args.action == "add":
        if not args.name.strip():
            raise CommandError("give the client a name: coach clients add \"Ana Díaz\"")
        with open_store(config, "clients add", write=True) as repo:
            try:
                client = Client(new_id("c"), args.name.strip(), args.dominant, args.notes, created=now_utc())
                repo.add_client(client)
            except ValueError as error:
                raise CommandError(str(error)) from None
        if args.json:
            print(json.dumps(client.to_dict(), ensure_ascii=False))
        else:
            print(f"added client {client.name} ({client.id})")
        return 0
    with open_store(config, "clients", write=False) as repo:
        rows = []
        for client in repo.clients():
            sessions = repo.sessions(client.id)
            rows.append({
                **client.to_dict(),
                "sessions": len(sessions),
                "last_session": sessions[-1].started.isoformat() if sessions else None,
                "calibrated": sorted(repo.latest_calibrations(client.id)),
            })
    print_listing(rows, args.json, none_yet="no clients yet — add one with: coach clients add NAME",
                  header=f"{'name':<24} {'dominant':<8} {'sessions':>8}  {'last session':<16}  calibrated",
                  lines=_client_lines)
    return 0


def _client_lines(row: dict) -> list[str]:
    """The client's line: name, dominant side, sessions, the last one, calibrated muscles."""
    last = row["last_session"][:16].replace("T", " ") if row["last_session"] else "—"
    return [f"{row['name']:<24} {row['dominant_side'] or '—':<8} {row['sessions']:>8}  {last:<16}  "
            f"{', '.join(row['calibrated']) or '—'}"]
