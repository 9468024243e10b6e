"""The streaming chain: chunk invariance, envelope against a known truth, filters, %MVC."""

import numpy as np
import pytest

from coach_tui.dsp import DspSettings, FilterSettings, Pipeline
from coach_tui.dsp.envelope import MovingRms
from coach_tui.dsp.filters import upper_corner_hz
from coach_tui.sources.emg_synthesis import synthesize

from synthetic import NOISE_UV


def _random_chunks(rng, n, max_chunk):
    edges, i = [0], 0
    while i < n:
        i = min(n, i + int(rng.integers(1, max_chunk)))
        edges.append(i)
    return list(zip(edges[:-1], edges[1:]))


def _signal(fs, seconds, channels, rng):
    t = np.arange(int(fs * seconds)) / fs
    activation = 80 * (1 + np.sin(2 * np.pi * 0.3 * t)) ** 2
    cols = [synthesize(activation * (c + 1) / channels, fs, rng) for c in range(channels)]
    hum = 25 * np.sin(2 * np.pi * 50 * t)
    return np.column_stack(cols) + hum[:, None] + 40.0  # hum and a DC offset, as real sensors give


@pytest.mark.parametrize("fs", [200, 1000, 2000])
@pytest.mark.parametrize("max_chunk", [2, 37, 400, 5000])
def test_chunked_processing_equals_one_call(fs, max_chunk):
    rng = np.random.default_rng(fs + max_chunk)
    x = _signal(fs, 6.0, 3, rng)
    mvc = [150.0, None, 300.0]
    whole = Pipeline(fs, 3, mvc_reference=mvc).process(x)
    pipeline = Pipeline(fs, 3, mvc_reference=mvc)
    frames = [pipeline.process(x[a:b]) for a, b in _random_chunks(rng, len(x), max_chunk)]
    for name in ("filtered", "envelope", "percent_mvc"):
        chunked = np.concatenate([getattr(f, name) for f in frames])
        reference = getattr(whole, name)
        scale = np.nanmax(np.abs(reference))
        assert np.nanmax(np.abs(chunked - reference)) <= 1e-9 * scale, name
        # Stronger than the 1e-9 promise: the same arithmetic runs however the input is chunked,
        # so the live screen and a re-analysis of the stored samples agree bit for bit.
        assert np.array_equal(chunked, reference, equal_nan=True), name
    assert frames[-1].first_index + len(frames[-1].envelope) == len(x)


def test_auto_mains_decided_at_the_same_sample_however_chunked():
    rng = np.random.default_rng(3)
    t = np.arange(8000) / 2000
    rest = np.column_stack([synthesize(np.full(t.size, 5.0), 2000, rng) for _ in range(2)])
    x = rest + 15 * np.sin(2 * np.pi * 50 * t)[:, None]
    pipelines = [Pipeline(2000, 2), Pipeline(2000, 2)]
    pipelines[0].process(x)
    for a, b in _random_chunks(rng, len(x), 777):
        pipelines[1].process(x[a:b])
    assert pipelines[0].mains_hz == pipelines[1].mains_hz == 50.0
    assert pipelines[0].notch_hz == (50.0, 100.0, 150.0, 200.0, 250.0, 300.0, 350.0, 400.0, 450.0)


def test_block_filter_equals_scipy_sosfilt():
    from scipy import signal

    from coach_tui.dsp.filters import SosCascade, design_bandpass, design_notches

    settings = FilterSettings()
    sos = np.vstack([design_bandpass(2000, settings).sos, design_notches(2000, (50.0, 100.0, 150.0), 30.0)])
    x = np.random.default_rng(4).standard_normal((3, 5000)) * 100
    reference = signal.sosfilt(sos, x, axis=-1)
    ours = SosCascade(sos, 3).process(x)
    assert np.max(np.abs(ours - reference)) <= 1e-12 * np.max(np.abs(reference))


def test_moving_rms_matches_direct_definition():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 3000))
    window = 150
    direct = np.array(
        [[np.sqrt(np.sum(x[c, max(0, i - window + 1) : i + 1] ** 2) / window) for i in range(3000)] for c in range(2)]
    )
    assert np.allclose(MovingRms(window, 2).process(x), direct, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("fs", [1000, 2000])
def test_envelope_follows_true_envelope_of_modulated_noise(fs):
    rng = np.random.default_rng(fs)
    n = fs * 20
    t = np.arange(n) / fs
    # Slow, smooth modulation (one "rep" every 2.5 s) between ~5 and ~200 µV RMS.
    activation = 5 + 195 * np.sin(np.pi * t / 2.5) ** 2
    x = synthesize(activation, fs, rng, noise_floor=NOISE_UV)
    pipeline = Pipeline(fs, 1, DspSettings(FilterSettings(mains="off")))
    envelope = pipeline.process(x[:, None]).envelope[:, 0]
    truth = np.sqrt(activation**2 + NOISE_UV**2)
    delay = round(pipeline.envelope_delay_s * fs)
    skip = fs  # the first second holds the start-up of the window
    r = np.corrcoef(envelope[skip + delay :], truth[skip : n - delay])[0, 1]
    assert r >= 0.95
    # The level is right too, not just the shape: within 10 % on average over the recording.
    ratio = np.mean(envelope[skip + delay :]) / np.mean(truth[skip : n - delay])
    assert 0.9 < ratio < 1.1


def test_percent_mvc_is_envelope_over_reference():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((4000, 2)) * 50
    frame = Pipeline(2000, 2, mvc_reference=[200.0, None]).process(x)
    assert np.allclose(frame.percent_mvc[:, 0], frame.envelope[:, 0] / 200.0 * 100)
    assert np.all(np.isnan(frame.percent_mvc[:, 1]))
    assert Pipeline(2000, 2).process(x).percent_mvc is None


def test_reduced_bandwidth_below_1000_hz_and_full_band_above():
    assert Pipeline(500, 1).reduced_bandwidth is True
    assert Pipeline(1000, 1).reduced_bandwidth is False
    assert Pipeline(2000, 1).reduced_bandwidth is False


@pytest.mark.parametrize(("fs", "upper", "reduced"), [(2000, 450, False), (1000, 450, False), (990, 450, False),
                                                       (948, 450, False), (900, 427.5, True), (200, 95, True)])
def test_the_upper_corner_follows_nyquist_not_a_1000_hz_threshold(fs, upper, reduced):
    settings = DspSettings(FilterSettings(mains="off"))
    assert upper_corner_hz(fs, settings.filters) == pytest.approx(upper)
    assert Pipeline(fs, 1, settings).reduced_bandwidth is reduced
    # a band-pass, not a high-pass alone: half power at the upper corner, far less above it
    assert _gain(fs, upper, settings) == pytest.approx(np.sqrt(0.5), abs=0.03)
    assert _gain(fs, min(1.1 * upper + 10, 0.99 * fs / 2), settings) < 0.6


def _gain(pipeline_fs, freq, settings):
    t = np.arange(pipeline_fs * 4) / pipeline_fs
    tone = np.sin(2 * np.pi * freq * t)[:, None]
    out = Pipeline(pipeline_fs, 1, settings).process(tone).filtered[pipeline_fs * 2 :, 0]
    return np.sqrt(2) * np.std(out)


def test_band_pass_and_notch_frequency_response():
    plain = DspSettings(FilterSettings(mains="off"))
    notched = DspSettings(FilterSettings(mains="60"))
    assert _gain(2000, 100, plain) == pytest.approx(1.0, abs=0.02)
    assert _gain(2000, 5, plain) < 0.01  # movement artefact band
    assert _gain(2000, 800, plain) < 0.05
    assert _gain(2000, 60, notched) < 0.02
    assert _gain(2000, 180, notched) < 0.02
    assert _gain(2000, 100, notched) > 0.9
    # Below 1 kHz only the high-pass remains: 300 Hz passes at 600 Hz sampling.
    assert _gain(600, 250, plain) > 0.9


def test_dc_offset_does_not_ring_at_start():
    x = np.full((2000, 1), 500.0)  # a sensor with a 500 µV offset and nothing else
    envelope = Pipeline(2000, 1).process(x).envelope
    assert envelope.max() < 1e-6


def test_bad_arguments_are_refused_with_a_reason():
    with pytest.raises(ValueError, match="shape"):
        Pipeline(1000, 2).process(np.zeros((10, 3)))
    with pytest.raises(ValueError, match="sample rate"):
        Pipeline(0, 1)
    with pytest.raises(ValueError, match="one MVC reference per channel"):
        Pipeline(1000, 2, mvc_reference=[1.0])
    with pytest.raises(ValueError, match="positive"):
        Pipeline(1000, 1, mvc_reference=[0.0])


def test_gap_keeps_sample_count_and_decays_envelope():
    rng = np.random.default_rng(2)
    pipeline = Pipeline(1000, 1, DspSettings(FilterSettings(mains="off")))
    pipeline.process(rng.standard_normal((1000, 1)) * 100)
    gap = pipeline.process_gap(300)
    assert gap.first_index == 1000 and pipeline.samples_seen == 1300
    assert gap.envelope[-1, 0] < 0.05 * gap.envelope[0, 0]


def test_a_gap_in_a_dc_coupled_signal_makes_no_burst():
    # An OpenBCI Ganglion reads its electrodes' offset (thousands of µV) with the EMG, and its
    # firmware 3 never sends one sample in 201: a gap must not become an impulse of the offset.
    rng = np.random.default_rng(4)
    fs = 200
    signal = 3000.0 + rng.standard_normal((10 * fs, 1)) * 5.0  # at rest: ~5 µV of noise on 3 mV
    settings = DspSettings(FilterSettings(mains="off"))
    with_gaps = Pipeline(fs, 1, settings)
    envelopes = []
    for start in range(0, len(signal), fs):
        envelopes.append(with_gaps.process(signal[start:start + fs]).envelope)
        envelopes.append(with_gaps.process_gap(1).envelope)
    gapped = np.concatenate(envelopes)[3 * fs:]
    plain = Pipeline(fs, 1, settings).process(signal).envelope[3 * fs:]
    assert gapped.max() < 1.5 * plain.max()  # zeros in the gap made bursts of ~600 µV here
    assert np.median(gapped) == pytest.approx(np.median(plain), rel=0.1)
