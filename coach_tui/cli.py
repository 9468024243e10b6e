"""The ``coach`` command: builds the parser from the subcommand modules and dispatches."""

from __future__ import annotations

import argparse
import importlib
import sys

from coach_tui import __version__
from coach_tui.commands import CommandError

DESCRIPTION = """\
coach-tui: muscle activation coaching with surface-EMG sensors.
Without a command, starts the console (on the simulated sensor kit when no sensors are configured).

Configuration: --config PATH, else ./config.toml, else config.toml in the user config folder
(~/.config/coach-tui on Linux), else the defaults. Clients and recordings are kept in the
environment variable COACH_SESSIONS's folder, else the config's sessions_dir (relative to that
config.toml), else the user data folder (~/.local/share/coach-tui/sessions on Linux).
`coach paths` shows which are in use and why, and where the log file is.
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
    "paths": "paths",
}


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="coach", description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"coach-tui {__version__}")
    parser.add_argument("--config", metavar="PATH", help="config file to use")
    parser.add_argument("--simulate", action="store_true", help="run the console on the simulated sensor kit")
    parser.add_argument("--debug", action="store_true", help="log everything (Bluetooth included) to the log file")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module in COMMANDS.values():
        importlib.import_module(f"coach_tui.commands.{module}").add_parser(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``coach`` command; returns the exit status.

    A problem the trainer can fix is one line on stderr (exit 2). Anything unexpected is logged
    with its traceback, and stderr gets one line naming it and the log file (exit 1)."""
    parser = _parser()
    args = parser.parse_args(argv)
    import logging

    from coach_tui.config import ConfigError, load_config, log_file
    from coach_tui.store.log_file import start_logging
    from coach_tui.workflows.store_access import StoreUnavailable

    name = f"coach {args.command or ''}".rstrip()
    log = logging.getLogger("coach_tui.cli")
    logged_to = start_logging(log_file(), debug=args.debug)
    try:
        config = load_config(args.config)
        if args.command is None:
            from coach_tui.ui.app import run_console

            return run_console(config, args.simulate, logged_to)
        command = importlib.import_module(f"coach_tui.commands.{COMMANDS[args.command]}")
        return command.run(args, config)
    except (CommandError, ConfigError, StoreUnavailable) as error:
        log.info("%s refused: %s", name, error)
        print(f"{name}: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except Exception as error:  # noqa: BLE001 - the last line of defence: logged whole, said in one line
        log.exception("%s failed unexpectedly", name)
        where = f"details are in {logged_to}" if logged_to else "the log file could not be written"
        print(f"{name}: unexpected error ({type(error).__name__}: {error}); {where} — "
              "please attach it to a bug report", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
