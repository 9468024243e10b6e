"""Rep counts against the knee goniometer: how often the agonists' reps equal the movement cycles.

Every sen (seated knee extension) and pie (standing knee flexion) file of the UCI lower-limb set
in ``../shared/data``, N (normal knee) and A (knee abnormality) apart: each agonist's rep count
from ``coach analyze`` (rectus femoris and vastus medialis for extension, biceps femoris and
semitendinosus for flexion) against the complete knee cycles of its angle column
(``tests/goniometer.py``; the detector never sees the angle). ``--sensitivity`` recounts with
each rep constant, and each constant of the truth, 25 % lower and higher.

    python bench/validity_reps.py [--sensitivity] [--data DIR]

Not a test: it prints figures (the lead folds them into ``bench/validity.py``).
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import fields, replace
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
try:
    import coach_tui  # noqa: F401
except ImportError:
    sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))  # goniometer

import goniometer  # noqa: E402

from coach_tui.domain.channels import ChannelAssignment  # noqa: E402
from coach_tui.dsp.analysis_settings import AnalysisSettings  # noqa: E402
from coach_tui.dsp.mains import detect_mains  # noqa: E402
from coach_tui.dsp.pipeline import Pipeline  # noqa: E402
from coach_tui.dsp.reps import RepSettings, detect_reps  # noqa: E402
from coach_tui.dsp.signal_analysis import analyze_signal  # noqa: E402
from coach_tui.sources.signal_files import load_signal_file  # noqa: E402

AGONISTS = {"sen": ("rectus_femoris", "vastus_medialis"), "pie": ("biceps_femoris", "semitendinosus")}
EXERCISES = {"sen": "knee extension (sen)", "pie": "knee flexion (pie)"}


def _files(data: Path) -> list[tuple[str, str, Path]]:
    folder = data / "uci_lower_limb_emg"
    return [(group, exercise, folder / f"{group}_TXT" / f"{subject}{group}{exercise}.txt.gz")
            for group in ("N", "A") for exercise in AGONISTS for subject in range(1, 9)]


def agreement(data: Path) -> list[tuple[str, str, str, str, int, int]]:
    """(group, exercise, file, muscle, reps counted, knee cycles) per agonist, via ``coach analyze``."""
    rows = []
    for group, exercise, path in _files(data):
        recording = load_signal_file(path)
        channels = [ChannelAssignment(m, s) for m, s in recording.channel_hints]
        report = analyze_signal(recording.samples, recording.fs_hz, channels, source=str(path), units=recording.units).report
        cycles = goniometer.knee_cycles(recording.aux["angle"], recording.fs_hz)
        for channel in report["channels"]:
            if channel["muscle"] in AGONISTS[exercise]:
                rows.append((group, exercise, path.name, channel["muscle"], len(channel["reps"]), cycles))
    return rows


def _print_table(rows) -> None:
    print(f"{'group':<6} {'exercise':<22} {'channels':>8} {'exact':>7} {'± 1':>7}")
    for group in ("N", "A"):
        for exercise in AGONISTS:
            part = [r for r in rows if r[0] == group and r[1] == exercise]
            _row(group, EXERCISES[exercise], part)
    for group in ("N", "A"):
        _row(group, "both", [r for r in rows if r[0] == group])
    _row("all", "", rows)
    off = [r for r in rows if r[4] != r[5]]
    if off:
        print("\nnot exact: " + ", ".join(f"{r[2].split('.')[0]} {r[3]} {r[4]} vs {r[5]}" for r in off))


def _row(group: str, label: str, part) -> None:
    exact = sum(r[4] == r[5] for r in part)
    near = sum(abs(r[4] - r[5]) <= 1 for r in part)
    n = len(part)
    print(f"{group:<6} {label:<22} {n:>8} {exact:>3} {100 * exact / n:3.0f}% {near:>3} {100 * near / n:3.0f}%")


def _envelopes(data: Path):
    """Per file: (group, exercise, the agonists' envelopes from the settled sample on, angle, fs) —
    the envelope ``coach analyze`` computes (mains decided from the whole recording first)."""
    found = []
    for group, exercise, path in _files(data):
        recording = load_signal_file(path)
        columns = [k for k, (m, _) in enumerate(recording.channel_hints) if m in AGONISTS[exercise]]
        raw = recording.samples[:, columns]
        settings = AnalysisSettings().dsp
        mains = detect_mains(raw.T, recording.fs_hz, settings.filters.mains_detect_s)
        dsp = replace(settings, filters=replace(settings.filters, mains=f"{mains:g}" if mains else "off"))
        pipeline = Pipeline(recording.fs_hz, len(columns), dsp)
        envelope = pipeline.process(raw).envelope[pipeline.settled_at :]
        found.append((group, exercise, envelope, recording.aux["angle"], recording.fs_hz))
    return found


def _score(envelopes, reps: RepSettings, truth: dict) -> tuple[int, int, int]:
    exact = near = total = 0
    for _, _, envelope, angle, fs in envelopes:
        cycles = goniometer.knee_cycles(angle, fs, **truth)
        for k in range(envelope.shape[1]):
            count = len(detect_reps(envelope[:, k], fs, 0.0, reps))
            exact += count == cycles
            near += abs(count - cycles) <= 1
            total += 1
    return exact, near, total


def sensitivity(data: Path) -> None:
    """Agreement with each constant 25 % lower and higher (the rest at their defaults)."""
    envelopes = _envelopes(data)
    base = RepSettings()
    exact, near, total = _score(envelopes, base, {})
    print(f"\nSensitivity: exact / within ±1 of {total} channels (defaults: {exact} / {near})")
    print(f"{'constant':<28} {'default':>8} {'× 0.75':>12} {'× 1.25':>12}")
    for f in fields(RepSettings):
        value = getattr(base, f.name)
        cells = []
        for factor in (0.75, 1.25):
            changed = value * factor
            if f.name.endswith("fraction") and not 0 < changed < 1 or f.name == "rise_ratio" and changed <= 1:
                cells.append("—")
                continue
            e, n, _ = _score(envelopes, replace(base, **{f.name: changed}), {})
            cells.append(f"{e} / {n}")
        print(f"reps.{f.name:<23} {value:>8g} {cells[0]:>12} {cells[1]:>12}")
    truth_constants = {"smooth_s": goniometer.SMOOTH_S, "low": goniometer.LOW, "high": goniometer.HIGH}
    for name, value in truth_constants.items():
        cells = []
        for factor in (0.75, 1.25):
            changed = value * factor
            if name == "high":
                changed = min(changed, 0.95)
            e, n, _ = _score(envelopes, base, {name: changed})
            cells.append(f"{e} / {n}")
        print(f"truth.{name:<22} {value:>8g} {cells[0]:>12} {cells[1]:>12}")
    for low, high in ((0.5, 99.5), (2.0, 98.0)):
        e, n, _ = _score(envelopes, base, {"percentiles": (low, high)})
        print(f"truth.range of motion {low:g}–{high:g} % percentiles: {e} / {n}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data", help="the shared data folder")
    parser.add_argument("--sensitivity", action="store_true", help="also recount with each constant ±25 %%")
    args = parser.parse_args(argv)
    if not (args.data / "uci_lower_limb_emg").is_dir():
        print(f"{args.data / 'uci_lower_limb_emg'}: not found (pass --data)", file=sys.stderr)
        return 2
    print("Rep counts against the knee goniometer — UCI lower limb, subjects 1–8 "
          "(N normal knee, A knee abnormality), agonists of each exercise")
    _print_table(agreement(args.data))
    if args.sensitivity:
        sensitivity(args.data)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
