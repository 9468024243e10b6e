"""Live equals stored: the metrics shown while recording are what re-analysing the file gives."""

import asyncio
from dataclasses import replace

import numpy as np
import pytest

from coach_tui.domain.channels import ChannelAssignment
from coach_tui.domain.exercises import EXERCISES
from coach_tui.dsp.analysis_settings import AnalysisSettings
from coach_tui.dsp.set_analysis import SetLayout
from coach_tui.dsp.set_plan import SetPlan
from coach_tui.store.reanalysis import reanalyze
from coach_tui.workflows.set_recording import SetRecorder, sensor_formats
from coach_tui.sources.simulated import SimulatedKit, sensors_for_exercise


def _kit(**flags):
    exercise = EXERCISES["hip_thrust"]
    sensors = sensors_for_exercise(exercise.target, exercise.synergists, exercise.antagonists, 4)
    return exercise, SimulatedKit(sensors, fs_hz=2000, seed=7, duration_s=25, scenario="reps", **flags)


def _plan(kit, exercise, calibrated):
    layout = SetLayout({s.sensor_id: [ChannelAssignment(s.muscle, s.side)] for s in kit.sensors},
                       exercise.target, exercise.synergists)
    mvc = {f"{s.muscle}:{s.side}": kit.mvc_uv[s.sensor_id] for s in kit.sensors} if calibrated else {}
    return SetPlan(kit.fs_hz, layout, AnalysisSettings(), mvc, {})


async def _record(kit, recorder):
    live = []
    async for block in kit:
        live += recorder.add(block)
    finished = recorder.finish()  # the set is stopped: the last rep counts, the recording is closed
    assert finished.reps[:len(live)] == live
    return finished.reps


@pytest.mark.parametrize("calibrated", [True, False])
@pytest.mark.parametrize("flags", [{}, {"drop_packets": 0.05, "left_deficit_pct": 30.0}, {"block_ms": 7.0}])
def test_reanalysis_reproduces_live_rep_metrics_exactly(tmp_path, calibrated, flags):
    block_ms = flags.pop("block_ms", 20.0)
    exercise, kit = _kit(block_ms=block_ms, **flags)
    plan = _plan(kit, exercise, calibrated)
    recorder = SetRecorder(tmp_path / "set-01", plan, sensor_formats(plan), {"source": "test"})
    live = asyncio.run(_record(kit, recorder))
    assert len(live) >= 6
    again = reanalyze(tmp_path / "set-01")
    assert again.complete
    assert again.reps == live  # every field, bit for bit
    # The stored recipe is the plan, with the mains decisions the set's filters made (none here).
    assert again.plan == recorder.plan == replace(plan, notches={s.sensor_id: None for s in kit.sensors})
    units = {rep.units for rep in live}
    assert units == ({"%MVC"} if calibrated else {"µV"})
    if flags.get("left_deficit_pct"):
        assert all(rep.asymmetry_pct is None or rep.asymmetry_pct > 10 for rep in live)


def test_rep_metrics_carry_asymmetry_share_and_onset_order(tmp_path):
    exercise, kit = _kit(left_deficit_pct=30.0)
    plan = _plan(kit, exercise, calibrated=True)
    recorder = SetRecorder(tmp_path / "set", plan, sensor_formats(plan), {})
    reps = asyncio.run(_record(kit, recorder))
    asymmetry = np.array([r.asymmetry_pct for r in reps])
    assert abs(np.mean(asymmetry) - 30) < 8  # the simulated left deficit
    shares = [r.target_share for r in reps]
    assert all(0.5 < s < 0.8 for s in shares)  # the kit's target works at 0.70 vs synergist 0.40 of MVC
    for rep in reps:
        names = [name for name, _ in rep.onset_order]
        assert rep.onset_order[0][1] == 0.0
        # The target (glute max) leads the synergist in the simulated hip thrust.
        assert min(names.index(n) for n in names if "glute" in n) < min(names.index(n) for n in names if "hamstrings" in n)


def test_cocontraction_is_measured_against_the_exercises_antagonist(tmp_path):
    exercise = EXERCISES["biceps_curl"]
    sensors = sensors_for_exercise(exercise.target, exercise.synergists, exercise.antagonists, 6)
    assert {s.muscle for s in sensors} >= {"biceps", "triceps"}
    kit = SimulatedKit(sensors, fs_hz=2000, seed=3, duration_s=20, scenario="reps")
    layout = SetLayout({s.sensor_id: [ChannelAssignment(s.muscle, s.side)] for s in kit.sensors},
                       exercise.target, exercise.synergists, exercise.antagonists)
    plan = SetPlan(kit.fs_hz, layout, AnalysisSettings(), {f"{s.muscle}:{s.side}": kit.mvc_uv[s.sensor_id] for s in kit.sensors}, {})
    reps = asyncio.run(_record(kit, SetRecorder(tmp_path / "curl", plan, sensor_formats(plan), {})))
    assert len(reps) >= 4
    # The kit's antagonist works at 10 % of MVC under a target at 70 %: Winter's index is low but not zero.
    assert all(5 < r.cocontraction_pct < 45 for r in reps)
    # Without an antagonist placed there is nothing to measure.
    hip = _kit()[1]
    hip_plan = _plan(hip, EXERCISES["hip_thrust"], calibrated=True)
    hip_reps = asyncio.run(_record(hip, SetRecorder(tmp_path / "hip", hip_plan, sensor_formats(hip_plan), {})))
    assert all(r.cocontraction_pct is None for r in hip_reps)


def test_sensors_that_send_their_own_envelope_pass_through_and_replay_exactly(tmp_path):
    """A MyoWare-like sensor sends the envelope itself: the set analysis takes it as is (no band-pass,
    which would wipe a slow signal out), counts the reps and reports %MVC of it; re-analysis agrees."""
    from coach_tui.sources.block import Block

    exercise, kit = _kit()
    kit.keep_truth = True
    ids = [s.sensor_id for s in kit.sensors]
    plan = _plan(kit, exercise, calibrated=True)
    layout = SetLayout(plan.layout.sensors, exercise.target, exercise.synergists, envelope_sensors=frozenset(ids))
    plan = SetPlan(kit.fs_hz, layout, AnalysisSettings(), plan.mvc, {})
    # stored as a real device's samples: 32-bit counts (sensor_formats' device storage)
    recorder = SetRecorder(tmp_path / "set-env", plan, sensor_formats(plan, {sid: "counts" for sid in ids}), {"source": "test"})

    async def envelopes():
        live = []
        async for block in kit:
            truth = kit.truth(block.sensor_id)[block.first_index:block.end_index]
            envelope = np.sqrt(truth ** 2 + kit.noise_floor_uv ** 2).astype(np.float32).reshape(-1, 1)
            live += recorder.add(Block(block.sensor_id, block.first_index, envelope, block.t_host, block.gap_before))
        recorder.close()
        return live

    live = asyncio.run(envelopes())
    reps_in_time = [r for r in kit.rep_log if r[1] <= 25 * kit.fs_hz]
    assert abs(len(live) - len(reps_in_time)) <= 1 and len(live) >= 6
    for rep in live:
        assert rep.units == "%MVC"
        assert 20 < rep.peak < 110  # the kit's reps reach 40–100 % of the target's MVC, never beyond
    assert reanalyze(tmp_path / "set-env").reps == live
    assert reanalyze(tmp_path / "set-env").plan.layout.envelope_sensors == frozenset(ids)


def test_a_calibrations_rest_level_enters_the_set_in_percent_mvc():
    """The calibration stores its rest level in the envelope's units (µV); the set's envelopes of a
    calibrated channel are %MVC, so the rest level the set's onsets use is scaled the same way."""
    from coach_tui.domain.calibration import Calibration
    from coach_tui.domain.ids import now_utc
    from coach_tui.domain.placement import Placement

    calibration = Calibration("cal", "c", "glute_max", "L", 400.0, "µV", (400.0,), 6.0, 2.0, now_utc(),
                              Placement("glute_max", "L", "s1"))
    layout = SetLayout({"s1": [ChannelAssignment("glute_max", "L")]}, "glute_max")
    plan = SetPlan.from_calibrations(2000.0, layout, AnalysisSettings(), {"glute_max:L": calibration})
    assert plan.mvc == {"glute_max:L": 400.0}
    assert plan.rest["glute_max:L"].mean == pytest.approx(1.5) and plan.rest["glute_max:L"].sd == pytest.approx(0.5)
