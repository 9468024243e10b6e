"""From bleak's notification callback to the source's iterator: a bounded queue per sensor.

The callback only appends ``(bytes, arrival time, characteristic UUID)``; when the queue is full the
notification is dropped and counted (``dropped``, the status's host drops). A :class:`Connection`
marker, queued ahead of a connection's first notification, tells the iterator how to read what
follows it.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from coach_tui.sources.ble.decoders import Decoder

@dataclass(frozen=True, slots=True)
class Connection:
    """Queued ahead of a connection's first notification: how to read what follows."""

    decoder: Decoder
    clock_rate_hz: float


Notification = tuple[bytes, float, str]


class NotificationQueue:
    """Bounded FIFO of notifications, filled by bleak's callback, emptied by the iterator.

    Counts what it had to drop, and when notifications arrived on the current connection (for the
    silent-link watchdog). ``wake`` is called on every put, to wake the iterator.
    """

    def __init__(self, bound: int, wake: Callable[[], None]):
        self.bound = bound
        self.dropped = 0
        self._items: deque[Notification | Connection] = deque()
        self._packets = 0
        self._wake = wake
        self.connection_started(time.monotonic())

    def put_nowait(self, item: Notification) -> None:
        """Queue one notification ``(bytes, arrival, characteristic UUID)``, or count it dropped."""
        if self.first_arrival is None:
            self.first_arrival = item[1]
        self.last_arrival = item[1]
        self.arrivals += 1
        if self._packets >= self.bound:
            self.dropped += 1
            return
        self._items.append(item)
        self._packets += 1
        self._wake()

    def connection_started(self, now: float) -> None:
        """Restart the arrival bookkeeping of the watchdog (not the queued items)."""
        self.started_at = now
        self.last_arrival: float | None = None
        self.first_arrival: float | None = None
        self.arrivals = 0

    def mark_connection(self, connection: Connection) -> None:
        """Queue the marker that tells the iterator how to read the notifications after it."""
        self._items.append(connection)
        self._wake()

    def __len__(self) -> int:
        return len(self._items)

    def pop(self) -> Notification | Connection:
        """The oldest queued item (IndexError when empty)."""
        item = self._items.popleft()
        if not isinstance(item, Connection):
            self._packets -= 1
        return item

    def mean_interval_s(self) -> float | None:
        """Mean time between notifications of the current connection (None before two)."""
        if self.arrivals < 2 or self.first_arrival is None or self.last_arrival is None:
            return None
        return (self.last_arrival - self.first_arrival) / (self.arrivals - 1)

