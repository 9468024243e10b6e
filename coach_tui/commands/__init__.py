"""The ``coach`` subcommands, one module each: ``add_parser(subparsers)`` and ``run(args, config)``."""


class CommandError(Exception):
    """A problem the user can fix; printed as one line, exit status 2."""
