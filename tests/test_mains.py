"""Mains hum is looked for where the muscle rests: found under contractions, not declared on clean
noise, added mid-stream at a sample that does not depend on chunking, and replayed from the recipe."""

import asyncio

import numpy as np
import pytest
from scipy import signal

from coach_tui.domain.channels import ChannelAssignment
from coach_tui.domain.exercises import EXERCISES
from coach_tui.dsp import Pipeline
from coach_tui.dsp.analysis_settings import AnalysisSettings
from coach_tui.dsp.mains import MainsDecision, MainsListener, checkpoint_samples, detect_mains, mains_fraction
from coach_tui.dsp.quality import assess_channel
from coach_tui.dsp.set_analysis import SetLayout
from coach_tui.dsp.set_plan import SetPlan
from coach_tui.sources.simulated import SimulatedKit, sensors_for_exercise
from coach_tui.store.reanalysis import reanalyze
from coach_tui.workflows.set_recording import SetRecorder, sensor_formats


def _set(seed, seconds, fs=1000):
    """One channel of a simulated set: reps at 70 %MVC with about a second of rest between."""
    kit = SimulatedKit(2, fs_hz=fs, seed=seed, scenario="reps")
    return kit.generate(seconds)[kit.sensors[0].sensor_id].astype(float)[None, :]


def _hum(n, fs, mains_hz, amplitude, start=0):
    t = np.arange(n) / fs
    x = amplitude * (np.sin(2 * np.pi * mains_hz * t) + np.sin(2 * np.pi * 3 * mains_hz * t + 1.0))
    x[:start] = 0.0
    return x


@pytest.mark.parametrize("mains_hz", [50.0, 60.0])
def test_ten_microvolts_of_hum_is_found_under_contractions(mains_hz):
    """10 µV on the fundamental and the 3rd harmonic: far below the EMG of a rep, plain at rest."""
    fs = 1000
    for seed in range(8):
        x = _set(seed, 20.0, fs)
        assert detect_mains(x + _hum(x.shape[1], fs, mains_hz, 10.0), fs) == mains_hz, seed
        assert detect_mains(x, fs) is None, seed


@pytest.mark.parametrize("edge_hz", [445.0, 450.0, 455.0])
def test_a_steep_band_edge_next_to_a_harmonic_is_not_hum(edge_hz):
    fs = 1000
    sos = signal.ellip(8, 0.1, 80, [20.0, edge_hz], btype="band", fs=fs, output="sos")
    for seed in range(6):
        x = signal.sosfilt(sos, np.random.default_rng(seed).standard_normal((2, 31 * fs)) * 10, axis=-1)[:, fs:]
        listener = MainsListener(fs, 2)
        assert listener.listen(x) is None, seed
        assert listener.closest < 1.0


def test_hum_share_is_measured_at_rest_and_named():
    """A channel that rests between reps in 20 µV (RMS) of hum: most of its rest is hum, although
    the reps hold almost all of its power."""
    kit = SimulatedKit(2, fs_hz=1000, seed=11, scenario="reps", mains_hz=50, mains_uv=20.0)
    x = kit.generate(30.0)[kit.sensors[0].sensor_id].astype(float)
    assert mains_fraction(x, 1000, 50.0) > 0.9
    quality = assess_channel("left glute max", x, 3.0, 1000, 50.0)
    assert quality.status == "bad"
    assert any(f"mains hum {quality.mains_fraction * 100:.0f} % (50 Hz)" in r and r.startswith("re-seat the left glute max")
               for r in quality.reasons)
    clean = SimulatedKit(2, fs_hz=1000, seed=11, scenario="reps").generate(30.0)[kit.sensors[0].sensor_id]
    assert mains_fraction(clean, 1000, 50.0) < 0.05


def test_hum_that_starts_late_is_notched_from_a_checkpoint_whatever_the_chunks():
    fs = 2000
    x = _set(4, 24.0, fs)
    start = 12 * fs
    x = (x + _hum(x.shape[1], fs, 50.0, 10.0, start)).T
    rng = np.random.default_rng(0)
    whole = Pipeline(fs, 1)
    whole_out = whole.process(x)
    chunked = Pipeline(fs, 1)
    edges = np.unique(np.concatenate([[0], rng.integers(1, len(x), 300), [len(x)]]))
    frames = [chunked.process(x[a:b]) for a, b in zip(edges[:-1], edges[1:])]
    decision = whole.mains_decision
    assert decision is not None and decision.mains_hz == 50.0
    assert start < decision.at < start + 4 * fs  # after the hum began, at the next rest
    assert decision.at % checkpoint_samples(fs) == 0
    assert chunked.mains_decision == decision
    assert np.array_equal(np.concatenate([f.envelope for f in frames]), whole_out.envelope)
    # Replaying the decision gives the same output without listening.
    replayed = Pipeline(fs, 1, mains_decision=decision)
    assert not replayed.listening
    assert np.array_equal(replayed.process(x).envelope, whole_out.envelope)
    # Rest after the notch: back near the amplifier floor (hum of 14 µV RMS would read ~14 µV).
    rest = whole_out.envelope[decision.at + fs :, 0]
    assert np.quantile(rest, 0.05) < 5.0


def test_a_decision_can_only_be_replayed_on_the_filter_block_grid():
    with pytest.raises(ValueError, match="multiple of 64"):
        Pipeline(1000, 1, mains_decision=MainsDecision(1000, 50.0))


def test_hum_that_starts_mid_set_goes_into_the_stored_recipe_and_replays_bit_for_bit(tmp_path):
    exercise = EXERCISES["hip_thrust"]
    sensors = sensors_for_exercise(exercise.target, exercise.synergists, exercise.antagonists, 4)
    kit = SimulatedKit(sensors, fs_hz=1000, seed=5, duration_s=30, scenario="reps")
    layout = SetLayout({s.sensor_id: [ChannelAssignment(s.muscle, s.side)] for s in kit.sensors},
                       exercise.target, exercise.synergists)
    # The second sensor was already notched before the set (the live filters had found hum on it).
    already = kit.sensors[1].sensor_id
    plan = SetPlan(kit.fs_hz, layout, AnalysisSettings(), {}, {}, {already: MainsDecision(0, 50.0)})
    recorder = SetRecorder(tmp_path / "set-01", plan, sensor_formats(plan), {"source": "test"})
    loose = kit.sensors[0].sensor_id

    shown: dict[str, list[np.ndarray]] = {s.sensor_id: [] for s in kit.sensors}  # the envelopes the bars showed

    async def record():
        live = []
        async for block in kit:
            if block.first_index == 12_000:
                kit.steer(mains_hz=50, mains_uv=15.0, mains_sensor=loose)  # the left glute electrode lifts
            live += recorder.add(block)
            shown[block.sensor_id].append(recorder.analyzer.latest_values[:, 0])
        recorder.close()
        return live

    live = asyncio.run(record())
    notches = recorder.plan.notches
    assert notches[already] == MainsDecision(0, 50.0)
    assert notches[loose].mains_hz == 50.0 and 12_000 < notches[loose].at < 16_000
    assert all(notches[s.sensor_id] is None for s in kit.sensors[2:])  # listened to the end, no hum
    again = reanalyze(tmp_path / "set-01", keep_envelopes=True)
    assert again.plan == recorder.plan
    assert again.reps == live and len(live) >= 6
    for k, sensor in enumerate(kit.sensors):  # the analysis keeps its envelopes as float32 (dsp/history.py)
        assert np.array_equal(again.analyzer.envelope(k), np.concatenate(shown[sensor.sensor_id]).astype(np.float32))
