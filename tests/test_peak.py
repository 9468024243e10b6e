"""The peak estimator (``dsp.peak``): one definition for the MVC reference and every rep, checked
against synthetic sEMG whose true levels the test knows (the simulated kit's signal model)."""

import numpy as np
import pytest

from coach_tui.domain.channels import ChannelAssignment
from coach_tui.dsp import DspSettings, FilterSettings, Pipeline
from coach_tui.dsp.analysis_settings import AnalysisSettings
from coach_tui.dsp.mvc import mvc_reference
from coach_tui.dsp.peak import PeakSettings, peak, peak_window
from coach_tui.dsp.set_analysis import SetAnalyzer, SetLayout
from coach_tui.dsp.windows import moving_mean
from coach_tui.sources.emg_synthesis import plateau

from synthetic import MVC_UV, emg

NO_MAINS = DspSettings(FilterSettings(mains="off"))
HOLDS_S = (0.3, 0.5, 1.0, 2.0, 5.0)
LAYOUT = SetLayout({"s1": [ChannelAssignment("glute_max", "R")]}, "glute_max")


def test_window_is_a_sixth_of_the_time_above_half_peak_within_100_to_500_ms():
    fs = 1000
    brief = np.concatenate([np.zeros(500), np.full(600, 50.0), np.zeros(500)])
    held = np.concatenate([np.zeros(500), np.full(4000, 50.0), np.zeros(500)])
    middling = np.concatenate([np.zeros(500), np.full(1800, 50.0), np.zeros(500)])
    assert peak_window(brief, fs) == 100  # 600 / 6
    assert peak_window(held, fs) == 500  # 4000 / 6 = 667 → the reference's window
    assert peak_window(middling, fs) == 300
    assert peak_window(np.full(50, 3.0), fs) == 50  # never longer than the envelope
    assert peak_window(held, fs, PeakSettings(max_window_ms=1000)) == 667


def test_peak_is_the_best_window_mean_and_where_it_sits():
    fs = 1000
    ramp = np.concatenate([np.zeros(500), np.linspace(0, 60, 1000), np.full(1200, 60.0), np.linspace(60, 0, 300)])
    top = peak(ramp, fs)
    assert top.window == round(np.count_nonzero(ramp > 30) / 6)
    assert top.value == pytest.approx(60.0)
    assert 1500 <= top.at <= 2700
    assert peak(ramp, fs, window=2000).value == pytest.approx(moving_mean(ramp, 2000).max())


def test_a_held_mvc_trial_is_measured_exactly_like_the_reference_always_was():
    fs, rng = 2000, np.random.default_rng(5)
    trials = [_envelope(plateau(fs * 6, fs, 0.5, 4.0, level), fs, rng) for level in (380.0, 400.0, 390.0)]
    best_500ms = [moving_mean(t, fs // 2).max() for t in trials]
    assert mvc_reference(trials, fs).trial_bests == pytest.approx(best_500ms, rel=1e-12)


def _envelope(activation, fs, rng):
    return Pipeline(fs, 1, NO_MAINS).process(emg(activation, fs, rng)[:, None]).envelope[:, 0]


def _reference(fs, rng, levels):
    """The guided protocol's reference: 3 trials of 5 s (0.5 s ramps, 4 s held)."""
    return mvc_reference([_envelope(plateau(fs * 6, fs, 0.5, 4.0, MVC_UV * level), fs, rng) for level in levels],
                         fs).reference


def _set_of_holds(fs, rng, holds_s, fractions):
    """A set of plateaus (ramps 0.2–0.5 s) at ``fractions`` of the MVC level, 2 s rest between."""
    pieces, t = [np.zeros(round(1.5 * fs))], 1.5
    for hold, fraction in zip(holds_s, fractions, strict=True):
        ramp = float(rng.uniform(0.2, 0.5))
        length = 2 * ramp + hold
        pieces.append(plateau(round(length * fs), fs, 0.0, hold, MVC_UV * fraction, ramp))
        pieces.append(np.zeros(round(2.0 * fs)))
        t += length + 2.0
    return emg(np.concatenate(pieces), fs, rng)


def _measured_fractions(fs, seeds, levels):
    """Per hold length, the measured ÷ true %MVC of that hold in each seed's set."""
    ratios = {hold: [] for hold in HOLDS_S}
    settings = AnalysisSettings(dsp=NO_MAINS)
    for seed in seeds:
        rng = np.random.default_rng(seed)
        reference = _reference(fs, rng, levels)
        fractions = rng.uniform(0.3, 0.9, len(HOLDS_S))
        analyzer = SetAnalyzer(fs, LAYOUT, settings, {"glute_max:R": reference})
        analyzer.add("s1", _set_of_holds(fs, rng, HOLDS_S, fractions)[:, None])
        assert len(analyzer.reps) == len(HOLDS_S), f"seed {seed}: {len(analyzer.reps)} reps"
        for rep, hold, fraction in zip(analyzer.reps, HOLDS_S, fractions, strict=True):
            ratios[hold].append(rep.peak / (100 * fraction))
    return {hold: np.array(r) for hold, r in ratios.items()}


@pytest.mark.parametrize("levels", [(1.0, 1.0, 1.0), (0.92, 1.0, 0.97)], ids=["equal-trials", "kit-trials"])
@pytest.mark.parametrize("fs", [1000, 2000])
def test_a_rep_at_a_known_fraction_of_the_mvc_reads_that_fraction(fs, levels):
    """Bias within ±10 % — asserted ±6 % (on these 40 seeds −2.4 to +1.4 %; the bench's 100 seeds
    −2.5 to +1.9 %; SD 3–8 %, largest for the briefest holds) — for holds of 0.3–5 s, through the
    set analysis every consumer reads. The envelope's highest sample (the old rep peak) reads +4 to
    +22 %, a 500 ms mean alone −16 to −1 %: both fail here."""
    ratios = _measured_fractions(fs, range(40), levels)
    for hold, r in ratios.items():
        bias = r.mean() - 1
        assert abs(bias) <= 0.06, f"{hold} s hold: bias {bias:+.1%}, SD {r.std():.1%}"
        assert r.std() < 0.10, f"{hold} s hold: SD {r.std():.1%}"


@pytest.mark.parametrize("fs", [1000, 2000])
def test_a_client_repeating_the_mvc_protocol_reads_100_percent_at_best(fs):
    settings = AnalysisSettings(dsp=NO_MAINS)
    best = []
    for seed in range(30):
        rng = np.random.default_rng(100 + seed)
        reference = _reference(fs, rng, (1.0, 1.0, 1.0))
        analyzer = SetAnalyzer(fs, LAYOUT, settings, {"glute_max:R": reference})
        analyzer.add("s1", _set_of_holds(fs, rng, (4.0, 4.0, 4.0), (1.0, 1.0, 1.0))[:, None])
        assert len(analyzer.reps) == 3
        best.append(max(rep.peak for rep in analyzer.reps))
    best = np.array(best)
    assert abs(best.mean() - 100) <= 5, best
    assert np.all(np.abs(best - 100) <= 10), best
