"""CPU cost of the live screen: ours against a naive ProgressBar screen on the same data path.

Runs, one after the other in one process, each headless (``App.run_test``, 120×40 cells) on the
simulated kit with 8 sensors at 2 kHz, paced in real time:

* **ours, live (no set)** -- the real console built by ``make_app``: the clients screen, Enter on
  the seeded demo client, then the ``LiveScreen`` (one 20 Hz timer, ``batch_update``, bars repainted
  only when something visible changed);
* **ours, recording a set** -- the same app after Space: the set recorder and the set analysis
  run too;
* **naive, recording a set** -- a minimal Textual app with 8 ``ProgressBar`` (one per channel) fed by
  the same ``LiveMonitor`` (from the same factory), every bar updated on every 20 Hz tick with
  ``update(total=..., progress=...)``, unconditionally, no batching;
* **data path only** -- the same ``LiveMonitor`` recording a set and read by ``view()`` at 20 Hz
  with no Textual at all: the share of both figures that is not UI.

Each row measures the process CPU time (user + system, ``time.process_time``) over ``--seconds``
of wall time, after a warm-up, as a percentage of one core, plus how often the screen refreshed.

Run from the repository root: ``python bench/live_screen_cpu.py [--seconds 20]`` (~80 s).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import sys
import tempfile
import time
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path

try:
    import coach_tui  # noqa: F401
except ModuleNotFoundError:  # running from a checkout without `pip install -e .`
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np
import textual
from textual.app import App, ComposeResult
from textual.containers import Horizontal
from textual.widgets import Footer, Header, Label, ProgressBar

from coach_tui.config import Config, load_config
from coach_tui.domain.client import Client
from coach_tui.workflows.live_monitor import LiveMonitor
from coach_tui.store.database import Database
from coach_tui.store.repository import Repository
from coach_tui.ui.app import make_app
from coach_tui.ui.screens.live_screen import REFRESH_HZ, LiveScreen
from coach_tui.ui.widgets.activation_bars import FULL_SCALE_PCT, ActivationBars

SENSORS = 8
FS_HZ = 2000
SIZE = (120, 40)
EXERCISE = "hip_thrust"  # what LiveScreen opens by default (CoachApp.open_live)
TARGET_CPU_PCT = 15.0  # of one core
TARGET_RATIO = 3.0  # naive / ours


# --------------------------------------------------------------------------------------------
# counters
# --------------------------------------------------------------------------------------------


class Probe:
    """Counts ticks (refresh_view calls), bar repaints and frames handed to the terminal."""

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.ticks = 0
        self.repaints = 0
        self.frames = 0


PROBE = Probe()


@contextmanager
def counting(cls: type, name: str, counter: str):
    """Wrap ``cls.name`` (a method, possibly inherited) so each call bumps ``PROBE.<counter>``."""
    own = cls.__dict__.get(name)
    original = getattr(cls, name)

    def wrapper(self, *args, **kwargs):
        setattr(PROBE, counter, getattr(PROBE, counter) + 1)
        return original(self, *args, **kwargs)

    setattr(cls, name, wrapper)
    try:
        yield
    finally:
        if own is None:
            delattr(cls, name)
        else:
            setattr(cls, name, own)


def count_frames(app: App, serialize: bool) -> None:
    """Count the compositor updates the app hands to its driver, and (``serialize``) build the
    escape sequences a real terminal driver would write: headless Textual skips that step."""
    display = app._display

    def counted(screen, renderable) -> None:
        if renderable is not None and not app._batch_count:
            PROBE.frames += 1
            if serialize and hasattr(renderable, "render_segments"):
                renderable.render_segments(app.console)
        display(screen, renderable)

    app._display = counted  # the screen calls app._display(...): the instance attribute wins


# --------------------------------------------------------------------------------------------
# measuring
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    name: str
    cpu_pct: float  # of one core
    refresh_hz: float
    repaints_hz: float | None
    frames_hz: float | None
    wall_s: float


async def measure(name: str, seconds: float, *, repaints: bool = True, frames: bool = True) -> Row:
    """Process CPU time over ``seconds`` of wall time, and the counters over the same window."""
    PROBE.reset()
    wall0, cpu0 = time.perf_counter(), time.process_time()
    await asyncio.sleep(seconds)
    cpu1, wall1 = time.process_time(), time.perf_counter()
    wall = wall1 - wall0
    return Row(name, (cpu1 - cpu0) / wall * 100.0, PROBE.ticks / wall,
               PROBE.repaints / wall if repaints else None, PROBE.frames / wall if frames else None, wall)


async def wait_until(condition, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError("the app did not reach the expected state")
        await asyncio.sleep(0.05)


# --------------------------------------------------------------------------------------------
# ours: the real app
# --------------------------------------------------------------------------------------------


async def run_ours(config: Config, repo: Repository, seconds: float, warmup: float, serialize: bool,
                   live_too: bool) -> list[Row]:
    rows = []
    app = make_app(config, repo)
    with counting(LiveScreen, "refresh_view", "ticks"), counting(ActivationBars, "repaint", "repaints"):
        async with app.run_test(size=SIZE) as pilot:
            count_frames(app, serialize)
            await pilot.pause()
            await pilot.press("enter")  # clients screen: open the (seeded) demo client
            try:
                await wait_until(lambda: isinstance(app.screen, LiveScreen), timeout=3.0)
            except TimeoutError:
                app.open_live(repo.clients()[0])
                await wait_until(lambda: isinstance(app.screen, LiveScreen))
            screen = app.screen
            await wait_until(lambda: screen.monitor is not None)
            await asyncio.sleep(warmup)  # past the first mains decision (~1.3 s at the earliest) and the first layout
            if live_too:
                rows.append(await measure("ours, live (no set)", seconds))
            await pilot.press("space")
            await wait_until(lambda: screen.monitor.recording)
            app.clear_notifications()  # the "recording set" toast would repaint for 5 s
            await asyncio.sleep(0.5)
            rows.append(await measure("ours, recording a set", seconds))
            if not screen.monitor.recording:
                raise RuntimeError("the set stopped during the measurement")
    return rows


# --------------------------------------------------------------------------------------------
# naive: 8 ProgressBars, every one updated every tick
# --------------------------------------------------------------------------------------------


class NaiveLiveApp(App):
    """The obvious way: a ProgressBar per channel, all updated on every tick."""

    CSS = """
    .row { height: 1; }
    .row Label { width: 20; }
    """

    def __init__(self, live: LiveMonitor):
        super().__init__()
        self.live = live  # not ``console``: App.console is Rich's
        self.bars: list[ProgressBar] = []

    def compose(self) -> ComposeResult:
        yield Header()
        for i, (_, assignment) in enumerate(self.live.meter.channels):
            with Horizontal(classes="row"):
                yield Label(f"{assignment.muscle.replace('_', ' ')} {assignment.side}")
                # show_eta=False: an ETA means nothing on a level meter (and would only cost more)
                yield ProgressBar(total=FULL_SCALE_PCT, show_eta=False, id=f"bar-{i}")
        yield Footer()

    def on_mount(self) -> None:
        self.bars = list(self.query(ProgressBar))
        self.live.start()
        self.set_interval(1 / REFRESH_HZ, self.tick)

    async def on_unmount(self) -> None:
        await self.live.stop()

    def tick(self) -> None:
        PROBE.ticks += 1
        view = self.live.view()
        calibrated = all(c.units == "%MVC" for c in view.channels)
        scale = FULL_SCALE_PCT if calibrated else max([c.peak for c in view.channels] + [1.0]) * 1.1
        for bar, channel in zip(self.bars, view.channels):
            bar.update(total=scale, progress=channel.value)
            PROBE.repaints += 1


async def run_naive(live: LiveMonitor, seconds: float, warmup: float, serialize: bool) -> Row:
    app = NaiveLiveApp(live)
    async with app.run_test(size=SIZE) as pilot:
        count_frames(app, serialize)
        await pilot.pause()
        await asyncio.sleep(warmup)
        live.start_set()
        await asyncio.sleep(0.5)
        row = await measure("naive 8× ProgressBar, recording", seconds)
    return row


# --------------------------------------------------------------------------------------------
# the data path alone
# --------------------------------------------------------------------------------------------


async def run_data_path(live: LiveMonitor, seconds: float, warmup: float) -> Row:
    live.start()

    async def reader() -> None:
        while True:
            PROBE.ticks += 1
            live.view()
            await asyncio.sleep(1 / REFRESH_HZ)

    task = asyncio.get_running_loop().create_task(reader())
    try:
        await asyncio.sleep(warmup)
        live.start_set()
        await asyncio.sleep(0.5)
        row = await measure("data path only (no UI), recording", seconds, repaints=False, frames=False)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await live.stop()
    return row


# --------------------------------------------------------------------------------------------
# report
# --------------------------------------------------------------------------------------------


def machine() -> list[str]:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:
        usable = os.cpu_count()
    return [
        f"python {platform.python_version()} ({platform.python_implementation()}) on {platform.platform()}",
        f"textual {textual.__version__}, rich {_version('rich')}, numpy {np.__version__}",
        f"cpu: {cpu}; {os.cpu_count()} logical cores ({usable} usable by this process)",
    ]


def _version(dist: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(dist)
    except PackageNotFoundError:
        return "?"


def fmt(value: float | None, spec: str) -> str:
    return "—" if value is None else format(value, spec)


def report(rows: list[Row]) -> bool:
    print()
    print(f"{'version':<36} {'CPU % of 1 core':>15} {'refresh Hz':>10} {'repaints/s':>10} {'frames/s':>9}")
    print("-" * 84)
    for r in rows:
        print(f"{r.name:<36} {r.cpu_pct:>15.1f} {r.refresh_hz:>10.1f} {fmt(r.repaints_hz, '.1f'):>10} "
              f"{fmt(r.frames_hz, '.1f'):>9}")
    print()
    by = {r.name: r for r in rows}
    ours = [r for r in rows if r.name.startswith("ours")]
    ours_rec = by["ours, recording a set"]
    naive = by["naive 8× ProgressBar, recording"]
    base = next((r for r in rows if r.name.startswith("data path")), None)
    ratio = naive.cpu_pct / ours_rec.cpu_pct
    print(f"naive / ours (both recording a set): {ratio:.2f}×")
    if base is not None:
        ui_ours, ui_naive = ours_rec.cpu_pct - base.cpu_pct, naive.cpu_pct - base.cpu_pct
        ui_ratio = f"{ui_naive / ui_ours:.1f}×" if ui_ours > 0.5 else "n/a (ours' UI share is below noise)"
        print(f"UI share (row minus data path): ours {ui_ours:.1f} %, naive {ui_naive:.1f} %; naive / ours {ui_ratio}")
        left = TARGET_CPU_PCT - base.cpu_pct
        print(f"data path alone (simulated kit + meter + recorder + analysis): {base.cpu_pct:.1f} %; "
              + (f"that leaves {left:.1f} % of one core for the UI under the {TARGET_CPU_PCT:.0f} % target"
                 if left > 0 else f"already over the {TARGET_CPU_PCT:.0f} % target without any UI"))
    print()
    worst = max(ours, key=lambda r: r.cpu_pct)
    ok_cpu = worst.cpu_pct < TARGET_CPU_PCT
    ok_ratio = ratio >= TARGET_RATIO
    ok_rate = all(r.refresh_hz >= 0.9 * REFRESH_HZ for r in ours)
    print(f"{'PASS' if ok_cpu else 'FAIL'}  ours < {TARGET_CPU_PCT:.0f} % of one core "
          f"(worst row: {worst.name}, {worst.cpu_pct:.1f} %)")
    print(f"{'PASS' if ok_ratio else 'FAIL'}  ours ≥ {TARGET_RATIO:.0f}× cheaper than naive ({ratio:.2f}×)")
    print(f"{'PASS' if ok_rate else 'FAIL'}  ours keeps its {REFRESH_HZ:.0f} Hz refresh (≥ 90 %: "
          + ", ".join(f"{r.refresh_hz:.1f} Hz" for r in ours) + ")")
    return ok_cpu and ok_ratio


# --------------------------------------------------------------------------------------------


async def main_async(args) -> bool:
    """All rows, one after the other, then the table; True when both targets pass."""
    base = load_config()
    total0 = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="coach-bench-") as tmp:
        config = replace(base, sessions_dir=Path(tmp),
                         simulation=replace(base.simulation, sensors=SENSORS, fs_hz=FS_HZ, realtime=True))
        repo = Repository(Database(Path(tmp)))
        rows: list[Row] = []
        try:
            print(f"ours: {'live, then ' if not args.recording_only else ''}recording a set, "
                  f"{args.seconds:g} s each ...", flush=True)
            rows += await run_ours(config, repo, args.seconds, args.warmup, not args.no_serialize,
                                   not args.recording_only)
            client: Client = repo.clients()[0]  # the demo client ours seeded
            factory = make_app(config, repo)  # never run: only its LiveMonitor factory is used
            print(f"naive: recording a set, {args.seconds:g} s ...", flush=True)
            rows.append(await run_naive(factory.live_monitor(client, EXERCISE), args.seconds, args.warmup,
                                        not args.no_serialize))
            if args.data_path_seconds > 0:
                print(f"data path only: {args.data_path_seconds:g} s ...", flush=True)
                rows.append(await run_data_path(factory.live_monitor(client, EXERCISE), args.data_path_seconds,
                                                args.warmup))
        finally:
            repo.db.close()
    ok = report(rows)
    print(f"\n(total run {time.perf_counter() - total0:.0f} s)")
    return ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=20.0, help="measured wall time per row (default 20)")
    parser.add_argument("--warmup", type=float, default=2.5,
                        help="seconds before measuring (default 2.5: hum is found 1.3 s in at the earliest)")
    parser.add_argument("--data-path-seconds", type=float, default=5.0,
                        help="measured wall time of the data-path-only row (default 5; 0 skips it)")
    parser.add_argument("--recording-only", action="store_true", help="skip the 'ours, live (no set)' row")
    parser.add_argument("--no-serialize", action="store_true",
                        help="do not build the terminal escape sequences of each frame (pure headless)")
    args = parser.parse_args()
    print("live screen CPU: simulated kit, "
          f"{SENSORS} sensors × {FS_HZ} Hz, real-time, headless {SIZE[0]}×{SIZE[1]}, refresh timer {REFRESH_HZ:g} Hz")
    for line in machine():
        print(line)
    print("frames are serialized to escape sequences as a terminal driver would"
          if not args.no_serialize else "frames are not serialized (pure headless)")
    asyncio.run(main_async(args))
    return 0  # a benchmark, not a test: the PASS/FAIL lines are the verdict (like pipeline_throughput.py)


if __name__ == "__main__":
    sys.exit(main())
