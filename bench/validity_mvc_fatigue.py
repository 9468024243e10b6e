"""Validity of %MVC, fatigue and the sample-rate rules, on synthetic sweeps and the shared real data.

Not a test: it prints figures. Sections (``main()`` prints them in this order):

1. **%MVC bias and spread by hold length** (1 and 2 kHz): sets of plateaus (0.3–5 s held, 0.2–0.5 s
   ramps, 30–90 % of the MVC level) through ``SetAnalyzer`` against a reference from the guided
   protocol (3 × 5 s trials at equal effort, or at the kit's 92/100/97 %), each rep's measured ÷ true
   %MVC for the peak estimator (``dsp.peak``) beside the two it replaces (the envelope's highest
   sample; a plain best 500 ms mean); a client repeating the MVC protocol (the best of 3 trials);
   and on the shared real recordings how far the old highest-sample peak sat above the peak.
2. **Fatigue false alarms and power**: steady and 25 %-falling sets of 12 reps, steady and 10 %-
   falling 30 s holds (the kit's signal model, spectral compression), the verdict of ``dsp.fatigue``;
   and how often real 10 s recordings (no reason to fatigue) are called fatigued.
3. **Sample rate**: the shared real recordings (1000 Hz) analysed as 1000 and as 990 Hz (a real
   device's header): band, fatigue availability and asymmetry must not move.
4. **Onsets against NeuroKit2** ``emg_process`` where installed: synthetic bursts with known onsets
   (both against the truth) and the shared lower-limb recordings (agreement between the two).

Run from the repository root: ``python bench/validity_mvc_fatigue.py [--seeds 100]``.
"""

from __future__ import annotations

import argparse
import contextlib
import glob
import io
import sys
import time
import warnings
from pathlib import Path

import numpy as np

try:
    import coach_tui  # noqa: F401
except ModuleNotFoundError:  # running from a checkout without `pip install -e .`
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from coach_tui.domain.channels import ChannelAssignment
from coach_tui.dsp import DspSettings, FilterSettings, Pipeline
from coach_tui.dsp.analysis_settings import AnalysisSettings
from coach_tui.dsp.fatigue import median_frequency_trend, set_fatigue
from coach_tui.dsp.mvc import mvc_reference
from coach_tui.dsp.onsets import detect_onsets, rest_baseline
from coach_tui.dsp.set_analysis import SetAnalyzer, SetLayout
from coach_tui.dsp.signal_analysis import analyze_signal
from coach_tui.dsp.windows import moving_mean
from coach_tui.sources.emg_synthesis import plateau, raised_cosine_bursts, synthesize
from coach_tui.sources.signal_files import load_signal_file

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
NO_MAINS = DspSettings(FilterSettings(mains="off"))
MVC_UV = 300.0
NOISE_UV = 3.0
HOLDS_S = (0.3, 0.5, 1.0, 2.0, 5.0)
LAYOUT = SetLayout({"s1": [ChannelAssignment("glute_max", "R")]}, "glute_max")
NOT_INSTALLED = "not installed (pip install -e '.[bench]')"


def emg(activation: np.ndarray, fs: float, rng: np.random.Generator, **kw) -> np.ndarray:
    return synthesize(activation, fs, rng, noise_floor=NOISE_UV, **kw)


def table(header: tuple[str, ...], rows: list[tuple]) -> None:
    widths = [max(len(str(c)) for c in column) for column in zip(header, *rows)]
    for row in (header, *rows):
        print("  " + "  ".join(str(c).rjust(w) for c, w in zip(row, widths)))


def pct(values) -> str:
    """Mean bias ± SD of ratios, in %."""
    values = np.asarray(values)
    return f"{(values.mean() - 1) * 100:+5.1f} ± {values.std() * 100:4.1f}"


# --------------------------------------------------------------------------------------------
# 1. %MVC
# --------------------------------------------------------------------------------------------


def _reference(fs: int, rng, levels) -> float:
    trials = [Pipeline(fs, 1, NO_MAINS).process(emg(plateau(fs * 6, fs, 0.5, 4.0, MVC_UV * lv), fs, rng)[:, None])
              .envelope[:, 0] for lv in levels]
    return mvc_reference(trials, fs).reference


def _holds(fs: int, rng, holds, fractions) -> np.ndarray:
    pieces = [np.zeros(round(1.5 * fs))]
    for hold, fraction in zip(holds, fractions, strict=True):
        ramp = float(rng.uniform(0.2, 0.5))
        pieces += [plateau(round((2 * ramp + hold) * fs), fs, 0.0, hold, MVC_UV * fraction, ramp), np.zeros(2 * fs)]
    return emg(np.concatenate(pieces), fs, rng)


def _analyse(fs: int, reference: float, x: np.ndarray) -> tuple[SetAnalyzer, list[tuple[float, float, float]]]:
    """The set's reps as (peak, highest sample, best 500 ms mean), all in %MVC."""
    analyzer = SetAnalyzer(fs, LAYOUT, AnalysisSettings(dsp=NO_MAINS), {"glute_max:R": reference})
    analyzer.add("s1", x[:, None])
    envelope = analyzer.envelope(0)
    rows = []
    for rep in analyzer.reps:
        span = envelope[round(rep.start_s * fs) : round(rep.end_s * fs)]
        rows.append((rep.peak, float(span.max()), float(moving_mean(span, fs // 2).max())))
    return analyzer, rows


def section_mvc(seeds: int) -> None:
    print(f"\n1. %MVC: measured ÷ true fraction of the MVC level, bias ± SD in % ({seeds} seeds per cell)")
    for name, levels in (("equal-effort trials", (1.0, 1.0, 1.0)), ("kit trials 92/100/97 %", (0.92, 1.0, 0.97))):
        rows = []
        for fs in (1000, 2000):
            ratios = {hold: [[], [], []] for hold in HOLDS_S}
            for seed in range(seeds):
                rng = np.random.default_rng(seed)
                reference = _reference(fs, rng, levels)
                fractions = rng.uniform(0.3, 0.9, len(HOLDS_S))
                _, reps = _analyse(fs, reference, _holds(fs, rng, HOLDS_S, fractions))
                if len(reps) != len(HOLDS_S):
                    continue
                for (values, hold, fraction) in zip(reps, HOLDS_S, fractions, strict=True):
                    for k in range(3):
                        ratios[hold][k].append(values[k] / (100 * fraction))
            for hold in HOLDS_S:
                new, sample, half_second = ratios[hold]
                rows.append((f"{fs} Hz", f"{hold:g} s", len(new), pct(new), pct(sample), pct(half_second)))
        print(f"  reference from {name}:")
        table(("rate", "hold", "n", "peak (dsp.peak)", "old: highest sample", "best 500 ms only"), rows)
    rows = []
    for fs in (1000, 2000):
        best = []
        for seed in range(seeds):
            rng = np.random.default_rng(10_000 + seed)
            reference = _reference(fs, rng, (1.0, 1.0, 1.0))
            _, reps = _analyse(fs, reference, _holds(fs, rng, (4.0, 4.0, 4.0), (1.0, 1.0, 1.0)))
            if len(reps) == 3:
                best.append([max(r[k] for r in reps) for k in range(3)])
        best = np.array(best)
        rows.append((f"{fs} Hz", len(best), *(f"{b.mean():5.1f} ± {b.std():3.1f} ({b.min():.0f}–{b.max():.0f})"
                                               for b in best.T)))
    print("  a client repeating the MVC protocol (3 × 4 s held at the MVC level), the best trial in %MVC:")
    table(("rate", "n", "peak (dsp.peak)", "old: highest sample", "best 500 ms only"), rows)
    _real_peaks()


def _real_files() -> list[Path]:
    return sorted(Path(p) for p in glob.glob(str(DATA / "uci_emg_physical_action" / "sub*" / "*" / "*.txt.gz")))


def _real_peaks() -> None:
    files = _real_files() + sorted(Path(p) for p in glob.glob(str(DATA / "uci_lower_limb_emg" / "N_TXT" / "*.txt.gz")))
    if not files:
        print(f"  shared real data: not found at {DATA}")
        return
    ratios = []
    for path in files:
        recording = load_signal_file(path)
        channels = [ChannelAssignment(f"c{k}") for k in range(recording.channels)]
        report = analyze_signal(recording.samples, recording.fs_hz, channels, source=str(path),
                                units=recording.units, clip_level=recording.clip_level).report
        envelope = _envelope_of(recording)
        for k, ch in enumerate(report["channels"]):
            for rep in ch["reps"]:
                span = envelope[round(rep["start_s"] * recording.fs_hz) : round(rep["end_s"] * recording.fs_hz), k]
                ratios.append(span.max() / rep["peak"])
    ratios = np.array(ratios)
    q1, q2, q3 = np.percentile(ratios, [25, 50, 75])
    print(f"  shared real recordings ({len(files)} files, {ratios.size} reps): the old peak (highest sample) ÷ the "
          f"peak: median {q2:.2f} (IQR {q1:.2f}–{q3:.2f})")


def _envelope_of(recording) -> np.ndarray:
    from coach_tui.dsp.mains import detect_mains

    mains = detect_mains(recording.samples.T, recording.fs_hz)
    settings = DspSettings(FilterSettings(mains=f"{mains:g}" if mains else "off"))
    return Pipeline(recording.fs_hz, recording.channels, settings).process(recording.samples).envelope


# --------------------------------------------------------------------------------------------
# 2. fatigue
# --------------------------------------------------------------------------------------------


def _rep_set_trend(seed: int, fall: float, fs: int = 1000, reps: int = 12):
    rng = np.random.default_rng(seed)
    durations = rng.uniform(1.2, 3.0, reps)
    gaps = rng.uniform(0.8, 2.0, reps)
    starts = 1.0 + np.cumsum(np.concatenate([[0.0], durations[:-1] + gaps[:-1]]))
    n = int((starts[-1] + durations[-1] + 2.0) * fs)
    activation = raised_cosine_bursts(n, fs, list(starts), list(durations), list(rng.uniform(0.4, 0.9, reps) * MVC_UV))
    compression = np.ones(n)
    for k, (start, duration) in enumerate(zip(starts, durations, strict=True)):
        compression[round(start * fs) : round((start + duration) * fs)] = 1.0 - fall * k / (reps - 1)
    filtered = Pipeline(fs, 1, NO_MAINS).process(emg(activation, fs, rng, compression=compression)[:, None]).filtered[:, 0]
    segments = [(round(s * fs), round((s + d) * fs)) for s, d in zip(starts, durations, strict=True)]
    return median_frequency_trend(filtered, fs, segments)


def _hold_fatigue(seed: int, fall: float, fs: int = 1000):
    rng = np.random.default_rng(seed)
    n = 34 * fs
    compression = 1.0 - fall * np.clip((np.arange(n) / fs - 2.0) / 30.0, 0, 1)
    analyzer = SetAnalyzer(fs, LAYOUT, AnalysisSettings(dsp=NO_MAINS), {"glute_max:R": MVC_UV})
    analyzer.add("s1", emg(plateau(n, fs, 1.5, 30.0, 0.6 * MVC_UV, 0.5), fs, rng, compression=compression)[:, None])
    return set_fatigue(analyzer.reps)


def section_fatigue(seeds: int) -> None:
    print("\n2. Fatigue: how often the verdict says \"fatigue\" (the slope's 95 % interval wholly below zero)")
    rows = []
    steady = [_rep_set_trend(seed, 0.0) for seed in range(2 * seeds)]
    coverage = np.mean([t.slope_ci_hz_per_min[0] <= 0 <= t.slope_ci_hz_per_min[1] for t in steady])
    rows.append(("12 reps, steady", len(steady), f"{np.mean([t.fatigue for t in steady]):.1%}",
                 f"interval covers 0 in {coverage:.1%}"))
    falling = [_rep_set_trend(50_000 + seed, 0.25) for seed in range(seeds)]
    rows.append(("12 reps, 25 % fall", len(falling), f"{np.mean([t.fatigue for t in falling]):.1%}",
                 f"median fitted change {np.median([t.change_pct for t in falling]):+.0f} %"))
    holds = [_hold_fatigue(90_000 + seed, 0.0) for seed in range(3 * seeds)]
    rows.append(("30 s hold, steady", len(holds), f"{np.mean([bool(h.fatigue) for h in holds]):.1%}", "1 s windows"))
    holds = [_hold_fatigue(70_000 + seed, 0.10) for seed in range(seeds // 2)]
    rows.append(("30 s hold, 10 % fall", len(holds), f"{np.mean([bool(h.fatigue) for h in holds]):.1%}", "1 s windows"))
    table(("simulated (1 kHz)", "sets", "said fatigue", ""), rows)
    files = _real_files()
    if not files:
        print(f"  shared real data: not found at {DATA}")
        return
    said = trends = 0
    for path in files:
        recording = load_signal_file(path)
        channels = [ChannelAssignment(f"c{k}") for k in range(recording.channels)]
        report = analyze_signal(recording.samples, recording.fs_hz, channels, source=str(path),
                                units=recording.units, clip_level=recording.clip_level).report
        for ch in report["channels"]:
            if ch["median_frequency_hz"] is not None:
                trends += 1
                said += ch["median_frequency_hz"]["fatigue"]
    print(f"  shared real recordings (UCI physical action, ~10 s each): fatigue said in {said} of {trends} "
          f"channel trends ({said / max(trends, 1):.1%}); 10 s of movement is not expected to fatigue")


# --------------------------------------------------------------------------------------------
# 3. sample rate
# --------------------------------------------------------------------------------------------


def section_sample_rate() -> None:
    print("\n3. Sample rate: the same real samples labelled 1000 Hz and 990 Hz (a real device's header)")
    files = _real_files()
    if not files:
        print(f"  shared real data: not found at {DATA}")
        return
    moves, unavailable, reduced, pairs = [], 0, 0, 0
    for path in files:
        recording = load_signal_file(path)
        channels = [ChannelAssignment(m, s) for m, s in recording.channel_hints]
        reports = [analyze_signal(recording.samples, fs, channels, source=str(path), units=recording.units,
                                  clip_level=recording.clip_level).report for fs in (1000.0, 990.0)]
        at_990 = reports[1]
        unavailable += sum(ch["fatigue_unavailable"] is not None for ch in at_990["channels"])
        reduced += sum(ch["quality"]["reduced_bandwidth"] for ch in at_990["channels"])
        for a, b in zip(reports[0]["pairs"], at_990["pairs"], strict=True):
            pairs += 1
            if a["asymmetry_pct"] is not None and b["asymmetry_pct"] is not None:
                moves.append(abs(a["asymmetry_pct"] - b["asymmetry_pct"]))
    moves = np.array(moves)
    print(f"  {len(files)} files: at 990 Hz {reduced} channels flagged reduced bandwidth, fatigue unavailable on "
          f"{unavailable}; asymmetry moved by median {np.median(moves):.2f}, 90th percentile "
          f"{np.percentile(moves, 90):.2f}, at most {moves.max():.2f} points ({moves.size} of {pairs} pairs "
          "conclusive at both rates; what still moves is the 1 % longer rep and 1 s windows of the relabelled "
          "samples regrouping a pair with few reps, not the filters)")


# --------------------------------------------------------------------------------------------
# 4. onsets against NeuroKit2
# --------------------------------------------------------------------------------------------


def _neurokit_onsets(x: np.ndarray, fs: float, nk) -> np.ndarray:
    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
        warnings.simplefilter("ignore")
        signals, _ = nk.emg_process(x, sampling_rate=int(round(fs)))
    return np.flatnonzero(signals["EMG_Onsets"].to_numpy()) / fs


def _our_onsets(x: np.ndarray, fs: float, rest: tuple[float, float]) -> np.ndarray:
    pipeline = Pipeline(fs, 1, NO_MAINS)
    envelope = pipeline.process(x[:, None]).envelope[:, 0]
    baseline = rest_baseline(envelope[round(rest[0] * fs) : round(rest[1] * fs)])
    return np.array([on for on, _ in detect_onsets(envelope, fs, baseline)]) / fs


def _match(found: np.ndarray, truth: np.ndarray, within_s: float = 0.2) -> np.ndarray:
    """Signed error (s) of the nearest found onset to each true one, NaN when none is within reach."""
    errors = []
    for t in truth:
        near = found[np.abs(found - t) <= within_s] if found.size else found
        errors.append(near[np.argmin(np.abs(near - t))] - t if near.size else np.nan)
    return np.array(errors)


def section_onsets() -> None:
    print("\n4. Onsets against NeuroKit2's emg_process")
    try:
        import neurokit2 as nk
    except ModuleNotFoundError:
        print(f"  skipped: neurokit2 {NOT_INSTALLED}")
        return
    except Exception as error:  # noqa: BLE001 - a broken peer install is reported, not fatal
        print(f"  skipped: neurokit2 installed but import failed: {type(error).__name__}: {error}")
        return
    rows = []
    for contrast in (5.0, 10.0, 40.0):
        ours, theirs = [], []
        for seed in range(10):
            fs = 1000
            rng = np.random.default_rng(seed)
            truth = np.array([2.0, 4.7, 7.3, 9.9])
            t = np.arange(12 * fs) / fs
            activation = np.zeros(t.size)
            for start in truth:
                activation = np.maximum(activation, contrast * NOISE_UV * np.clip((t - start) / 0.02, 0, 1) * (t < start + 1.2))
            x = emg(activation, fs, rng)
            ours.append(_match(_our_onsets(x, fs, (0.3, 1.8)), truth))
            theirs.append(_match(_neurokit_onsets(x, fs, nk), truth))
        for name, errors in (("coach-tui", np.concatenate(ours)), ("NeuroKit2", np.concatenate(theirs))):
            found = errors[~np.isnan(errors)] * 1000
            rows.append((f"×{contrast:g} rest", name, f"{found.size}/{errors.size}",
                         f"{np.median(np.abs(found)):.0f}" if found.size else "—",
                         f"{np.percentile(np.abs(found), 95):.0f}" if found.size else "—"))
    print(f"  synthetic bursts with known onsets (NeuroKit2 {nk.__version__}; within 200 ms of the truth):")
    table(("contrast", "method", "found", "median |error| ms", "95th pct ms"), rows)
    files = sorted(Path(p) for p in glob.glob(str(DATA / "uci_lower_limb_emg" / "N_TXT" / "*sen.txt.gz")))
    if not files:
        print(f"  shared real data: not found at {DATA}")
        return
    differences, ours_n, theirs_n = [], 0, 0
    for path in files:
        recording = load_signal_file(path)
        for k in range(recording.channels):
            x = recording.samples[:, k] * 1000.0  # mV → µV
            envelope = Pipeline(recording.fs_hz, 1, NO_MAINS).process(x[:, None]).envelope[:, 0]
            start = int(recording.fs_hz)  # the quietest 500 ms after the filters' first second
            quiet = int(np.argmin(moving_mean(envelope[start:], 500))) + start
            mine = _our_onsets(x, recording.fs_hz, (quiet / recording.fs_hz, quiet / recording.fs_hz + 0.5))
            theirs = _neurokit_onsets(x, recording.fs_hz, nk)
            ours_n, theirs_n = ours_n + mine.size, theirs_n + theirs.size
            differences.append(_match(mine, theirs, within_s=0.3))
    d = np.concatenate(differences)
    matched = d[~np.isnan(d)] * 1000
    print(f"  shared lower-limb seated leg extensions ({len(files)} files × 4 muscles): coach-tui {ours_n} onsets, "
          f"NeuroKit2 {theirs_n}; {matched.size} of NeuroKit2's have one of ours within 300 ms, "
          f"ours later by median {np.median(matched):+.0f} ms (IQR {np.percentile(matched, 25):+.0f} to "
          f"{np.percentile(matched, 75):+.0f})")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, default=100, help="simulated sets per cell (default 100)")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    print("Validity of %MVC, fatigue and the sample-rate rules (coach_tui)")
    section_mvc(args.seeds)
    section_fatigue(args.seeds)
    section_sample_rate()
    section_onsets()
    print(f"\n({time.perf_counter() - started:.0f} s)")


if __name__ == "__main__":
    main()
