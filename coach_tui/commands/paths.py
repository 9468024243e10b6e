"""``coach paths``: which config file, sessions folder and log file are in use, and why."""

from __future__ import annotations

import argparse
import json


def add_parser(commands) -> None:
    """Register the subcommand."""
    paths = commands.add_parser(
        "paths", help="show the config file, sessions folder and log file in use, and why",
        description="Show which config file, sessions folder (clients and recordings) and log file coach uses, "
        "and why: --config, ./config.toml, the user config folder or the defaults; COACH_SESSIONS, the config's "
        "sessions_dir or the user data folder.",
    )
    paths.add_argument("--json", action="store_true", help="print one JSON object")


def run(args: argparse.Namespace, config) -> int:
    """Print the three paths with the reason for each."""
    from coach_tui.config import REFERENCE_CONFIG, log_file

    config_path = "(none: the defaults)" if config.path == REFERENCE_CONFIG else str(config.path.absolute())
    rows = {
        "config": {"path": config_path, "why": config.path_reason},
        "sessions": {"path": str(config.sessions_dir.absolute()), "why": config.sessions_reason},
        "log": {"path": str(log_file()), "why": "the user log folder"},
    }
    if args.json:
        print(json.dumps(rows, ensure_ascii=False))
        return 0
    for name, row in rows.items():
        print(f"{name + ':':<10}{row['path']}")
        print(f"{'':<10}({row['why']})")
    return 0
