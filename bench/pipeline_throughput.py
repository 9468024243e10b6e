"""Throughput and latency of the streaming EMG chain, against a scipy floor and EMG libraries.

One synthetic recording (8 channels, 2 kHz, bursts of activity plus 50 Hz hum) goes through:

* ours: ``coach_tui.dsp.Pipeline`` (band-pass + mains notches, 100 ms moving RMS, %MVC), fed in
  20 ms chunks and in 50 ms blocks as a live sensor would, and once as a whole (offline);
* the floor: the least a causal streaming implementation can do with public scipy -- one
  ``sosfilt`` call per chunk with the same fused sections on a contiguous ``(channels, n)``
  array with carried ``zi``, then square + running sum + sqrt;
* NeuroKit2, BioSPPy and libemg on the whole signal, per channel, offline (their intended use);
* "live app on NeuroKit2": what re-running NeuroKit2 on the last 1 s every 20 ms would cost.

Run from the repository root: ``python bench/pipeline_throughput.py [--seconds 60]``.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import importlib.util
import io
import os
import platform
import sys
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import scipy
from scipy import signal

try:
    import coach_tui  # noqa: F401
except ModuleNotFoundError:  # running from a checkout without `pip install -e .`
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from coach_tui.dsp import DspSettings, FilterSettings, Pipeline
from coach_tui.sources.emg_synthesis import raised_cosine_bursts, synthesize

FS_HZ = 2000
N_CHANNELS = 8
MAINS_HZ = 50.0
MVC_REFERENCE = [400.0, 380.0, 420.0, 300.0, 350.0, 390.0, 410.0, 360.0]  # µV, one per channel
NOT_INSTALLED = "not installed (pip install -e '.[bench]')"

TARGET_BLOCK_X = 500.0  # × real time, 50 ms blocks
TARGET_CHUNK_X = 200.0  # × real time, 20 ms chunks
TARGET_P99_US = 1000.0  # per 20 ms chunk call


# --------------------------------------------------------------------------------------------
# signal
# --------------------------------------------------------------------------------------------


def make_signal(seconds: float, seed: int = 7) -> np.ndarray:
    """``(n, 8)`` µV: sEMG bursts (a rep every ~3 s, per-channel levels), noise floor, 50 Hz hum."""
    rng = np.random.default_rng(seed)
    n = int(round(seconds * FS_HZ))
    t = np.arange(n) / FS_HZ
    starts = list(np.arange(1.0, max(seconds - 2.0, 1.0), 3.0))
    out = np.empty((n, N_CHANNELS))
    for ch in range(N_CHANNELS):
        peaks = list(rng.uniform(80.0, 350.0, len(starts)))
        durations = list(rng.uniform(1.2, 2.2, len(starts)))
        activation = raised_cosine_bursts(n, FS_HZ, starts, durations, peaks)
        emg = synthesize(activation, FS_HZ, rng, noise_floor=4.0)
        hum = 25.0 * np.sin(2 * np.pi * MAINS_HZ * t + rng.uniform(0, 2 * np.pi))
        hum += 6.0 * np.sin(2 * np.pi * 3 * MAINS_HZ * t + rng.uniform(0, 2 * np.pi))
        offset = rng.uniform(-200.0, 200.0)  # electrode DC offset
        out[:, ch] = emg + hum + offset
    return out


# --------------------------------------------------------------------------------------------
# measurements
# --------------------------------------------------------------------------------------------


@dataclass
class Run:
    seconds: float  # wall time of the whole stream (fastest of the repeats, like timeit)
    call_ns: np.ndarray  # per-call times of all repeats, pooled


class Streamer:
    """One way of processing a stream: ``start()`` makes fresh state, ``step(piece)`` is one call."""

    def __init__(self, name: str, pieces: list[np.ndarray], start):
        self.name, self.pieces, self.start = name, pieces, start
        self.walls: list[float] = []
        self.calls: list[np.ndarray] = []

    def warm_up(self) -> None:
        step = self.start()
        for piece in self.pieces[: min(len(self.pieces), 300)]:
            step(piece)

    def run_once(self) -> None:
        step = self.start()
        pieces = self.pieces
        ns = np.empty(len(pieces), dtype=np.int64)
        clock = time.perf_counter_ns
        gc.collect()
        begin = clock()
        for i, piece in enumerate(pieces):
            t0 = clock()
            step(piece)
            ns[i] = clock() - t0
        self.walls.append((clock() - begin) / 1e9)
        self.calls.append(ns)

    def result(self) -> Run:
        return Run(float(np.min(self.walls)), np.concatenate(self.calls))


def _settings() -> DspSettings:
    return DspSettings(filters=FilterSettings(mains=str(int(MAINS_HZ))))


def ours_streamer(x: np.ndarray, chunk: int) -> Streamer:
    """Fresh Pipeline per run, fed ``(chunk, 8)`` views as a sensor source would deliver them."""
    pieces = [x[i : i + chunk] for i in range(0, x.shape[0], chunk)]
    return Streamer(f"ours {chunk}", pieces, lambda: Pipeline(FS_HZ, N_CHANNELS, _settings(), MVC_REFERENCE).process)


def time_ours_offline(x: np.ndarray, repeats: int) -> float:
    walls = []
    for _ in range(repeats + 1):
        pipeline = Pipeline(FS_HZ, N_CHANNELS, _settings(), MVC_REFERENCE)
        start = time.perf_counter()
        pipeline.process(x)
        walls.append(time.perf_counter() - start)
    return float(np.min(walls[1:]))


def band_sos() -> np.ndarray:
    return signal.butter(4, [20.0, 450.0], btype="bandpass", fs=FS_HZ, output="sos")


def notch_sos() -> np.ndarray:
    return np.vstack([signal.tf2sos(*signal.iirnotch(f, 30.0, fs=FS_HZ)) for f in np.arange(50.0, 451.0, 50.0)])


def floor_sos() -> np.ndarray:
    """Same sections as ours: Butterworth 20-450 Hz order 4, iirnotch Q=30 at 50, 100, ... 450 Hz."""
    return np.ascontiguousarray(np.vstack([band_sos(), notch_sos()]))


class Floor:
    """Minimal causal streaming chain in public numpy/scipy: no checks, no copies it can avoid.

    One ``sosfilt`` per chunk over contiguous ``(channels, n)`` with carried ``zi``; the envelope
    is a running sum of squares (``s[k] = s[k-1] + x[k]^2 - x[k-w]^2``, which drifts on long
    recordings -- ours does not), then ``sqrt(s / w)``, returned ``(n, channels)`` like ours.
    """

    def __init__(self, sos: np.ndarray, first: np.ndarray, window: int):
        self.sos = sos
        self.zi = signal.sosfilt_zi(sos)[:, None, :] * first[None, :, None]
        self.window = window
        self.history = np.zeros((first.shape[0], window))  # last `window` squares
        self.total = np.zeros((1, first.shape[0]))

    def process(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        y, self.zi = signal.sosfilt(self.sos, x, axis=-1, zi=self.zi)
        sq = y * y
        n = sq.shape[1]
        ext = np.concatenate([self.history, sq], axis=1)
        diff = sq - ext[:, :n]
        sums = np.cumsum(diff.T, axis=0)  # (n, channels): accumulating along axis 0 is faster
        sums += self.total
        self.total = sums[-1:].copy()
        self.history = ext[:, n:]
        np.maximum(sums, 0.0, out=sums)
        sums *= 1.0 / self.window
        return y, np.sqrt(sums, out=sums)


def _channels_first_pieces(x: np.ndarray, chunk: int) -> list[np.ndarray]:
    """Chunks handed over already channels-first and contiguous (the floor's best case)."""
    xt = np.ascontiguousarray(x.T)
    return [np.ascontiguousarray(xt[:, i : i + chunk]) for i in range(0, xt.shape[1], chunk)]


def floor_streamer(x: np.ndarray, chunk: int, window: int) -> Streamer:
    pieces = _channels_first_pieces(x, chunk)
    sos, first = floor_sos(), pieces[0][:, 0].copy()
    return Streamer(f"floor {chunk}", pieces, lambda: Floor(sos, first, window).process)


def sosfilt_only_streamer(x: np.ndarray, chunk: int) -> Streamer:
    """Just the one scipy call per chunk: the cost no scipy-based chain can go below."""
    pieces = _channels_first_pieces(x, chunk)
    sos, first = floor_sos(), pieces[0][:, 0].copy()

    def start():
        state = {"zi": signal.sosfilt_zi(sos)[:, None, :] * first[None, :, None]}

        def step(piece):
            y, state["zi"] = signal.sosfilt(sos, piece, axis=-1, zi=state["zi"])
            return y

        return step

    return Streamer(f"sosfilt {chunk}", pieces, start)


def check_floor_matches_ours(x: np.ndarray, window: int) -> tuple[float, float]:
    """Max |difference| of filtered signal and envelope between ours and the floor (µV)."""
    pipeline = Pipeline(FS_HZ, N_CHANNELS, _settings(), MVC_REFERENCE)
    frame = pipeline.process(x)
    xt = np.ascontiguousarray(x.T)
    y, env = Floor(floor_sos(), xt[:, 0], window).process(xt)
    return float(np.max(np.abs(frame.filtered.T - y))), float(np.max(np.abs(frame.envelope - env)))


def best_of(fn, repeats: int) -> float:
    walls = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        walls.append(time.perf_counter() - start)
    return float(np.min(walls))


# --------------------------------------------------------------------------------------------
# peers (each import guarded)
# --------------------------------------------------------------------------------------------


def load_peer(module: str, dist: str):
    """Import a peer quietly; returns (module or None, reason when None)."""
    if importlib.util.find_spec(dist) is None:
        return None, NOT_INSTALLED
    try:
        with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
            warnings.simplefilter("ignore")
            return importlib.import_module(module), ""
    except Exception as error:  # installed but broken (e.g. a missing undeclared dependency)
        return None, f"installed but import failed: {type(error).__name__}: {error}"


def peer_version(dist: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(dist)
    except PackageNotFoundError:
        return "?"


def neurokit_offline(nk, x: np.ndarray) -> None:
    for ch in range(x.shape[1]):
        nk.emg_amplitude(nk.emg_clean(x[:, ch], sampling_rate=FS_HZ))


def biosppy_offline(bemg, x: np.ndarray) -> None:
    for ch in range(x.shape[1]):
        bemg.emg(signal=x[:, ch], sampling_rate=FS_HZ, show=False)


def libemg_offline(libemg_mods, x: np.ndarray, window: int, increment: int) -> None:
    filtering, feature_extractor, utils = libemg_mods
    filt = filtering.Filter(FS_HZ)
    filt.install_filters({"name": "bandpass", "cutoff": [20, 450], "order": 4})
    for f in np.arange(50.0, 451.0, 50.0):  # same notches as ours: Q = cutoff / bandwidth = 30
        filt.install_filters({"name": "notch", "cutoff": float(f), "bandwidth": float(f) / 30.0})
    filtered = filt.filter(x)
    windows = utils.get_windows(filtered, window, increment)
    feature_extractor.FeatureExtractor().extract_features(["RMS"], windows)


# --------------------------------------------------------------------------------------------
# report
# --------------------------------------------------------------------------------------------


def fmt_rate(samples_per_s: float) -> str:
    if samples_per_s >= 1e6:
        return f"{samples_per_s / 1e6:6.2f} M"
    return f"{samples_per_s / 1e3:6.0f} k"


def print_table(headers: tuple[str, ...], rows: list[tuple[str, ...]], left: set[int]) -> None:
    widths = [max(len(r[i]) for r in [*rows, headers]) for i in range(len(headers))]

    def render(r):
        return "  ".join(c.ljust(w) if i in left else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths))).rstrip()

    print(render(headers))
    print("  ".join("-" * w for w in widths))
    for r in rows:
        print(render(r))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=60.0, help="length of the synthetic signal (default 60)")
    parser.add_argument("--repeats", type=int, default=5, help="streaming runs per mode, interleaved (default 5)")
    args = parser.parse_args()
    if args.seconds < 2 or args.repeats < 1:
        parser.error("need --seconds >= 2 and --repeats >= 1")

    t_start = time.perf_counter()
    x = make_signal(args.seconds)
    n = x.shape[0]
    duration = n / FS_HZ
    window = round(_settings().envelope.window_ms * FS_HZ / 1000)
    chunk20, chunk50 = FS_HZ * 20 // 1000, FS_HZ * 50 // 1000

    print(
        f"Python {platform.python_version()}, numpy {np.__version__}, scipy {scipy.__version__}, "
        f"{platform.machine()}, {os.cpu_count()} CPUs"
    )
    print(
        f"Signal: {N_CHANNELS} ch x {duration:g} s at {FS_HZ} Hz (bursts every 3 s, 50+150 Hz hum, DC offsets)"
    )
    print(
        f"Chain:  band-pass 20-450 Hz order 4 ({len(band_sos())} SOS) + {len(notch_sos())} notches 50..450 Hz Q 30, "
        f"{window}-sample (100 ms) moving RMS, %MVC"
    )

    # Streaming modes run interleaved, so a busy moment on the machine hits all of them alike.
    streamers = {
        "ours20": ours_streamer(x, chunk20),
        "ours50": ours_streamer(x, chunk50),
        "floor20": floor_streamer(x, chunk20, window),
        "floor50": floor_streamer(x, chunk50, window),
        "sos20": sosfilt_only_streamer(x, chunk20),
        "sos50": sosfilt_only_streamer(x, chunk50),
    }
    for s in streamers.values():
        s.warm_up()
    for _ in range(args.repeats):
        for s in streamers.values():
            s.run_once()
    res = {k: s.result() for k, s in streamers.items()}
    ours20, ours50 = res["ours20"], res["ours50"]
    ours_off = time_ours_offline(x, 3)
    diff_filtered, diff_env = check_floor_matches_ours(x, window)

    def xrt(seconds: float) -> float:
        return duration / seconds

    rows: list[tuple[str, ...]] = []

    def add(name, seconds=None, lat=None, vs_stream="", vs_offline="", note=""):
        rate = fmt_rate(n / seconds) if seconds else ""
        speed = f"{xrt(seconds):.0f}x" if seconds else ""
        lat_s = ""
        if lat is not None:
            lat_s = f"{np.percentile(lat, 50) / 1e3:.0f} / {np.percentile(lat, 99) / 1e3:.0f}"
        rows.append((name, rate, speed, lat_s, vs_stream, vs_offline, note))

    def ratio(a: float, b: float) -> str:
        return f"{a / b:.2f}"

    add("ours, stream 20 ms chunks (40 smp)", ours20.seconds, ours20.call_ns)
    add("ours, stream 50 ms blocks (100 smp)", ours50.seconds, ours50.call_ns)
    add("ours, one call on the whole signal", ours_off)
    add("floor: sosfilt + running sum, 20 ms", res["floor20"].seconds, res["floor20"].call_ns,
        ratio(res["floor20"].seconds, ours20.seconds), note="vs ours 20 ms")
    add("floor: sosfilt + running sum, 50 ms", res["floor50"].seconds, res["floor50"].call_ns,
        ratio(res["floor50"].seconds, ours50.seconds), note="vs ours 50 ms")
    add("  scipy sosfilt call alone, 20 ms", res["sos20"].seconds, res["sos20"].call_ns,
        ratio(res["sos20"].seconds, ours20.seconds), note="vs ours 20 ms")
    add("  scipy sosfilt call alone, 50 ms", res["sos50"].seconds, res["sos50"].call_ns,
        ratio(res["sos50"].seconds, ours50.seconds), note="vs ours 50 ms")

    def add_peer(label, dist, loaded, why, run):
        if loaded is None:
            add(label, note=why)
            return None
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            run()  # warm up (lazy imports, caches)
            seconds = best_of(run, 3)
        add(f"{label} {peer_version(dist)}", seconds, None, ratio(seconds, ours50.seconds),
            ratio(seconds, ours_off), note="offline, whole signal, per channel")
        return seconds

    nk, why_nk = load_peer("neurokit2", "neurokit2")
    add_peer("NeuroKit2 emg_clean+emg_amplitude", "neurokit2", nk, why_nk, lambda: neurokit_offline(nk, x))
    bemg, why_bio = load_peer("biosppy.signals.emg", "biosppy")
    add_peer("BioSPPy emg.emg", "biosppy", bemg, why_bio, lambda: biosppy_offline(bemg, x))
    lib_filtering, why_lib = load_peer("libemg.filtering", "libemg")
    if lib_filtering is not None:
        mods = (lib_filtering, load_peer("libemg.feature_extractor", "libemg")[0], load_peer("libemg.utils", "libemg")[0])
    add_peer("libemg Filter + RMS", "libemg", lib_filtering, why_lib,
             lambda: libemg_offline(mods, x, window, chunk20))
    if lib_filtering is not None:
        rows[-1] = (*rows[-1][:-1], f"offline, filtfilt, RMS of {window} smp every {chunk20} smp")

    print()
    print_table(
        ("", "samples/s/ch", "x real time", "p50 / p99 us", "ours stream x", "ours offline x", "compared with"),
        rows,
        left={0, 6},
    )
    print(
        "x real time: fastest of the runs. p50/p99: per call, all runs pooled. 'ours stream x' / 'ours offline x':\n"
        "how many times faster ours is than that row (floor: same chunking; peers: ours in 50 ms blocks / in one\n"
        "call). Peers run their own chains, not ours (see bench/README.md).\n"
        f"The floor reproduces ours: max |diff| {diff_filtered:.1e} uV filtered, {diff_env:.1e} uV envelope."
    )

    # live app on NeuroKit2: every 20 ms, recompute the last 1 s of all channels
    print()
    ours_call_us = float(np.median(ours20.call_ns)) / 1e3
    ours_core = ours_call_us * 1e-6 * 50 * 100
    print("Live view refreshed at 50 Hz (every 20 ms), 8 channels:")
    if nk is None:
        print(f"  NeuroKit2 re-run on last 1 s: {why_nk}")
    else:
        last = FS_HZ  # 1 s
        ends = np.linspace(last, n, num=min(150, max(1, (n - last) // chunk20)), dtype=int)
        per = []
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            neurokit_offline(nk, x[:last])  # warm up
            for end in ends:
                t0 = time.perf_counter_ns()
                neurokit_offline(nk, x[end - last : end])
                per.append(time.perf_counter_ns() - t0)
        nk_ms = float(np.median(per)) / 1e6
        nk_core = nk_ms * 1e-3 * 50 * 100
        print(
            f"  NeuroKit2 emg_clean+emg_amplitude, last 1 s x 8 ch: {nk_ms:8.3f} ms per refresh (p99 "
            f"{np.percentile(per, 99) / 1e6:.1f} ms) -> {nk_core:6.1f} % of one core"
        )
        print(
            f"  ours, Pipeline.process of the new 20 ms x 8 ch:     {ours_call_us / 1e3:8.3f} ms per refresh (p99 "
            f"{np.percentile(ours20.call_ns, 99) / 1e6:.1f} ms) -> {ours_core:6.2f} % of one core "
            f"({nk_ms * 1e3 / ours_call_us:.0f}x less)"
        )

    print()
    print("Targets:")
    checks = [
        (f">= {TARGET_BLOCK_X:.0f}x real time, 50 ms blocks", xrt(ours50.seconds), TARGET_BLOCK_X, "x", True),
        (f">= {TARGET_CHUNK_X:.0f}x real time, 20 ms chunks", xrt(ours20.seconds), TARGET_CHUNK_X, "x", True),
        (f"p99 <= {TARGET_P99_US:.0f} us per 20 ms chunk call", float(np.percentile(ours20.call_ns, 99)) / 1e3,
         TARGET_P99_US, " us", False),
    ]
    for label, value, target, unit, higher in checks:
        ok = value >= target if higher else value <= target
        print(f"  {'PASS' if ok else 'FAIL'}  {label:36s} measured {value:,.0f}{unit}")
    print(
        f"  (the scipy floor on this machine: {xrt(res['floor50'].seconds):.0f}x in 50 ms blocks, "
        f"{xrt(res['floor20'].seconds):.0f}x in 20 ms chunks)"
    )
    print(f"\n(total bench time {time.perf_counter() - t_start:.1f} s)")


if __name__ == "__main__":
    main()
