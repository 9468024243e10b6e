"""``coach restore-backup``: replace a damaged client database with the last good copy kept beside it."""

from __future__ import annotations

import argparse

from coach_tui.commands import CommandError


def add_parser(commands) -> None:
    """Register the subcommand."""
    restore = commands.add_parser(
        "restore-backup", help="restore the client database from its last good backup",
        description="Move the damaged coach.json aside (kept as coach.json.corrupt-DATE) and restore "
        "coach.json.bak, the last copy that read correctly.",
    )
    restore.add_argument("--json", action="store_true", help="print one JSON object: what was restored, where the damaged file is")


def run(args: argparse.Namespace, config) -> int:
    """Restore and say what happened."""
    from coach_tui.store.database import Database, DatabaseError
    from coach_tui.store.record_check import check_records
    from coach_tui.store.writer_lock import LockHeld, WriterLock

    info = Database.backup_info(config.sessions_dir)
    if info is None:
        raise CommandError(f"{config.sessions_dir}: there is no backup (coach.json.bak) to restore")
    try:
        with WriterLock(config.sessions_dir, "coach restore-backup"):
            moved = Database.restore_backup(config.sessions_dir, check_records)
    except (LockHeld, DatabaseError) as error:
        raise CommandError(str(error)) from None
    path, saved = info
    if args.json:
        import json

        print(json.dumps({"restored": str(path), "saved": saved.isoformat(timespec="seconds"),
                          "damaged_file_kept_as": str(moved) if moved else None}, ensure_ascii=False))
        return 0
    print(f"restored {path.name} saved {saved:%Y-%m-%d %H:%M}" + (f"; the damaged file is kept as {moved}" if moved else ""))
    return 0
