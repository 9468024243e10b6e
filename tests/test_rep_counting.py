"""Rep counts a trainer can act on, through the console's own path — the live monitor streaming a
source into a set recording, stopped and re-analysed — driven by sample counts, not wall time:
the last rep counts when the set is stopped right after it (live and ``coach record``); a set
started at any moment, within 0.2 s of streaming, calibrated or not, counts every complete rep; a
curl under a held load counts its light first rep; the analysis of a long set keeps bounded state."""

from __future__ import annotations

import asyncio
import gc
import json
import sys
import types

import numpy as np
import pytest

from coach_tui.domain.calibration import Calibration
from coach_tui.domain.channels import ChannelAssignment
from coach_tui.domain.client import Client
from coach_tui.domain.exercises import EXERCISES
from coach_tui.domain.ids import now_utc
from coach_tui.domain.placement import Placement
from coach_tui.dsp.analysis_settings import AnalysisSettings
from coach_tui.dsp.reps import RepDetector, detect_reps
from coach_tui.dsp.set_analysis import SetAnalyzer, SetLayout
from coach_tui.sources.block import Block, SensorStatus
from coach_tui.sources.emg_synthesis import raised_cosine_bursts
from coach_tui.store.database import Database
from coach_tui.store.reanalysis import reanalyze
from coach_tui.store.repository import Repository
from coach_tui.workflows.live_monitor import LiveMonitor

from synthetic import MVC_UV, emg, random_rep_set

FS = 2000.0
BLOCK = 40  # 20 ms blocks, as the simulated kit and most sensors send


class ScriptedSource:
    """A source whose blocks the test hands over, so a set starts and stops at known samples."""

    def __init__(self, signals: dict[str, np.ndarray]):
        self.signals = signals
        self.queue: asyncio.Queue = asyncio.Queue()
        self.sent = 0

    def __aiter__(self):
        return self._blocks()

    async def _blocks(self):
        while (block := await self.queue.get()) is not None:
            yield block

    async def play(self, until: int) -> None:
        """Hand over every sensor's samples up to ``until`` and wait until they are taken."""
        for start in range(self.sent, until, BLOCK):
            end = min(start + BLOCK, until)
            for sid, x in self.signals.items():
                self.queue.put_nowait(Block(sid, start, x[start:end, None].astype(np.float32), start / FS))
        self.sent = max(self.sent, until)
        while not self.queue.empty():
            await asyncio.sleep(0)

    async def close(self) -> None:
        self.queue.put_nowait(None)

    def status(self) -> list[SensorStatus]:
        return [SensorStatus(sid, FS, 1, connected=True) for sid in self.signals]


def _calibration(client: Client, side: str, muscle: str = "glute_max") -> Calibration:
    # The rest level a calibration measures: the envelope of the noise floor, in µV.
    return Calibration(f"cal-{muscle}-{side}", client.id, muscle, side, MVC_UV, "µV", (MVC_UV,), 3.0, 0.2, now_utc(),
                       Placement(muscle, side, side))


async def _record_set(tmp_path, signals: dict[str, np.ndarray], exercise, *, stream_from: int, start: int, stop: int,
                      calibrated: bool):
    """Stream ``signals`` from sample ``stream_from``, start a set at ``start`` and stop it at ``stop``
    (absolute samples of the signals); return the stored set and its re-analysis."""
    muscle = exercise.target
    sides = {sid: sid[-1] for sid in signals}
    with Database(tmp_path / "sessions") as database:
        repo = Repository(database)
        client = repo.add_client(Client("c-ana", "Ana", created=now_utc()))
        calibrations = {f"{muscle}:{s}": _calibration(client, s, muscle) for s in sides.values()} if calibrated else {}
        source = ScriptedSource({sid: x[stream_from:] for sid, x in signals.items()})
        monitor = LiveMonitor(source, FS, {sid: [ChannelAssignment(muscle, s)] for sid, s in sides.items()}, client,
                              exercise, AnalysisSettings(), calibrations, tmp_path / "sessions", repo, "test")
        monitor.start()
        await source.play(start - stream_from)
        monitor.start_set()
        await source.play(stop - stream_from)
        stored = monitor.stop_set()
        await monitor.stop()
        again = reanalyze(tmp_path / "sessions" / repo.session(stored.session_id).folder / stored.recording)
    return stored, again


def _glutes(seed: int, reps: int = 6):
    """Left and right glute max of a set of ``reps`` reps (the left 10 % weaker), and its truth."""
    rng = np.random.default_rng(seed)
    truth = random_rep_set(rng, FS, reps, 40, 90)
    signals = {"R": emg(truth.activation(), FS, rng), "L": emg(truth.activation(0.9), FS, rng)}
    return truth, signals


# --- the last rep ---------------------------------------------------------------------------------


@pytest.mark.parametrize("after_s", [0.0, 0.05, 0.15, 0.3])
def test_the_last_rep_counts_when_the_detector_is_finished_right_after_it(after_s):
    rng = np.random.default_rng(3)
    truth = random_rep_set(rng, FS, 6, 30, 90)
    envelope = _percent_mvc(emg(truth.activation(), FS, rng))
    stop = round((truth.starts_s[-1] + truth.durations_s[-1] + after_s) * FS)
    detector = RepDetector(FS, 5.0)
    reps = detector.update(envelope[:stop])
    assert len(reps) == 5  # the last one is not confirmed yet (the smoothed envelope lags) …
    reps += detector.finish()
    assert len(reps) == 6  # … and counts when the set ends
    assert abs(reps[-1].end / FS - (stop / FS - after_s)) < 0.3
    assert reps == detect_reps(envelope[:stop], FS, 5.0)


def test_a_rep_still_under_way_when_the_set_stops_is_not_counted():
    rng = np.random.default_rng(3)
    truth = random_rep_set(rng, FS, 6, 30, 90)
    envelope = _percent_mvc(emg(truth.activation(), FS, rng))
    top = round((truth.starts_s[-1] + truth.durations_s[-1] / 2) * FS)  # the last rep at its peak
    assert len(detect_reps(envelope[:top], FS, 5.0)) == 5


def _percent_mvc(x: np.ndarray) -> np.ndarray:
    from coach_tui.dsp import DspSettings, FilterSettings, Pipeline

    return Pipeline(FS, 1, DspSettings(FilterSettings(mains="off")), [MVC_UV]).process(x[:, None]).percent_mvc[:, 0]


@pytest.mark.parametrize("after_s", [0.1, 0.4])
async def test_the_console_keeps_the_last_rep_when_the_set_is_stopped_right_after_it(tmp_path, after_s):
    truth, signals = _glutes(seed=5)
    last_end = truth.starts_s[-1] + truth.durations_s[-1]
    stored, again = await _record_set(tmp_path, signals, EXERCISES["hip_thrust"], stream_from=0, start=round(0.5 * FS),
                                      stop=round((last_end + after_s) * FS), calibrated=False)
    assert len(stored.reps) == len(truth.starts_s)
    assert abs(0.5 + stored.reps[-1].end_s - last_end) < 0.3  # times count from the set's start
    assert again.reps == list(stored.reps)  # the recording re-analysed gives what was stored, last rep included


def test_coach_record_keeps_the_last_rep_when_its_seconds_end_right_after_it(tmp_path, capsys, monkeypatch):
    """``coach record --seconds`` ending 0.3 s after a rep of the simulated kit: that rep is stored."""
    from coach_tui.cli import main
    from coach_tui.config import load_config
    from coach_tui.sources.simulated import SimulatedKit, sensors_for_exercise

    config_path = tmp_path / "config.toml"
    config_path.write_text('sessions_dir = "data"\n[simulation]\nrealtime = false\n', encoding="utf-8")
    config = load_config(config_path)
    sim, hip = config.simulation, EXERCISES["hip_thrust"]
    kit = SimulatedKit(sensors_for_exercise(hip.target, hip.synergists, hip.antagonists, sim.sensors), fs_hz=sim.fs_hz,
                       seed=sim.seed, scenario="reps")
    kit.generate(20.0)  # the same kit `coach record` builds: its rep schedule
    ends = [end / sim.fs_hz for _, end, _ in kit.rep_log if end / sim.fs_hz > 8.0]
    seconds = ends[0] + 0.3
    monkeypatch.chdir(tmp_path)
    assert main(["--config", str(config_path), "clients", "add", "Ana"]) == 0
    assert main(["--config", str(config_path), "record", "--client", "Ana", "--simulate", "--seconds", f"{seconds:.3f}"]) == 0
    capsys.readouterr()
    assert main(["--config", str(config_path), "sessions", "--json"]) == 0
    [session] = json.loads(capsys.readouterr().out)
    complete = [end for _, end, _ in kit.rep_log if end / sim.fs_hz <= seconds]
    assert session["sets"][0]["reps"] == len(complete)


# --- a set started at any moment ------------------------------------------------------------------


@pytest.mark.parametrize("calibrated", [False, True])
async def test_a_set_started_at_any_moment_counts_every_complete_rep(tmp_path, calibrated):
    """Streaming begins at 20 phases of a rep cycle — at rest, mid-rise, at the peak, mid-fall — and the
    set starts 0.2 s later, before the console has seen any rest. Every rep that begins once the set's
    filters have settled is counted once, where it is; the only other rep allowed is the one under
    way when the set started (what was seen of it may count)."""
    truth, signals = _glutes(seed=11)
    cycle = truth.starts_s[1] - truth.starts_s[0]
    last_end = truth.starts_s[-1] + truth.durations_s[-1]
    settle = 0.2  # the set's filters settle in 0.1 s at 2 kHz; a rep starting in them is partly seen
    for k in range(20):
        begin = truth.starts_s[0] - 0.3 + k / 20 * cycle
        start = begin + 0.2
        stored, again = await _record_set(tmp_path / f"phase-{k}", signals, EXERCISES["hip_thrust"],
                                          stream_from=round(begin * FS), start=round(start * FS),
                                          stop=round((last_end + 1.0) * FS), calibrated=calibrated)
        found = [(start + r.start_s, r) for r in stored.reps]  # rep times are relative to the set's start
        unmatched = list(found)
        for rep_start, duration in zip(truth.starts_s, truth.durations_s, strict=True):
            hits = [f for f in unmatched if rep_start - 0.1 < f[0] < rep_start + duration / 2]
            if rep_start >= start + settle:
                assert len(hits) == 1, (k, rep_start, [f[0] for f in found])
            unmatched = [f for f in unmatched if f not in hits[:1]]
        assert all(f[0] < start + 1.0 for f in unmatched), (k, [f[0] for f in found])  # only a rep under way
        assert again.reps == list(stored.reps)


# --- a held load ----------------------------------------------------------------------------------


def _held_curl(seed: int) -> dict[str, np.ndarray]:
    """Biceps under a held dumbbell (12 % of MVC, never resting) for 25 s, then 5 curls of 2 s every
    3 s, the first light (to 32 % of MVC, under 3 × the held level) and the others to 50–60 %."""
    rng = np.random.default_rng(seed)
    n = round(45 * FS)
    starts = [25.0, 28.0, 31.0, 34.0, 37.0]
    peaks = [0.2, 0.45, 0.5, 0.48, 0.42]
    activation = 0.12 * MVC_UV + raised_cosine_bursts(n, FS, starts, [2.0] * 5, [p * MVC_UV for p in peaks])
    return {"R": emg(activation, FS, rng), "L": emg(activation * 0.95, FS, rng)}


@pytest.mark.parametrize("calibrated", [False, True])
async def test_a_curl_under_a_held_load_counts_its_light_first_rep(tmp_path, calibrated):
    """The client holds the weight for the 20 s before the set, so the quietest level the console saw
    is the held load: the light first curl must count by its own rise, not by a multiple of it."""
    signals = _held_curl(seed=2)
    stored, again = await _record_set(tmp_path, signals, EXERCISES["biceps_curl"], stream_from=0,
                                      start=round(24.0 * FS), stop=round(41.0 * FS), calibrated=calibrated)
    starts = [24.0 + r.start_s for r in stored.reps]
    assert len(starts) == 5, starts
    assert all(abs(s - t - 0.3) < 0.4 for s, t in zip(starts, [25.0, 28.0, 31.0, 34.0, 37.0], strict=True)), starts
    assert stored.reps[0].peak < 0.6 * stored.reps[1].peak
    assert again.reps == list(stored.reps)


# --- bounded state ----------------------------------------------------------------------------------


def retained_bytes(root) -> int:
    """Bytes of everything ``root`` holds: every object reachable from it (modules, classes and
    functions aside), arrays with their data and the arrays they are views of."""
    seen, stack, total = set(), [root], 0
    shared = (types.ModuleType, type, types.FunctionType, types.BuiltinFunctionType, types.CodeType)
    while stack:
        held = stack.pop()
        if id(held) in seen or isinstance(held, shared):
            continue
        seen.add(id(held))
        total += sys.getsizeof(held)
        stack.extend(gc.get_referents(held))
        if isinstance(held, np.ndarray) and held.base is not None:
            stack.append(held.base)
    return total


def test_a_long_set_keeps_bounded_state_and_the_same_reps_as_a_short_one():
    """Ten repeats of a 25 s set of reps on 8 channels: the analysis holds what the next rep needs (a
    few seconds of envelope per channel), not the set — what it holds grows from the second repeat
    to the tenth by its reps' metrics only (well under 0.5 MB), where keeping every sample would add
    30 MB; and its first reps are those of the first repeat analysed alone. (What it holds is walked
    object by object: tracemalloc would count the same and slow the analysis fourfold.)"""
    rng = np.random.default_rng(8)
    channels = [ChannelAssignment(m, s) for m in ("glute_max", "hamstrings", "adductors", "erector_spinae") for s in "LR"]
    layout = SetLayout({f"s{k}": [a] for k, a in enumerate(channels)}, "glute_max", ("hamstrings",))
    truth = random_rep_set(rng, FS, 10, 40, 90)
    repeat = np.stack([emg(truth.activation(0.5 + k / 16), FS, rng) for k in range(8)], axis=1)
    long, short = SetAnalyzer(FS, layout), SetAnalyzer(FS, layout)
    held = []
    for time in range(10):
        for at in range(0, repeat.shape[0], 4000):
            for k in range(8):
                long.add(f"s{k}", repeat[at : at + 4000, k : k + 1])
                if time == 0:
                    short.add(f"s{k}", repeat[at : at + 4000, k : k + 1])
        held.append(retained_bytes(long))
    long.finish()
    short.finish()
    assert len(long.reps) == 10 * len(truth.starts_s)
    assert long.reps[: len(short.reps)] == short.reps
    assert held[-1] - held[1] < 0.5e6, held
