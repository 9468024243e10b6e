"""The time a simulated kit (and whatever times itself with it) runs on: the wall clock, or a
stepped clock that moves only when a test advances it.

A kit paced by a ``SteppedClock`` delivers exactly the samples due by the clock's time, and nothing
more until the clock is advanced again, so a test says "two seconds pass" and then checks what
happened, on a loaded machine as on a fast one.
"""

from __future__ import annotations

import asyncio
import time
from typing import Protocol


class Clock(Protocol):
    """A monotonic time in seconds, and a way to wait for it."""

    def now(self) -> float:
        """The current time (seconds)."""
        ...

    async def sleep_until(self, when: float) -> None:
        """Return once ``now()`` has reached ``when``."""
        ...


class WallClock:
    """Real time: ``time.monotonic`` and ``asyncio.sleep``."""

    def now(self) -> float:
        """Seconds of the monotonic wall clock."""
        return time.monotonic()

    async def sleep_until(self, when: float) -> None:
        """Sleep until the wall clock reaches ``when``."""
        await asyncio.sleep(max(0.0, when - time.monotonic()))


class SteppedClock:
    """Time that stands still until :meth:`advance` moves it.

    Whoever sleeps on it wakes when the time passes their deadline; ``advance`` returns once each
    task it woke has run up to its next sleep on the clock, or ended.
    """

    def __init__(self, start: float = 0.0):
        self._now = float(start)
        self._sleepers: list[tuple[float, asyncio.Future, asyncio.Task | None]] = []

    def now(self) -> float:
        """The clock's time (seconds)."""
        return self._now

    async def sleep_until(self, when: float) -> None:
        """Wait until the clock is advanced to ``when`` (at once when it is there already)."""
        if when <= self._now:
            await asyncio.sleep(0)
            return
        future = asyncio.get_running_loop().create_future()
        self._sleepers.append((when, future, asyncio.current_task()))
        await future

    def waiting(self) -> int:
        """How many tasks wait for the clock now (a test waits for a stream to start before it
        advances the clock)."""
        return sum(not future.done() for _, future, _ in self._sleepers)

    def _asleep(self, task: asyncio.Task | None) -> bool:
        return task is None or task.done() or any(t is task and not f.done() for _, f, t in self._sleepers)

    async def advance(self, seconds: float, turns: int = 10_000) -> None:
        """Move the clock on by ``seconds`` and let everyone due run until they sleep again (at most
        ``turns`` turns of the event loop, for a sleeper that went to wait on something else)."""
        if seconds < 0:
            raise ValueError(f"a clock only moves forward; got {seconds} s")
        self._now += seconds
        woken: list[asyncio.Task | None] = []
        for _ in range(turns):
            due = [s for s in self._sleepers if s[0] <= self._now]
            self._sleepers = [s for s in self._sleepers if s[0] > self._now]
            for _, future, task in due:
                if not future.done():
                    future.set_result(None)
                    woken.append(task)
            await asyncio.sleep(0)
            if not due and all(self._asleep(task) for task in woken):
                break
        for _ in range(5):  # readers behind a hub take the last blocks on the next turns
            await asyncio.sleep(0)
