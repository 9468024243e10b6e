"""Resident memory over a long set: does it grow with the set's length?

By default the live monitor (the console's signal side, as `coach` runs it) streams the simulated
kit — 8 sensors at 2 kHz, reps of a hip thrust — as fast as it can (not in real time) into a set
that is recorded to disk and analysed; resident memory (VmRSS) is printed at the set's start and
every simulated minute, with the growth since the start. ``--console`` runs the whole console
instead (the Textual app, headless, 100×30), in real time: the live screen on the demo client,
a set started with Space, VmRSS every minute of wall time.

    python bench/set_memory.py [--minutes 10]
    python bench/set_memory.py --console [--minutes 60]

Not a test: it prints figures. Linux only (reads /proc/self/status).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
try:
    import coach_tui  # noqa: F401
except ImportError:
    sys.path.insert(0, str(ROOT))

from coach_tui.domain.channels import ChannelAssignment  # noqa: E402
from coach_tui.domain.client import Client  # noqa: E402
from coach_tui.domain.exercises import EXERCISES  # noqa: E402
from coach_tui.domain.ids import now_utc  # noqa: E402
from coach_tui.dsp.analysis_settings import AnalysisSettings  # noqa: E402
from coach_tui.sources.simulated import SimulatedKit, sensors_for_exercise  # noqa: E402
from coach_tui.store.database import Database  # noqa: E402
from coach_tui.store.repository import Repository  # noqa: E402
from coach_tui.workflows.live_monitor import LiveMonitor  # noqa: E402

FS = 2000


def rss_mb() -> float:
    """Resident set size of this process, MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS in /proc/self/status")


async def run(minutes: float, folder: Path) -> None:
    hip = EXERCISES["hip_thrust"]
    kit = SimulatedKit(sensors_for_exercise(hip.target, hip.synergists, hip.antagonists, 8), fs_hz=FS, seed=1,
                       realtime=False, scenario="reps")
    sensors = {s.sensor_id: [ChannelAssignment(s.muscle, s.side)] for s in kit.sensors}
    with Database(folder) as database:
        repo = Repository(database)
        client = repo.add_client(Client("c-bench", "Bench", created=now_utc()))
        monitor = LiveMonitor(kit, FS, sensors, client, hip, AnalysisSettings(), {}, folder, repo, "simulated kit")
        monitor.start()
        while kit.status()[0].samples_received < 5 * FS:  # the meter runs a few seconds first
            await asyncio.sleep(0.01)
        monitor.start_set()
        start, began = rss_mb(), time.monotonic()
        print(f"{len(sensors)} sensors × {FS} Hz, hip thrust reps, fed as fast as possible")
        print(f"{'set time':>9} {'RSS MB':>8} {'growth MB':>10} {'reps':>5} {'wall s':>7}")
        print(f"{0:>8.0f}s {start:>8.1f} {0:>10.1f} {0:>5} {0:>7.1f}")
        peak, minute = start, 1
        while minute <= minutes:
            await asyncio.sleep(0.05)
            view = monitor.view()
            peak = max(peak, rss_mb())
            if view.set_seconds >= 60 * minute:
                now = rss_mb()
                print(f"{60 * minute:>8.0f}s {now:>8.1f} {now - start:>10.1f} {len(view.reps):>5} "
                      f"{time.monotonic() - began:>7.1f}", flush=True)
                minute += 1
        stored = monitor.stop_set()
        await monitor.stop()
    print(f"peak during the set {peak:.1f} MB: {peak - start:+.1f} MB over its start; "
          f"{len(stored.reps)} reps in {stored.duration_s / 60:.1f} min")


async def run_console(minutes: float, folder: Path) -> None:
    """The console itself, in real time: live screen, a set, VmRSS every minute."""
    from dataclasses import replace

    from coach_tui.config import load_config
    from coach_tui.ui.app import make_app
    from coach_tui.ui.screens.live_screen import LiveScreen

    base = load_config()
    config = replace(base, sessions_dir=folder,
                     simulation=replace(base.simulation, sensors=8, fs_hz=FS, realtime=True))
    with Database(folder) as database:
        app = make_app(config, Repository(database))
        async with app.run_test(size=(100, 30)) as pilot:
            await pilot.pause()
            await pilot.press("enter")  # the seeded demo client: its live screen
            while not (isinstance(app.screen, LiveScreen) and app.screen.monitor is not None):
                await asyncio.sleep(0.05)
            screen = app.screen
            await asyncio.sleep(3.0)  # past the mains decision
            await pilot.press("space")
            while not screen.monitor.recording:
                await asyncio.sleep(0.05)
            start, began = rss_mb(), time.monotonic()
            print("the console (headless 100×30), 8 sensors × 2000 Hz simulated in real time, one set")
            print(f"{'minute':>6} {'RSS MB':>8} {'growth MB':>10} {'reps':>5}")
            print(f"{0:>6} {start:>8.1f} {0:>10.1f} {0:>5}", flush=True)
            for minute in range(1, int(minutes) + 1):
                await asyncio.sleep(began + 60 * minute - time.monotonic())
                now = rss_mb()
                print(f"{minute:>6} {now:>8.1f} {now - start:>10.1f} {len(screen.monitor.view().reps):>5}", flush=True)
            await pilot.press("space")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=10.0, help="length of the set (default 10)")
    parser.add_argument("--console", action="store_true", help="the whole console, in real time")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as folder:
        asyncio.run((run_console if args.console else run)(args.minutes, Path(folder)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
