"""The ``coach`` subcommands, one module each: ``add_parser(subparsers)`` and ``run(args, config)``."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable


class CommandError(Exception):
    """A problem the user can fix; printed as one line, exit status 2."""


def print_listing(rows: list[dict], as_json: bool, *, none_yet: str, header: str,
                  lines: Callable[[dict], Iterable[str]]) -> None:
    """What a listing command prints: ``rows`` as one JSON list with ``--json``; else ``none_yet``
    (saying how to make the first) when there are none, else ``header`` and each row's ``lines``."""
    if as_json:
        print(json.dumps(rows, ensure_ascii=False))
    elif not rows:
        print(none_yet)
    else:
        print(header)
        for row in rows:
            for line in lines(row):
                print(line)
