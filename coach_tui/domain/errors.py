"""Lookup errors whose message reads well when shown to a trainer."""

from __future__ import annotations


class UnknownNameError(KeyError):
    """A ``KeyError`` (so ``except KeyError`` still works) whose ``str()`` is the plain message."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""
