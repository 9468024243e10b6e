"""How ``coach analyze`` scales with the recording's length: time and peak memory.

Each length runs in its own process: 8 channels at 2 kHz of synthetic sEMG (noise under a 2 s
burst every 4 s, a little 50 Hz hum) fed to ``analyze_chunks`` — the analysis ``coach analyze``
runs, mains "auto" — a chunk at a time, as a file read in pieces is. Printed per length: wall
time, time per minute of signal (flat = linear), peak resident memory, reps found. ``--csv PATH``
also times ``coach analyze PATH`` on a real file (its reading included).

    python bench/analyze_scaling.py [--minutes 5 50 500] [--csv FILE]
    python bench/analyze_scaling.py --write-csv FILE [--hours 2.8]   # a long CSV of the same signal (~1 GB)

Not a test: it prints figures. Linux (peak memory from ``getrusage``).
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
try:
    import coach_tui  # noqa: F401
except ImportError:
    sys.path.insert(0, str(ROOT))

FS = 2000
CHANNELS = 8
CHUNK = 1 << 16


def _chunks(minutes: float):
    """The synthetic recording, a chunk at a time (each chunk from its own seed: reproducible)."""
    n = round(minutes * 60 * FS)
    levels = np.linspace(40.0, 160.0, CHANNELS)
    for k, start in enumerate(range(0, n, CHUNK)):
        t = (start + np.arange(min(CHUNK, n - start))) / FS
        phase = t % 4.0
        burst = np.where(phase < 2.0, np.sin(np.pi * phase / 2.0) ** 2, 0.0)
        amplitude = 3.0 + burst[:, None] * levels[None, :]
        noise = np.random.default_rng(k).standard_normal((t.shape[0], CHANNELS))
        yield noise * amplitude + 2.0 * np.sin(2 * np.pi * 50.0 * t)[:, None]


def one(minutes: float) -> dict:
    """Analyse ``minutes`` of the synthetic recording; the figures of this process."""
    from coach_tui.domain.channels import ChannelAssignment
    from coach_tui.dsp.signal_analysis import analyze_chunks

    channels = [ChannelAssignment(m, s) for m in ("glute_max", "hamstrings", "adductor_longus", "erector_spinae")
                for s in "LR"]
    began = time.perf_counter()
    report = analyze_chunks(lambda: _chunks(minutes), FS, channels, source="synthetic", units="µV").report
    seconds = time.perf_counter() - began
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"minutes": minutes, "seconds": seconds, "peak_mb": peak_mb,
            "reps": sum(len(c["reps"]) for c in report["channels"]), "mains_hz": report["mains_hz"]}


def _run(argv: list[str]) -> dict:
    done = subprocess.run([sys.executable, __file__, *argv], capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def csv_run(path: str) -> dict:
    """``coach analyze PATH`` in a child process: wall time and its peak memory."""
    began = time.perf_counter()
    subprocess.run([sys.executable, "-m", "coach_tui.cli", "analyze", path], check=True, stdout=subprocess.DEVNULL)
    seconds = time.perf_counter() - began
    return {"seconds": seconds, "peak_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024}


def write_csv(path: str, hours: float) -> None:
    """The synthetic recording as text: a time column and 8 channels in µV (0.1 µV steps)."""
    names = ",".join(f"{m}_{s}" for m in ("glute", "hams", "adductor", "erector") for s in "LR")
    with open(path, "w", encoding="utf-8") as out:
        out.write(f"time_s,{names}\n")
        start = 0
        for chunk in _chunks(hours * 60):
            t = (start + np.arange(chunk.shape[0])) / FS
            np.savetxt(out, np.column_stack([t, chunk]), fmt=["%.4f"] + ["%.1f"] * CHANNELS, delimiter=",")
            start += chunk.shape[0]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, nargs="+", default=[5.0, 50.0, 500.0], help="lengths (default 5 50 500)")
    parser.add_argument("--csv", help="also time `coach analyze` on this file")
    parser.add_argument("--write-csv", metavar="FILE", help="only write the signal as a CSV (for --csv)")
    parser.add_argument("--hours", type=float, default=2.8, help="length of --write-csv's signal (default 2.8)")
    parser.add_argument("--one", type=float, help=argparse.SUPPRESS)  # a child: one length, JSON out
    args = parser.parse_args(argv)
    if args.write_csv:
        write_csv(args.write_csv, args.hours)
        return 0
    if args.one is not None:
        print(json.dumps(one(args.one)))
        return 0
    print(f"coach analyze's analysis of {CHANNELS} channels at {FS} Hz (synthetic, mains auto), fed in chunks")
    print(f"{'minutes':>8} {'wall s':>8} {'s per min':>10} {'peak MB':>8} {'reps':>7}")
    for minutes in args.minutes:
        row = _run(["--one", str(minutes)])
        print(f"{minutes:>8g} {row['seconds']:>8.1f} {row['seconds'] / minutes:>10.2f} {row['peak_mb']:>8.0f} "
              f"{row['reps']:>7}", flush=True)
    if args.csv:
        size = Path(args.csv).stat().st_size / 2**20
        row = csv_run(args.csv)
        print(f"\ncoach analyze {args.csv} ({size:.0f} MiB): {row['seconds']:.1f} s, peak {row['peak_mb']:.0f} MB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
