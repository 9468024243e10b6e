"""Mains hum: how often it is found when it is there, and declared when it is not.

Not a test: a script that prints figures (to be combined into ``bench/validity.py``). Every decision
is the one ``coach analyze``, ``coach check``, the live pipeline and re-analysis make
(``coach_tui.dsp.mains``: the listener over the quietest moments of the signal).

* **Found** — simulated sets with contractions (the simulated kit's "reps": 1.5–2.5 s bursts at
  70 %MVC, ~1 s rest, a 3 µV amplifier floor, and a noisier 10 µV one) plus hum on the fundamental
  and its 3rd harmonic, both of the given amplitude (µV peak), at 50 and 60 Hz, 1 and 2 kHz; one
  sensor (one channel), as the live screen sees it. Rate = the right frequency found.
* **Late hum** — the same sets with 10 µV of hum switched on after 20 s: found after it started
  (how long after), never before.
* **Declared on clean noise** — the kit's sets without hum, and white noise band-limited to
  20 Hz–edge by an 8th-order elliptic filter (0.1 dB ripple, 80 dB stop band) with the edge at or
  near a harmonic (420 Hz = 7 × 60, 445/450/455 Hz around 9 × 50), one minute each, 1 and 8
  channels. Rate = any hum declared. ``closest`` is the highest score reached, as a fraction of
  its threshold (the margin clean noise keeps).
* **Hum share at rest** — a set whose resting channel is mostly hum: the share of power at rest
  (what the quality grade now uses) against the share over the whole recording (what it used).
* **Real recordings** — ``../shared/data``: every file of the UCI physical action set (subject 2 is
  documented as unfiltered with 50 Hz mains; 1 and 3 are not) and of the lower-limb set (Colombia:
  60 Hz mains, visible in some files): the decision on all channels of a file, and per channel.

Run from the repository root: ``python bench/validity_mains.py [--recordings N] [--quick]``.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
from scipy import signal

try:
    import coach_tui  # noqa: F401
except ModuleNotFoundError:  # running from a checkout without `pip install -e .`
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from coach_tui.dsp.mains import DETECTION_SCORE, MainsListener, detect_mains, joint_detection_score, mains_fraction
from coach_tui.sources.simulated import SimulatedKit

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
HUM_LEVELS_UV = (1.0, 2.0, 5.0, 10.0, 20.0, 40.0)


def kit_set(seed: int, seconds: float, fs_hz: int, channels: int = 1, floor_uv: float = 3.0) -> np.ndarray:
    """``(channels, n)`` µV of a simulated set with contractions and no hum (``floor_uv``: the
    amplifier's white noise, RMS)."""
    kit = SimulatedKit(max(2, channels + channels % 2), fs_hz=fs_hz, seed=seed, scenario="reps", noise_floor_uv=floor_uv)
    data = kit.generate(seconds)
    return np.stack([data[sid] for sid in list(data)[:channels]]).astype(float)


def hum(n: int, fs_hz: float, mains_hz: float, amplitude_uv: float, seed: int, start: int = 0) -> np.ndarray:
    """Fundamental and 3rd harmonic, each ``amplitude_uv`` peak, random phases, from sample ``start``."""
    rng = np.random.default_rng(seed)
    t = np.arange(n) / fs_hz
    x = sum(amplitude_uv * np.sin(2 * np.pi * k * mains_hz * t + rng.uniform(0, 2 * np.pi)) for k in (1, 3))
    x[:start] = 0.0
    return x


def edge_noise(seed: int, seconds: float, fs_hz: int, edge_hz: float, channels: int) -> np.ndarray:
    """White noise (10 µV before filtering) band-limited 20 Hz–``edge_hz`` by a steep elliptic filter;
    the filter's first second is dropped."""
    sos = signal.ellip(8, 0.1, 80, [20.0, edge_hz], btype="band", fs=fs_hz, output="sos")
    x = np.random.default_rng(seed).standard_normal((channels, round((seconds + 1) * fs_hz))) * 10.0
    return signal.sosfilt(sos, x, axis=-1)[:, fs_hz:]


def rate(hits: int, n: int) -> str:
    return f"{hits:3d}/{n:<3d} {100.0 * hits / n:5.1f} %"


def found_table(recordings: int) -> None:
    print("Hum found (one channel, 30 s sets with contractions; fundamental + 3rd harmonic, each A µV peak)")
    columns = [(50.0, 1000, 3.0), (60.0, 1000, 3.0), (50.0, 2000, 3.0), (60.0, 2000, 3.0), (50.0, 1000, 10.0)]
    print(f"  {'':>6} " + " ".join(f"{f'{m:.0f} Hz @ {fs // 1000} kHz':>18}" for m, fs, _ in columns))
    print(f"  {'A µV':>6} " + " ".join(f"{f'{floor:g} µV floor':>18}" for _, _, floor in columns))
    for level in HUM_LEVELS_UV:
        cells = []
        for mains, fs, floor in columns:
            hits = 0
            for seed in range(recordings):
                x = kit_set(100 + seed, 30.0, fs, floor_uv=floor)
                x = x + hum(x.shape[1], fs, mains, level, seed)
                hits += detect_mains(x, fs) == mains
            cells.append(rate(hits, recordings))
        print(f"  {level:6.0f} " + " ".join(f"{c:>18}" for c in cells))


def late_table(recordings: int) -> None:
    print("\nHum of 10 µV switched on 20 s into a 40 s set (one channel, 1 kHz, 50 Hz): the live listener")
    fs, start = 1000, 20_000
    latencies, early, missed = [], 0, 0
    for seed in range(recordings):
        x = kit_set(300 + seed, 40.0, fs)
        x = x + hum(x.shape[1], fs, 50.0, 10.0, seed, start)
        listener = MainsListener(fs, 1)
        decision = None
        for i in range(0, x.shape[1], 20):  # 20 ms blocks, as the kit delivers them
            decision = listener.listen(x[:, i : i + 20]) or decision
        if decision is None:
            missed += 1
        elif decision.at < start:
            early += 1
        else:
            latencies.append((decision.at - start) / fs)
    lat = np.array(latencies)
    print(f"  found after it started: {rate(len(lat), recordings)}; before it started: {early}; never: {missed}")
    if lat.size:
        print(f"  delay: median {np.median(lat):.2f} s, 90th percentile {np.quantile(lat, 0.9):.2f} s, max {lat.max():.2f} s")


def clean_table(recordings: int) -> None:
    print("\nDeclared on clean noise (one minute each)")
    print(f"  thresholds: one channel {DETECTION_SCORE:g}; channels together "
          + ", ".join(f"{c}: {joint_detection_score(c):.2f}" for c in (2, 4, 8)))
    kinds = [("simulated sets, 1 kHz", lambda s, c: kit_set(500 + s, 60.0, 1000, c), 1000),
             ("simulated sets, 2 kHz", lambda s, c: kit_set(500 + s, 60.0, 2000, c), 2000)]
    kinds += [(f"band edge {edge:g} Hz, 1 kHz", lambda s, c, e=edge: edge_noise(s, 60.0, 1000, e, c), 1000)
              for edge in (420.0, 445.0, 450.0, 455.0)]
    print(f"  {'noise':<24} {'channels':>8} {'declared':>16} {'closest (median, max)':>24}")
    for name, make, fs in kinds:
        for channels in (1, 8):
            n = recordings if channels == 1 else max(4, recordings // 4)
            declared, closest = 0, []
            for seed in range(n):
                listener = MainsListener(fs, channels)
                declared += listener.listen(make(seed, channels)) is not None
                closest.append(listener.closest)
            print(f"  {name:<24} {channels:>8} {rate(declared, n):>16} {np.median(closest):>12.2f} {max(closest):>10.2f}")


def share_table() -> None:
    print("\nHum share of a channel that rests between reps with 20 µV (RMS) of 50 Hz hum, 1 kHz, 30 s")
    kit = SimulatedKit(2, fs_hz=1000, seed=11, scenario="reps", mains_hz=50, mains_uv=20.0)
    x = kit.generate(30.0)[kit.sensors[0].sensor_id].astype(float)
    whole = _whole_recording_share(x, 1000, 50.0)
    print(f"  at rest (the grade): {mains_fraction(x, 1000, 50.0):.0%}   over the whole recording: {whole:.0%}")


def _whole_recording_share(x: np.ndarray, fs: float, mains_hz: float) -> float:
    """Excess power on the mains lines over all 20–450 Hz power of the whole signal (Welch, 2 s)."""
    freqs, power = signal.welch(x, fs=fs, nperseg=int(2 * fs))
    band = (freqs >= 20) & (freqs <= 450)
    excess = 0.0
    for k in range(1, int(450 // mains_hz) + 1):
        d = np.abs(freqs - k * mains_hz)
        line = d <= 0.5
        near = (d >= 4) & (d <= 12)
        excess += max(power[line].sum() - np.median(power[near]) * line.sum(), 0.0)
    return float(excess / power[band].sum())


def real_table() -> None:
    from coach_tui.sources.signal_files import load_signal_file

    print("\nReal recordings (../shared/data): decision on all channels of a file; channels that alone find it")
    if not DATA.exists():
        print("  ../shared/data absent: skipped")
        return
    groups = [
        ("physical action, subject 2 (50 Hz documented)", sorted(DATA.glob("uci_emg_physical_action/sub02/*/*.txt.gz"))),
        ("physical action, subjects 1 and 3", sorted(DATA.glob("uci_emg_physical_action/sub0[13]/*/*.txt.gz"))),
        ("lower limb, normal knees (60 Hz country)", sorted(DATA.glob("uci_lower_limb_emg/N_TXT/*.txt.gz"))),
        ("lower limb, knee abnormality (60 Hz country)", sorted(DATA.glob("uci_lower_limb_emg/A_TXT/*.txt.gz"))),
    ]
    for title, paths in groups:
        found = {}
        for path in paths:
            recording = load_signal_file(path)
            x = recording.samples.T
            decision = detect_mains(x, recording.fs_hz)
            alone = [k for k in range(x.shape[0]) if detect_mains(x[k : k + 1], recording.fs_hz) is not None]
            name = "/".join(path.parts[-3:] if "physical" in str(path) else path.parts[-1:]).split(".")[0]
            found[name] = (decision, alone)
        hits = {n: d for n, d in found.items() if d[0] is not None}
        print(f"  {title}: {len(hits)} of {len(found)} files")
        for name, (decision, alone) in hits.items():
            print(f"    {name:<24} {decision:.0f} Hz   channels alone: {', '.join(str(k) for k in alone) or 'none'}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--recordings", type=int, default=40, help="simulated recordings per cell (default 40)")
    parser.add_argument("--quick", action="store_true", help="10 recordings per cell")
    args = parser.parse_args(argv)
    n = 10 if args.quick else args.recordings
    began = time.perf_counter()
    found_table(n)
    late_table(n)
    clean_table(n)
    share_table()
    real_table()
    print(f"\n({time.perf_counter() - began:.0f} s)")


if __name__ == "__main__":
    main()
