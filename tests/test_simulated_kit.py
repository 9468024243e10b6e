"""The simulated sensor kit: determinism, physiology (amplitudes, spectra) and link behaviour."""

from __future__ import annotations

import time

import numpy as np
import pytest
from scipy import signal

from coach_tui.sources.block import Block
from coach_tui.sources.simulated import (
    DEFAULT_SENSORS,
    SimulatedKit,
    SimulatedSensor,
    Steering,
)
from coach_tui.sources.source import Source

GL, GR, HL, HR = (s.sensor_id for s in DEFAULT_SENSORS[:4])
FS = 1000


async def collect(kit: SimulatedKit) -> dict[str, list[Block]]:
    out: dict[str, list[Block]] = {s.sensor_id: [] for s in kit.sensors}
    async for block in kit:
        out[block.sensor_id].append(block)
    return out


def rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.asarray(x, dtype=float) ** 2)))


def median_frequency(x: np.ndarray, fs: float) -> float:
    f, p = signal.welch(x, fs=fs, nperseg=250, noverlap=125)
    cum = np.cumsum(p)
    return float(f[np.searchsorted(cum, cum[-1] / 2)])


# ------------------------------------------------------------------------------ construction
def test_kit_satisfies_source_protocol_and_defaults():
    kit = SimulatedKit()
    src: Source = kit  # static check target; runtime: the protocol's members exist
    assert callable(src.status) and callable(src.close) and hasattr(src, "__aiter__")
    assert [s.sensor_id for s in kit.sensors] == [GL, GR, HL, HR]
    assert kit.block_samples == 20 and kit.fs_hz == 1000
    statuses = kit.status()
    assert all(s.simulated and s.connected and s.channels == 1 for s in statuses)
    assert all(80 <= s.battery_pct <= 100 for s in statuses)
    assert all(s.nominal_rate_hz == 1000 for s in statuses)
    assert kit.flags == Steering()
    assert set(kit.mvc_uv) == {GL, GR, HL, HR}
    assert all(300 <= v <= 500 for v in kit.mvc_uv.values())


@pytest.mark.parametrize("fs", [500, 250, 1500])
def test_unsupported_rate_is_refused(fs):
    with pytest.raises(ValueError, match="1000, 2000"):
        SimulatedKit(fs_hz=fs)


def test_sensor_count_and_specs_are_validated():
    with pytest.raises(ValueError):
        SimulatedKit(1)
    with pytest.raises(ValueError):
        SimulatedKit(9)
    assert len(SimulatedKit(8).sensors) == 8
    with pytest.raises(ValueError, match="role"):
        SimulatedKit(
            [SimulatedSensor("a", "glute_max", "L", "boss"), SimulatedSensor("b", "x", "R", "target")]
        )
    with pytest.raises(ValueError, match="duplicate"):
        SimulatedKit([DEFAULT_SENSORS[0], DEFAULT_SENSORS[0]])


def test_steering_is_validated():
    kit = SimulatedKit()
    with pytest.raises(ValueError, match="unknown steering flag"):
        kit.steer(wobble=True)
    with pytest.raises(ValueError, match="mains_hz"):
        kit.steer(mains_hz=55)
    with pytest.raises(ValueError, match="scenario"):
        kit.steer(scenario="sprint")
    with pytest.raises(ValueError, match="drop_packets"):
        kit.steer(drop_packets=1.5)
    with pytest.raises(ValueError, match="electrode_pop"):
        kit.steer(electrode_pop="nope")
    flags = kit.steer(compensate=True, left_deficit_pct=20, mains_hz=60)
    assert flags.compensate and flags.left_deficit_pct == 20.0 and flags.mains_hz == 60


def test_fs_2000_gives_40_sample_blocks():
    kit = SimulatedKit(2, fs_hz=2000, scenario="reps")
    data = kit.generate(1.0)
    assert kit.block_samples == 40
    assert all(x.shape == (2000,) for x in data.values())


# ------------------------------------------------------------------------------ determinism
def test_same_seed_same_samples_different_seed_differs():
    steer = dict(scenario="reps", fatigue=True, mains_hz=50, drop_packets=0.1, left_deficit_pct=10)
    a = SimulatedKit(seed=7, **steer).generate(3.0)
    b = SimulatedKit(seed=7, **steer).generate(3.0)
    c = SimulatedKit(seed=8, **steer).generate(3.0)
    for sid in a:
        np.testing.assert_array_equal(a[sid], b[sid])
        assert a[sid].shape != c[sid].shape or not np.array_equal(a[sid], c[sid])


def test_mid_stream_steering_is_deterministic():
    def run(seed):
        kit = SimulatedKit(seed=seed, scenario="reps")
        first = kit.generate(2.0)
        kit.steer(compensate=True, electrode_pop=HL)
        second = kit.generate(2.0)
        return {k: np.concatenate([first[k], second[k]]) for k in first}

    a, b = run(3), run(3)
    for sid in a:
        np.testing.assert_array_equal(a[sid], b[sid])


async def test_generate_equals_concatenated_iterated_blocks():
    steer = dict(scenario="reps", fatigue=True, mains_hz=60, drop_packets=0.1)
    generated = SimulatedKit(seed=11, **steer).generate(3.0)
    kit = SimulatedKit(seed=11, duration_s=3.0, **steer)
    blocks = await collect(kit)
    for sid, got in blocks.items():
        iterated = np.concatenate([b.samples[:, 0] for b in got])
        assert all(b.samples.dtype == np.float32 and b.samples.shape[1] == 1 for b in got)
        np.testing.assert_array_equal(generated[sid], iterated)
    # without drops, exactly duration × fs samples per sensor
    plain = await collect(SimulatedKit(seed=11, duration_s=1.01, scenario="reps"))
    assert all(sum(b.n_samples for b in bl) == 1010 for bl in plain.values())


async def test_blocks_are_interleaved_in_time_order():
    blocks: list[Block] = []
    async for b in SimulatedKit(duration_s=0.5):
        blocks.append(b)
    starts = [b.first_index for b in blocks]
    assert starts == sorted(starts)
    assert [b.sensor_id for b in blocks[:4]] == [GL, GR, HL, HR]
    t = [b.t_host for b in blocks]
    assert t == sorted(t) and t[4] - t[0] == pytest.approx(0.02)


# ------------------------------------------------------------------------------ physiology
def test_rest_rms_is_the_noise_floor():
    kit = SimulatedKit(scenario="rest", noise_floor_uv=3.0)
    data = kit.generate(5.0)
    for x in data.values():
        assert rms(x) == pytest.approx(3.0, rel=0.05)


def _burst_rms(kit: SimulatedKit, data: dict[str, np.ndarray], sid: str) -> tuple[float, float]:
    """Measured RMS over the sensor's bursts and the RMS the activation truth predicts."""
    truth = kit.truth(sid)
    inside = truth > 0.05 * truth.max()
    expected = np.sqrt(np.mean(truth[inside] ** 2) + kit.noise_floor_uv**2)
    return rms(data[sid][inside]), float(expected)


def test_reps_amplitudes_follow_activation_and_roles():
    kit = SimulatedKit(scenario="reps", keep_truth=True, seed=1)
    data = kit.generate(20.0)
    assert len(kit.rep_log) >= 5
    for sid in (GL, GR, HL, HR):
        measured, expected = _burst_rms(kit, data, sid)
        assert measured == pytest.approx(expected, rel=0.10)
    # configured levels: per-rep peak of the target 70 % MVC ± 10 %, synergist 40 % ± 10 %
    for sid, level in ((GL, 0.70), (HR, 0.40)):
        truth = kit.truth(sid)
        for start, end, _ in kit.rep_log[:-1]:
            peak = truth[start:end + 100].max() / kit.mvc_uv[sid]
            assert level * 0.89 <= peak <= level * 1.11
    # reps are 1.5-2.5 s long
    assert all(1500 <= end - start <= 2500 for start, end, _ in kit.rep_log)
    # target above synergist, in µV and in %MVC
    assert rms(data[GL]) > 1.3 * rms(data[HL])
    assert rms(data[GL]) / kit.mvc_uv[GL] > 1.3 * rms(data[HL]) / kit.mvc_uv[HL]


def test_compensation_flips_target_share():
    kit = SimulatedKit(scenario="reps", keep_truth=True, compensate=True, seed=1)
    data = kit.generate(20.0)
    for sid in (GL, HL):
        measured, expected = _burst_rms(kit, data, sid)
        assert measured == pytest.approx(expected, rel=0.10)
    assert rms(data[HL]) > 1.2 * rms(data[GL])
    share = (rms(data[GL]) / kit.mvc_uv[GL]) / (
        rms(data[GL]) / kit.mvc_uv[GL] + rms(data[HL]) / kit.mvc_uv[HL]
    )
    assert share < 0.45


def test_left_deficit_scales_left_side():
    kit = SimulatedKit(scenario="reps", left_deficit_pct=30, seed=2)
    data = kit.generate(30.0)
    assert rms(data[GL]) / rms(data[GR]) == pytest.approx(0.70, abs=0.05)
    assert rms(data[HL]) / rms(data[HR]) == pytest.approx(0.70, abs=0.05)


def test_fatigue_lowers_median_frequency():
    # Mean median frequency over all 8 sensors: a single 5 s window of one sensor scatters by
    # several percent, which would blur the "within 5 %" check on the fresh run.
    def mdf_ratio(fatigue: bool) -> float:
        data = SimulatedKit(8, scenario="reps", fatigue=fatigue, seed=4).generate(30.0)
        first = np.mean([median_frequency(x[:5000], FS) for x in data.values()])
        last = np.mean([median_frequency(x[-5000:], FS) for x in data.values()])
        assert 60 < first < 160  # a plausible sEMG median frequency
        return float(last / first)

    assert mdf_ratio(True) < 0.90
    assert mdf_ratio(False) == pytest.approx(1.0, abs=0.05)


def test_fatigue_raises_amplitude():
    kit = SimulatedKit(2, scenario="reps", fatigue=True, keep_truth=True, seed=4)
    kit.generate(30.0)
    truth = kit.truth(GL)
    assert kit.fatigue_level > 0.5
    peaks = [truth[s:e].max() / p for s, e, p in kit.rep_log[:-1]]
    assert peaks[-1] > 1.1 * peaks[0]


def test_mains_hum_makes_a_spectral_line():
    x = SimulatedKit(2, mains_hz=50, seed=5).generate(5.0)[GL]
    f, p = signal.welch(x, fs=FS, nperseg=1000)
    background = np.median(p[(f >= 30) & (f <= 45)])
    assert p[f == 50][0] > 100 * background
    assert p[f == 150][0] > 10 * background  # 3rd harmonic
    assert p[f == 60][0] < 10 * background
    clean = SimulatedKit(2, seed=5).generate(5.0)[GL]
    _, pc = signal.welch(clean, fs=FS, nperseg=1000)
    assert pc[f == 50][0] < 10 * background


def test_mains_on_one_sensor_only():
    data = SimulatedKit(2, mains_hz=60, mains_sensor=GR, seed=5).generate(2.0)
    assert rms(data[GR]) > 15 and rms(data[GL]) < 4


def test_mvc_protocol_reaches_mvc_and_returns_to_rest():
    kit = SimulatedKit(2, keep_truth=True, seed=6)
    kit.steer(scenario="mvc")
    total = kit.mvc_trials.total_s
    data = kit.generate(total + 1.0)
    assert kit.scenario == "rest"
    truth = kit.truth(GL)
    assert truth.max() == pytest.approx(kit.mvc_uv[GL], rel=1e-6)
    assert truth[:2900].max() == 0  # rest baseline
    # best 500 ms window RMS ≈ MVC amplitude
    x = data[GL].astype(float)
    win = np.sqrt(np.convolve(x**2, np.ones(500) / 500, mode="valid"))
    assert win.max() == pytest.approx(kit.mvc_uv[GL], rel=0.10)
    assert truth[-500:].max() == 0


def test_electrode_pop_is_a_one_off_transient():
    kit = SimulatedKit(2, seed=9)
    kit.generate(1.0)
    kit.steer(electrode_pop=GR)
    data = kit.generate(2.0)
    assert kit.flags.electrode_pop is False
    assert np.abs(data[GR][:50]).max() > 1000
    assert np.abs(data[GL]).max() < 30
    assert rms(data[GR][-500:]) < 4  # decayed


def test_clipping_saturates():
    data = SimulatedKit(2, scenario="reps", clip_uv=100.0, seed=1).generate(5.0)
    x = data[GL]
    assert np.abs(x).max() == pytest.approx(100.0)
    assert np.mean(np.abs(x) >= 100.0) > 0.01


# ------------------------------------------------------------------------------ link
async def test_dropped_packets_are_reported_as_gaps():
    kit = SimulatedKit(scenario="reps", drop_packets=0.2, duration_s=10.0, seed=12)
    blocks = await collect(kit)
    statuses = {s.sensor_id: s for s in kit.status()}
    for sid, bl in blocks.items():
        gaps = [b.gap_before for b in bl]
        assert sum(gaps) > 0
        assert bl[0].first_index == bl[0].gap_before
        for prev, cur in zip(bl, bl[1:]):
            assert prev.end_index + cur.gap_before == cur.first_index
        st = statuses[sid]
        assert st.samples_lost == sum(gaps)
        assert st.packets_lost == sum(g // kit.block_samples for g in gaps)
        assert st.samples_received == sum(b.n_samples for b in bl)
        assert st.samples_received + st.samples_lost <= 10_000
        assert st.loss_fraction == pytest.approx(0.2, abs=0.06)
        assert st.measured_rate_hz == pytest.approx(1000 * st.samples_received / 10_000)


async def test_realtime_paces_blocks_and_close_disconnects():
    kit = SimulatedKit(2, realtime=True, duration_s=1.0)
    start = time.monotonic()
    n = 0
    async for block in kit:
        n += block.n_samples
    elapsed = time.monotonic() - start
    assert n == 2000
    assert 0.9 <= elapsed < 2.0
    assert all(s.measured_rate_hz == pytest.approx(1000, rel=0.15) for s in kit.status())
    await kit.close()
    assert not any(s.connected for s in kit.status())


async def test_close_ends_endless_stream():
    kit = SimulatedKit(2)
    n = 0
    async for _ in kit:
        n += 1
        if n == 10:
            await kit.close()
    assert n == 10 and kit.closed


def test_battery_drains_slowly():
    kit = SimulatedKit(2)
    before = kit.status()[0].battery_pct
    kit.generate(60.0)
    after = kit.status()[0].battery_pct
    assert 0 < before - after < 1


# ------------------------------------------------------------------------------ stepped clock
async def test_a_kit_on_a_stepped_clock_delivers_exactly_what_is_due():
    from coach_tui.sources.clock import SteppedClock
    from coach_tui.sources.source_task import SourceTask

    clock = SteppedClock()
    kit = SimulatedKit(2, clock=clock, scenario="reps")
    received = {GL: 0, GR: 0}
    task = SourceTask(kit, lambda block: received.__setitem__(block.sensor_id, received[block.sensor_id] + block.n_samples))
    task.start()
    await clock.advance(0)
    assert received == {GL: 0, GR: 0}  # time stands still: nothing is due
    await clock.advance(1.0)
    assert received == {GL: 1000, GR: 1000}
    await clock.advance(0.5)  # blocks come two at a time (40 ms), as a Bluetooth host hands them over
    assert received == {GL: 1480, GR: 1480}
    await clock.advance(0.02)
    assert received == {GL: 1520, GR: 1520}
    kit.steer(lost_sensor=GR)  # from the next group of 120 ms generated (the one from 1.56 s)
    await clock.advance(2.0)
    assert received == {GL: 3520, GR: 1560}
    assert [s.connected for s in kit.status()] == [True, False]
    kit.steer(lost_sensor=None)  # back from the group generated at 3.60 s
    await clock.advance(0.12)
    assert received == {GL: 3640, GR: 1600} and kit.status()[1].samples_lost == 2040
    await task.stop()


async def test_a_stepped_clock_only_moves_forward():
    from coach_tui.sources.clock import SteppedClock

    with pytest.raises(ValueError, match="only moves forward"):
        await SteppedClock().advance(-1)
