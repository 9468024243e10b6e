"""Finding a sensor's device: which advertising (or held) device is the sensor's, and the turns
that scans and connects take per adapter.

One lock per event loop and adapter — (scanner backend, adapter name) — is shared by every
``BleSource`` on it: parallel connects on one adapter fail (BlueZ "Operation already in
progress"), and a scan holds the adapter only ``scan_turn_s`` at a time.
"""

from __future__ import annotations

import asyncio
import weakref
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from coach_tui.sources.ble.ble_sensor import BleSensor
    from coach_tui.sources.ble.profiles import Profile


class NotFound(Exception):
    """No matching device advertised within the scan timeout."""


_ADAPTER_LOCKS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[tuple[object, str | None], asyncio.Lock]] = (
    weakref.WeakKeyDictionary()
)


def adapter_lock(backend: type | None, adapter: str | None) -> asyncio.Lock:
    """The lock that scans and connects on ``adapter`` (None: the system's default) take turns at."""
    locks = _ADAPTER_LOCKS.setdefault(asyncio.get_running_loop(), {})
    return locks.setdefault((backend, adapter), asyncio.Lock())


def how_found(
    configured: BleSensor, profile_: Profile, claimed: str | None, address: str, name: str | None, service_uuids
) -> str | None:
    """How a device advertising (or held connected) as ``address``, ``name``, ``service_uuids``
    is this sensor's — "address", "name" or "service" — or None when it is not.

    By the address it was claimed at (configured, or found earlier) when there is one; else by the
    configured name, exactly; else by the profile's service UUID, or by its name prefixes for
    devices that advertise a name only (the OpenBCI Ganglion: ``Ganglion 1.3 (a1b2)``, as
    BrainFlow matches it).
    """
    if claimed:
        return "address" if address.upper() == claimed else None
    if configured.name:
        return "name" if name == configured.name else None
    if profile_.service_uuid in {u.lower() for u in service_uuids}:
        return "service"
    if name and profile_.name_prefixes and name.startswith(profile_.name_prefixes):
        return "name"
    return None


def target(configured: BleSensor, profile_: Profile, claimed: str | None) -> str:
    """What the sensor's search looks for, in words."""
    if claimed:
        return claimed
    if configured.name:
        return f"'{configured.name}'"
    if profile_.name_prefixes:
        names = " or ".join(f"'{prefix}…'" for prefix in profile_.name_prefixes)
        return f"a {profile_.key} sensor (named {names}, or service {profile_.service_uuid})"
    return f"a {profile_.key} sensor (service {profile_.service_uuid})"
