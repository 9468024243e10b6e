"""The bleak that is installed — the oldest one pyproject.toml allows, in the oldest-versions CI
run — has what the reader uses, and pyproject.toml does not allow one that lacks it."""

from __future__ import annotations

import re
import tomllib
from importlib.metadata import version
from pathlib import Path

PYPROJECT = Path(__file__).resolve().parents[1] / "pyproject.toml"


def _release(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", text)[:3])


def test_pyproject_allows_no_bleak_older_than_3_0():
    dependencies = tomllib.loads(PYPROJECT.read_text(encoding="utf-8"))["project"]["dependencies"]
    (bleak,) = [d for d in dependencies if re.match(r"bleak\b", d)]
    lower = re.search(r">=\s*([\d.]+)", bleak)
    assert lower and _release(lower.group(1)) >= (3, 0), bleak


def test_the_installed_bleak_reads_the_adapter_and_the_notify_choice_from_bluez_arguments():
    # bleak < 3.0 ignores bluez={"adapter": …} (it read adapter=… instead): a sensor configured on
    # "hci1" would be searched for on the default adapter. BleakBluetoothNotAvailableError came in 2.0.
    from bleak.args.bluez import BlueZClientArgs, BlueZNotifyArgs, BlueZScannerArgs
    from bleak.exc import BleakBluetoothNotAvailableError, BleakBluetoothNotAvailableReason  # noqa: F401

    assert _release(version("bleak")) >= (3, 0)
    assert "adapter" in BlueZScannerArgs.__annotations__
    assert "adapter" in BlueZClientArgs.__annotations__
    assert "use_start_notify" in BlueZNotifyArgs.__annotations__


def test_every_subscription_passes_the_notify_choice_explicitly():
    # bleak 2.0–3.0.1 defaulted to AcquireNotify, 3.0.2 on to StartNotify: never rely on the default.
    package = Path(__file__).resolve().parents[1] / "coach_tui"
    source = "\n".join(path.read_text(encoding="utf-8") for path in package.rglob("*.py"))
    assert source.count("start_notify(") == source.count('bluez={"use_start_notify"') == 2  # data, battery
