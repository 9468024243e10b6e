"""The ``coach`` command: builds the parser from the subcommand modules and dispatches."""

from __future__ import annotations

import argparse
import importlib
import sys

from coach_tui.commands import CommandError

DESCRIPTION = """\
coach-tui: muscle activation coaching with surface-EMG sensors.
Without a command, starts the console (on the simulated sensor kit when no sensors are configured).

Configuration: --config PATH, else ./config.toml, else ~/.config/coach-tui/config.toml,
else the reference config shipped with coach-tui. Clients and recordings are kept in the
config's sessions_dir (default: sessions/ beside that config.toml); the environment variable
COACH_SESSIONS overrides it.
"""

#: Subcommand → module in coach_tui.commands (imported only when that command runs).
COMMANDS = {
    "check": "check",
    "record": "record",
    "clients": "clients",
    "sessions": "sessions",
    "export": "export",
    "analyze": "analyze",
    "report": "report",
    "restore-backup": "restore_backup",
    "scan": "scan",
}


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="coach", description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", metavar="PATH", help="config file to use")
    parser.add_argument("--simulate", action="store_true", help="run the console on the simulated sensor kit")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module in COMMANDS.values():
        importlib.import_module(f"coach_tui.commands.{module}").add_parser(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``coach`` command; returns the exit status."""
    parser = _parser()
    args = parser.parse_args(argv)
    from coach_tui.config import ConfigError, load_config
    from coach_tui.workflows.store_access import StoreUnavailable

    try:
        config = load_config(args.config)
        if args.command is None:
            from coach_tui.ui.app import run_console

            return run_console(config, args.simulate)
        command = importlib.import_module(f"coach_tui.commands.{COMMANDS[args.command]}")
        return command.run(args, config)
    except (CommandError, ConfigError, StoreUnavailable) as error:
        print(f"coach {args.command or ''}".rstrip() + f": {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
