"""What a trainer reads, each against a synthetic signal whose truth the test knows."""

import numpy as np
import pytest

from coach_tui.dsp import DspSettings, FilterSettings, Pipeline
from coach_tui.dsp.asymmetry import asymmetry_pct, set_asymmetry
from coach_tui.dsp.cocontraction import cocontraction_index
from coach_tui.dsp.fatigue import median_frequency_trend
from coach_tui.dsp.mvc import mvc_reference, trial_peak
from coach_tui.dsp.peak import peak
from coach_tui.dsp.onsets import detect_onsets, onset_order_ms, rest_baseline
from coach_tui.dsp.quality import assess_channel, saturation_fraction
from coach_tui.dsp.reps import RepDetector, detect_reps
from coach_tui.dsp.target_share import target_share
from coach_tui.domain.hysteresis_alert import GradeAlert, HysteresisAlert, LinkAlert
from coach_tui.sources.emg_synthesis import plateau, synthesize

from synthetic import MVC_UV, NOISE_UV, emg, random_rep_set

NO_MAINS = DspSettings(FilterSettings(mains="off"))


def _percent_mvc(columns, fs):
    x = np.column_stack(columns)
    return Pipeline(fs, x.shape[1], NO_MAINS, [MVC_UV] * x.shape[1]).process(x).percent_mvc


# --- MVC reference -------------------------------------------------------------------------


def _trial(level, fs, rng):
    return Pipeline(fs, 1, NO_MAINS).process(
        emg(plateau(fs * 6, fs, 0.5, 4.0, level), fs, rng)[:, None]
    ).envelope[:, 0]


def test_mvc_reference_is_the_best_trial_peak_across_trials():
    rng = np.random.default_rng(0)
    trials = [_trial(level, 2000, rng) for level in (380.0, 400.0, 390.0)]
    result = mvc_reference(trials, 2000)
    assert result.best_trial == 1
    # The best of many 500 ms windows sits a few percent above the plateau's true RMS (the maximum
    # of noisy window means); the definition, not the plateau level, is what is exact.
    assert 400.0 <= result.reference <= 1.15 * 400.0
    assert result.reference == max(trial_peak(t, 2000) for t in trials)
    assert not result.repeat_trial and not result.familiarisation


def test_mvc_flags_inconsistent_trials_and_recognises_familiarisation():
    rng = np.random.default_rng(1)
    spread = mvc_reference([_trial(lv, 1000, rng) for lv in (400.0, 300.0, 390.0)], 1000)
    assert spread.repeat_trial and "repeat a trial" in spread.message
    first_low = mvc_reference([_trial(lv, 1000, rng) for lv in (300.0, 400.0, 395.0)], 1000)
    assert first_low.familiarisation and not first_low.repeat_trial
    assert "familiarisation" in first_low.message


# --- asymmetry, target share, co-contraction -----------------------------------------------


def test_asymmetry_formula_and_weaker_side():
    assert asymmetry_pct(80.0, 100.0) == pytest.approx(20.0)
    assert asymmetry_pct(100.0, 80.0) == pytest.approx(20.0)
    assert asymmetry_pct(0.0, 0.0) == 0.0
    one_rep = set_asymmetry([80.0], [100.0])
    assert one_rep.pct == pytest.approx(20.0) and one_rep.weaker_side == "L"
    assert set_asymmetry([], []).pct is None


@pytest.mark.parametrize("deficit", [0.0, 15.0, 30.0, 50.0])
def test_asymmetry_accuracy_over_random_sets(deficit):
    fs = 2000
    errors = []
    for k in range(20):
        rng = np.random.default_rng(int(1000 * deficit) + k)
        reps = random_rep_set(rng, fs, 6, 40, 90)
        right = emg(reps.activation(), fs, rng)
        left = emg(reps.activation(1 - deficit / 100), fs, rng)
        pct = _percent_mvc([left, right], fs)
        found = detect_reps(pct.mean(axis=1), fs, floor=5.0)
        assert len(found) == 6
        peaks = [[peak(pct[r.start : r.end, side], fs, window=fs // 2).value for r in found] for side in (0, 1)]
        estimate = set_asymmetry(*peaks)
        errors.append(estimate.pct - deficit)
        if deficit >= 15:
            assert estimate.weaker_side == "L"
    errors = np.array(errors)
    assert abs(errors.mean()) <= 1.5, errors
    assert np.abs(errors).max() <= 7.0, errors


def test_asymmetry_alert_needs_two_reps_and_clears_with_hysteresis():
    alert = HysteresisAlert()
    assert [alert.update(p) for p in (20, 12, 20, 20, 12, 9, 20)] == [False, False, False, True, True, False, False]
    alert = HysteresisAlert()
    assert [alert.update(p) for p in (20, 20, None, 20)] == [False, True, False, False]


def test_quality_alert_is_raised_at_bad_held_through_warn_and_cleared_at_ok():
    alert = GradeAlert()
    grades = ("ok", "warn", "bad", "warn", "bad", "warn", "ok", "warn")
    assert [alert.update(g) for g in grades] == [False, False, True, True, True, True, False, False]


def test_lost_sensor_alert_clears_only_after_the_link_has_held_for_the_settle_time():
    alert = LinkAlert(settle_s=2.0)
    timeline = [(0.0, True), (1.0, False), (1.5, True), (2.0, False), (2.5, True), (4.0, True), (4.6, True), (5.0, True)]
    assert [alert.update(up, t) for t, up in timeline] == [False, True, True, True, True, True, False, False]


def test_target_share_and_compensation():
    assert target_share(60.0, 20.0) == pytest.approx(0.75)
    assert target_share(20.0, 60.0) == pytest.approx(0.25)
    assert target_share(0.0, 0.0) is None


def test_cocontraction_index_of_known_curves():
    t = np.linspace(0, 1, 1000)
    agonist = 60 * np.sin(np.pi * t) ** 2
    assert cocontraction_index(agonist, agonist) == pytest.approx(100.0)
    assert cocontraction_index(agonist, np.zeros_like(t)) == 0.0
    # Antagonist at a constant 15 %MVC under a 60·sin²(πt) agonist over one second. The agonist is
    # below 15 for t < 1/6 and t > 5/6, where its area is 2·60·(1/12 − sin(π/3)/(4π)); elsewhere
    # the common area is 15·2/3. Areas: agonist 30, antagonist 15.
    antagonist = np.full_like(t, 15.0)
    common = 2 * 60 * (1 / 12 - np.sin(np.pi / 3) / (4 * np.pi)) + 15 * 2 / 3
    assert cocontraction_index(agonist, antagonist) == pytest.approx(2 * common / 45 * 100, rel=0.01)


# --- onsets --------------------------------------------------------------------------------


@pytest.mark.parametrize("fs", [1000, 2000])
@pytest.mark.parametrize("contrast", [5.0, 10.0, 40.0])
def test_onsets_within_30_ms(fs, contrast):
    rng = np.random.default_rng(int(fs + contrast))
    true_onsets = [2.0, 4.7, 7.3, 9.9]
    n = fs * 12
    t = np.arange(n) / fs
    activation = np.zeros(n)
    for start in true_onsets:
        rise = np.clip((t - start) / 0.02, 0, 1)  # 20 ms rise, held 1.2 s
        activation = np.maximum(activation, contrast * NOISE_UV * rise * (t < start + 1.2))
    envelope = Pipeline(fs, 1, NO_MAINS).process(emg(activation, fs, rng)[:, None]).envelope[:, 0]
    baseline = rest_baseline(envelope[int(0.3 * fs) : int(1.8 * fs)])
    periods = detect_onsets(envelope, fs, baseline)
    onsets = [on / fs for on, _ in periods]
    assert len(onsets) == len(true_onsets), onsets
    assert np.max(np.abs(np.array(onsets) - true_onsets)) <= 0.030
    offsets = [off / fs for _, off in periods]
    assert all(off is not None for off in offsets)
    assert np.all(np.array(offsets) > np.array(true_onsets) + 1.0)


def test_onset_order_in_ms():
    order = onset_order_ms({"glute_max": 1.040, "hamstrings": 1.000, "erector": None})
    assert order == [("hamstrings", 0.0), ("glute_max", pytest.approx(40.0))]


# --- reps ----------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", range(8))
def test_rep_count_exact_for_ten_reps_from_20_to_100_percent(seed):
    fs = 2000
    rng = np.random.default_rng(seed)
    reps = random_rep_set(rng, fs, 10, 20, 100)
    pct = _percent_mvc([emg(reps.activation(), fs, rng)], fs)[:, 0]
    found = detect_reps(pct, fs, floor=5.0)
    assert len(found) == 10
    ratios = []
    for rep, start, duration, peak in zip(found, reps.starts_s, reps.durations_s, reps.peaks_pct, strict=True):
        assert start - 0.1 < rep.start / fs < start + duration / 2
        ratios.append(rep.peak / peak)
        assert rep.mean < rep.peak and 0 < rep.time_to_peak_s < duration
    # A 100 ms RMS envelope scatters ~11 % around the true RMS, so its maximum over a rep rides
    # above the true peak: typically +10 %, rarely +40 %, never far below.
    assert 0.85 < min(ratios) and max(ratios) < 1.45
    assert 1.0 < np.median(ratios) < 1.25


def test_streaming_rep_detector_equals_one_call():
    fs = 1000
    rng = np.random.default_rng(11)
    reps = random_rep_set(rng, fs, 10, 20, 100)
    pct = _percent_mvc([emg(reps.activation(), fs, rng)], fs)[:, 0]
    detector, streamed, i = RepDetector(fs, 5.0), [], 0
    while i < len(pct):
        k = int(rng.integers(1, 300))
        streamed += detector.update(pct[i : i + k])
        i += k
    streamed += detector.finish()
    assert streamed == detect_reps(pct, fs, 5.0)


def test_no_reps_at_rest():
    fs = 1000
    rng = np.random.default_rng(5)
    pct = _percent_mvc([emg(np.zeros(fs * 20), fs, rng)], fs)[:, 0]
    assert detect_reps(pct, fs, floor=5.0) == []


# --- fatigue -------------------------------------------------------------------------------


def _fatigue_set(compression_end, fs, rng):
    reps = random_rep_set(rng, fs, 10, 60, 80)
    activation = reps.activation()
    compression = np.linspace(1.0, compression_end, activation.size)
    x = synthesize(activation, fs, rng, noise_floor=NOISE_UV, compression=compression)
    frame = Pipeline(fs, 1, NO_MAINS, [MVC_UV]).process(x[:, None])
    found = detect_reps(frame.percent_mvc[:, 0], fs, 5.0)
    return median_frequency_trend(frame.filtered[:, 0], fs, [(r.start, r.end) for r in found])


@pytest.mark.parametrize("fs", [1000, 2000])
def test_median_frequency_falls_with_spectral_compression(fs):
    trend = _fatigue_set(0.7, fs, np.random.default_rng(fs))
    assert trend.end_hz < 0.85 * trend.start_hz
    assert trend.slope_hz_per_min < 0


@pytest.mark.parametrize("fs", [1000, 2000])
def test_median_frequency_flat_without_fatigue(fs):
    trend = _fatigue_set(1.0, fs, np.random.default_rng(fs + 1))
    assert abs(trend.end_hz - trend.start_hz) < 0.05 * trend.start_hz


def test_fatigue_unavailable_below_1000_hz():
    x = np.random.default_rng(0).standard_normal(5000)
    assert median_frequency_trend(x, 500, [(0, 2000), (2000, 4000)]) is None


# --- signal quality ------------------------------------------------------------------------


def _rest(fs, seconds, rng):
    return emg(np.full(int(fs * seconds), 2.0), fs, rng)


@pytest.mark.parametrize("mains_hz", [50.0, 60.0])
def test_mains_hum_is_found_and_named(mains_hz):
    from coach_tui.dsp.mains import detect_mains

    fs = 2000
    rng = np.random.default_rng(int(mains_hz))
    x = _rest(fs, 4, rng)
    t = np.arange(x.size) / fs
    hummed = x + 20 * np.sin(2 * np.pi * mains_hz * t) + 6 * np.sin(2 * np.pi * 3 * mains_hz * t)
    assert detect_mains(hummed[None, :], fs) == mains_hz
    assert detect_mains(x[None, :], fs) is None
    quality = assess_channel("left glute max", hummed, 3.0, fs, mains_hz)
    assert quality.status == "bad"
    assert quality.mains_fraction > 0.4
    assert any("mains hum" in r and "left glute max" in r and f"{mains_hz:.0f} Hz" in r for r in quality.reasons)
    assert assess_channel("left glute max", x, 3.0, fs, mains_hz).status == "ok"


def test_clipping_of_one_percent_is_flagged():
    fs = 2000
    rng = np.random.default_rng(2)
    x = emg(np.full(fs * 4, 100.0), fs, rng)
    limit = np.quantile(np.abs(x), 0.985)  # about 1.5 % of samples at the rails
    clipped = np.clip(x, -limit, limit)
    assert saturation_fraction(clipped) >= 0.01
    assert saturation_fraction(x) < 0.001
    quality = assess_channel("right biceps", clipped, 3.0, fs, None)
    assert quality.status in ("warn", "bad")
    assert any("clipping" in r for r in quality.reasons)
    assert assess_channel("right biceps", x, 3.0, fs, None).status == "ok"


def test_dead_channel_is_bad():
    quality = assess_channel("left hamstrings", np.full(4000, 12.0), 0.0, 2000, 50.0)
    assert quality.status == "bad"
    assert "no signal" in quality.reasons[0]


def test_link_problems_are_named():
    rng = np.random.default_rng(3)
    x = _rest(1000, 2, rng)
    quality = assess_channel(
        "left glute max", x, 2.0, 1000, None,
        nominal_rate_hz=1000, measured_rate_hz=850, loss_fraction=0.08, battery_pct=8,
    )
    assert quality.status == "bad"
    text = " ".join(quality.reasons)
    assert "850 Hz" in text and "lost" in text and "battery 8 %" in text
