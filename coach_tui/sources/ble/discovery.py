"""Finding a sensor's device: scans and connects take turns per adapter, and a scan that finds
nothing in time says so.

One lock per event loop and adapter — (scanner backend, adapter name) — is shared by every
``BleSource`` on it: parallel connects on one adapter fail (BlueZ "Operation already in
progress"), and a scan holds the adapter only ``scan_turn_s`` at a time.
"""

from __future__ import annotations

import asyncio
import weakref


class NotFound(Exception):
    """No matching device advertised within the scan timeout."""


_ADAPTER_LOCKS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[tuple[object, str | None], asyncio.Lock]] = (
    weakref.WeakKeyDictionary()
)


def adapter_lock(backend: type | None, adapter: str | None) -> asyncio.Lock:
    """The lock that scans and connects on ``adapter`` (None: the system's default) take turns at."""
    locks = _ADAPTER_LOCKS.setdefault(asyncio.get_running_loop(), {})
    return locks.setdefault((backend, adapter), asyncio.Lock())
