"""Shared test helpers: where the real recordings live and how to skip when they are absent."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest

#: This folder, the project root (/work/main) and the read-only real recordings next to it (../shared/data).
HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
DATA = ROOT.parent / "shared" / "data"
PHYSICAL_ACTION = DATA / "uci_emg_physical_action"
LOWER_LIMB = DATA / "uci_lower_limb_emg"


def needs_shared_data(test):
    """Decorator for tests (or classes) reading ../shared/data: marked ``shared_data`` and skipped
    with a clear reason when the folder is absent."""
    skip = pytest.mark.skipif(not DATA.exists(), reason="../shared/data absent")
    return pytest.mark.shared_data(skip(test))


@pytest.fixture(autouse=True)
def user_folders(tmp_path_factory, monkeypatch):
    """Every test gets its own user config, data and log folders (platformdirs reads the XDG
    variables on Linux), so nothing a test runs reads or writes the real home folder."""
    home = tmp_path_factory.mktemp("user")
    for variable, name in (("XDG_CONFIG_HOME", "config"), ("XDG_DATA_HOME", "data"), ("XDG_STATE_HOME", "state")):
        monkeypatch.setenv(variable, str(home / name))
    return home


@pytest.fixture
def isolated(tmp_path, monkeypatch):
    """An empty working folder, an empty user config dir and no COACH_SESSIONS, so the packaged
    reference config applies unless a test writes one."""
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    monkeypatch.delenv("COACH_SESSIONS", raising=False)
    return work


def pytest_xdist_auto_num_workers(config):
    """``-n auto`` (pyproject's addopts): a worker a core and two more, as many tests wait on
    something other than the processor (a subprocess, a Bluetooth link, the console's clock), and two
    more again while the tmux walkthroughs run (``slow``: they wait on the wall clock most of their
    minutes, each in a worker of its own); none (this process) for named tests
    (``tests/test_x.py::test_y``), which start sooner alone. On two cores the suite took 179 s with
    two workers and 135 s with four (``-m "not slow"``), 179 s with four and 157 s with six (all)."""
    if config.args and all("::" in arg for arg in config.args):
        return 0
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    walkthrough = "not slow" not in (config.option.markexpr or "") and any(
        Path(arg.split("::")[0]).resolve() in (HERE, HERE / "test_walkthrough.py") for arg in config.args)
    return cores + 4 if walkthrough else cores + 2


def pytest_collection_modifyitems(config, items):
    """Slow tests first, so their minutes overlap the rest instead of coming after it; tests marked
    ``serial`` share one xdist group: they run one after another in one worker, never beside each
    other (the kill -9 tests, tests that time something)."""
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)
    for item in items:
        if item.get_closest_marker("serial"):
            item.add_marker(pytest.mark.xdist_group("serial"))


async def until(pilot, condition, timeout: float = 30.0, what: str = "the condition", clock=None,
                step: float = 0.25) -> None:
    """Let the app run until ``condition()`` holds; fails after ``timeout`` seconds (wall time, a
    bound for a stuck test, not a pace) naming ``what``. Waits on an outcome instead of a fixed
    pause. With a ``SteppedClock``, each look moves it on by ``step`` seconds, so the simulated kit
    streams only while the test waits for what its samples bring."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        if loop.time() > deadline:
            raise AssertionError(f"{what} not reached within {timeout} s")
        if clock is not None:
            await clock.advance(step)
        await pilot.pause(0.01 if clock is not None else 0.02)
