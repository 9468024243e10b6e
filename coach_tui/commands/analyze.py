"""``coach analyze``: a recording through the live pipeline, summarised."""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

from coach_tui.commands import CommandError


def add_parser(commands) -> None:
    """Register the subcommand."""
    analyze = commands.add_parser(
        "analyze",
        help="run the live pipeline over a recording and summarise it",
        description="Run the causal pipeline the live screen uses over a recording (text/CSV, .npy/.npz, "
        "the UCI layouts) and print quality, onsets, reps, fatigue and left/right asymmetry.",
    )
    analyze.add_argument("path", help="recording file")
    analyze.add_argument("--fs", type=float, metavar="HZ", help="sample rate, where the file does not say")
    analyze.add_argument("--channels", metavar="SPEC", help="one entry per column: muscle:L, muscle:R, muscle or skip")
    analyze.add_argument("--mains", choices=["50", "60", "auto", "off"],
                         help="mains notch: 50, 60, auto (found at the quietest moments) or off (default: config, auto)")
    references = analyze.add_mutually_exclusive_group()
    references.add_argument("--mvc", metavar="FILE", help='JSON object {"muscle:side": reference in input units}: report %%MVC')
    references.add_argument("--mvc-trials", metavar="FILE",
                            help="a recording of the MVC protocol (rest, then the trials, as the console guides them; "
                            "same columns and units, it may be PATH itself): calibrate from it and report %%MVC")
    analyze.add_argument("--chunk-ms", type=float, metavar="N", help="process in chunks of N ms, as live")
    analyze.add_argument("--envelope-out", metavar="CSV", help="write time_s and one envelope column per channel")
    analyze.add_argument("--json", action="store_true", help="print exactly one JSON object")



class _Progress:
    """A line on stderr that a long analysis rewrites as it goes (only on a terminal), then clears."""

    def __init__(self, stream):
        self.stream = stream
        self.on = bool(getattr(stream, "isatty", lambda: False)())
        self._shown = 0.0

    def say(self, text: str) -> None:
        if self.on:
            self.stream.write(f"\r\x1b[Kcoach analyze: {text}")
            self.stream.flush()

    def filtering(self, fraction: float) -> None:
        now = time.monotonic()
        if now - self._shown >= 0.2 or fraction >= 1.0:  # a few updates a second at most
            self._shown = now
            self.say(f"filtering {fraction:4.0%} …" if fraction < 1.0 else "measuring …")

    def done(self) -> None:
        if self.on:
            self.stream.write("\r\x1b[K")
            self.stream.flush()
            self.on = False


def _load_mvc(path: str) -> dict[str, float]:
    from coach_tui.sources.signal_file_limits import SignalFileError, check_regular_file

    try:
        check_regular_file(Path(path))
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except SignalFileError as error:
        raise CommandError(f"MVC file {error}") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise CommandError(f"{path}: not a JSON MVC file ({error})") from None
    if not isinstance(data, dict) or not all(
        isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v) and v > 0 for v in data.values()
    ):
        raise CommandError(f'{path}: expected an object like {{"biceps:L": 412.0}} with positive, finite references')
    return {str(k): float(v) for k, v in data.items()}


def run(args: argparse.Namespace, config) -> int:
    """Analyse ``args.path``; print a summary or JSON (progress on stderr when it is a terminal)."""
    from coach_tui.sources.signal_file_limits import is_rate

    if args.fs is not None and not is_rate(args.fs):
        raise CommandError(f"--fs {args.fs:g}: the sample rate must be a positive number of Hz, at most 1000000")
    if args.chunk_ms is not None and not (math.isfinite(args.chunk_ms) and args.chunk_ms > 0):
        raise CommandError(f"--chunk-ms {args.chunk_ms:g}: must be a positive number of milliseconds")
    progress = _Progress(sys.stderr)
    try:
        return _analyze(args, config, progress)
    finally:
        progress.done()


def _analyze(args: argparse.Namespace, config, progress: _Progress) -> int:
    """The file is read and analysed a chunk at a time (``signal_stream``, ``analyze_chunks``), so
    hours of signal need little memory."""
    from coach_tui.domain.channels import ChannelAssignment, parse_channel_spec
    from coach_tui.dsp.signal_analysis import analyze_chunks
    from coach_tui.sources.signal_files import SignalFileError
    from coach_tui.sources.signal_stream import open_signal_stream

    progress.say(f"reading {args.path} …")
    try:
        recording = open_signal_stream(args.path, args.fs)
    except SignalFileError as error:
        raise CommandError(str(error)) from None
    low_hz = config.analysis.dsp.filters.band_hz[0]
    if recording.fs_hz <= 2 * low_hz:
        raise CommandError(f"{args.path}: at {recording.fs_hz:g} Hz nothing of sEMG above {low_hz:g} Hz is sampled; "
                           f"the sample rate must be above {2 * low_hz:g} Hz (the right --fs?)")
    try:
        if args.channels:
            channels = parse_channel_spec(args.channels, recording.channels)
        elif recording.channel_hints:
            channels = [ChannelAssignment(m, s) for m, s in recording.channel_hints]
        else:
            names = recording.column_names or [f"ch{i + 1}" for i in range(recording.channels)]
            channels = [ChannelAssignment(name) for name in names]
    except ValueError as error:
        raise CommandError(str(error)) from None
    keys = [c.key for c in channels if c is not None]
    twice = sorted({key for key in keys if keys.count(key) > 1})
    if twice:
        raise CommandError(f"{args.path}: two columns are both {twice[0]!r}; give each muscle side one column "
                           "(--channels muscle:L,muscle:R,… or skip)")
    mvc = _load_mvc(args.mvc) if args.mvc else None
    trials = _mvc_from_trials(args, recording, channels, config) if args.mvc_trials else None
    if trials:
        mvc = {key: result.mvc.reference for key, result in trials.items()}
    if mvc:
        known = {c.key for c in channels if c is not None}
        stray = sorted(set(mvc) - known)
        if stray:
            raise CommandError(f"{args.mvc}: {stray[0]!r} matches no channel; channels are {', '.join(sorted(known))}")
    chunk = max(1, round(args.chunk_ms * recording.fs_hz / 1000)) if args.chunk_ms else None
    with _EnvelopeCsv(args.envelope_out, recording.fs_hz, channels) as envelope_out:
        try:
            analysis = analyze_chunks(
                recording.chunks,
                recording.fs_hz,
                channels,
                source=str(args.path),
                units=recording.units,
                mains=args.mains or config.analysis.dsp.filters.mains,
                mvc=mvc,
                chunk_samples=chunk,
                clip_level=recording.clip_level,
                settings=config.analysis,
                envelope_out=envelope_out.write if args.envelope_out else None,
                progress=progress.filtering if progress.on else None,
                rows=recording.rows,
            )
        except ValueError as error:
            raise CommandError(str(error)) from None
    progress.done()
    report = analysis.report
    if mvc:
        report["mvc"] = mvc
    if trials:
        report["mvc_trials"] = {key: {"trial_peaks": list(r.mvc.trial_bests), "message": r.mvc.message}
                                for key, r in trials.items()}
    if args.json:
        print(json.dumps(report, allow_nan=False, ensure_ascii=False))
    else:
        print(_analysis_text(report, args.mains or config.analysis.dsp.filters.mains))
    return 0


class _EnvelopeCsv:
    """``--envelope-out``: ``time_s`` and one envelope column per analysed channel, written as the
    analysis computes them into an owner-only temporary file beside it (opened first, so an
    unwritable path is said before any work) that replaces the file once all is written — like
    everything coach writes, never half-done (into a folder that exists)."""

    def __init__(self, path: str | None, fs_hz: float, channels):
        self.path = Path(path) if path else None
        self.fs_hz = fs_hz
        self.header = ["time_s"] + [c.key for c in channels if c is not None]
        self._file = None
        self._rows = 0

    def __enter__(self):
        import os

        from coach_tui.store.private_files import open_private

        if self.path is not None:
            self._tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
            try:
                self._file = open_private(self._tmp, "wb")
                self._file.write((",".join(self.header) + "\n").encode("utf-8"))
            except OSError as error:
                raise CommandError(f"{self.path}: cannot write ({error.strerror})") from None
        return self

    def write(self, envelope) -> None:
        import io

        import numpy as np

        time_s = (self._rows + np.arange(envelope.shape[0])) / self.fs_hz
        self._rows += envelope.shape[0]
        text = io.StringIO()
        np.savetxt(text, np.column_stack([time_s, envelope]), delimiter=",", fmt="%.6g")
        try:
            self._file.write(text.getvalue().encode("utf-8"))
        except OSError as error:
            raise CommandError(f"{self.path}: cannot write ({error.strerror})") from None

    def __exit__(self, failed, *exc) -> None:
        import os

        from coach_tui.store.private_files import fsync_dir

        if self._file is None:
            return
        try:
            if failed is None:
                self._file.flush()
                os.fsync(self._file.fileno())
            self._file.close()
            if failed is None:
                os.replace(self._tmp, self.path)
                fsync_dir(self.path.parent)
        except OSError as error:
            raise CommandError(f"{self.path}: cannot write ({error.strerror})") from None
        finally:
            if self._tmp.exists():
                self._tmp.unlink()


def _mvc_from_trials(args: argparse.Namespace, recording, channels, config) -> dict:
    """Calibrate every assigned channel from ``--mvc-trials`` with the console's protocol code."""
    from dataclasses import replace

    from coach_tui.dsp.mains import detect_mains
    from coach_tui.sources.signal_files import SignalFileError, load_signal_file
    from coach_tui.workflows.calibration_protocol import calibrate_from_samples

    try:
        trials = load_signal_file(args.mvc_trials, args.fs)
    except SignalFileError as error:
        raise CommandError(str(error)) from None
    if trials.channels != len(channels):
        raise CommandError(f"{args.mvc_trials}: {trials.channels} columns, but {args.path} has {len(channels)}: "
                           "record the MVC trials with the same channels")
    if trials.units != recording.units:
        raise CommandError(f"{args.mvc_trials}: in {trials.units}, but {args.path} is in {recording.units}: "
                           "the references must be in the recording's units")
    mains = args.mains or config.analysis.dsp.filters.mains
    if mains == "auto":
        found = detect_mains(trials.samples.T, trials.fs_hz)
        mains = f"{found:g}" if found else "off"
    filters = replace(config.analysis.dsp.filters, mains=mains)
    try:
        return calibrate_from_samples(trials.samples, trials.fs_hz, channels, replace(config.analysis.dsp, filters=filters),
                                      config.mvc, config.analysis.peak)
    except ValueError as error:
        raise CommandError(f"{args.mvc_trials}: {error}") from None


def _label(muscle: str, side: str | None) -> str:
    """How a trainer says a channel ("left rectus femoris")."""
    from coach_tui.domain.channels import ChannelAssignment

    return ChannelAssignment(muscle, side).label


def _trend_words(trend: dict) -> str:
    """A trend's verdict in words, with its interval (as ``MedianFrequencyTrend.words``)."""
    low, high = trend["slope_ci_hz_per_min"]
    interval = f"{trend['slope_hz_per_min']:+.1f} Hz/min, 95 % interval {low:+.1f} to {high:+.1f}"
    if trend["fatigue"]:
        change = (trend["end"] - trend["start"]) / trend["start"] * 100 if trend["start"] > 0 else 0.0
        return f"fatigue: median frequency falling ({interval}; {change:+.0f} % over the {trend['basis']})"
    return f"no fatigue shown ({interval} over {trend['n']} {trend['basis']})"


def _fatigue_lines(ch: dict) -> list[str]:
    """One channel's fatigue verdict, and each sustained contraction's."""
    name = _label(ch["muscle"], ch["side"])
    if ch["fatigue_unavailable"]:
        return [f"{name}: {ch['fatigue_unavailable']}"]
    trend = ch["median_frequency_hz"]
    lines = [f"{name}: " + (_trend_words(trend) if trend else "no trend (fewer than 3 reps, or 1 s windows of activity)")]
    for hold in ch["sustained_contractions"]:
        within = hold["median_frequency_hz"]
        words = _trend_words(within) if within else "too short for a trend"
        lines.append(f"{name}, hold {hold['start_s']:.1f}–{hold['end_s']:.1f} s: {words}")
    return lines


def _analysis_text(report: dict, mains_setting: str = "auto") -> str:
    from coach_tui.dsp.peak import FORMULA as PEAK_FORMULA

    mains = f"{report['mains_hz']:g} Hz" if report["mains_hz"] else "off" if mains_setting == "off" else "none found"
    lines = [
        f"{report['source']}",
        f"{report['duration_s']:.1f} s at {report['fs_hz']:g} Hz · mains hum {mains} · "
        f"envelope {report['envelope']['method']} {report['envelope']['window_ms']:g} ms",
        "",
        f"{'col':>3}  {'muscle':<24} {'quality':<7} {'peak':>8} {'mean':>8} {'units':<5} {'reps':>4}  fatigue",
    ]
    for ch in report["channels"]:
        name = _label(ch["muscle"], ch["side"])
        mdf = ch["median_frequency_hz"]
        fatigue = "—" if mdf is None else "yes" if mdf["fatigue"] else "no"
        lines.append(
            f"{ch['column']:>3}  {name:<24} {ch['quality']['status']:<7} {ch['envelope_peak']:>8.4g} "
            f"{ch['envelope_mean']:>8.4g} {ch['units']:<5} {len(ch['reps']):>4}  {fatigue}"
        )
    lines += ["", PEAK_FORMULA[0].upper() + PEAK_FORMULA[1:] + "."]
    for key, trial in report.get("mvc_trials", {}).items():
        muscle, _, side = key.partition(":")
        peaks = ", ".join(f"{p:.4g}" for p in trial["trial_peaks"])
        lines.append(f"MVC reference, {_label(muscle, side or None)}: {report['mvc'][key]:.4g} in the recording's units "
                     f"(trial peaks {peaks}; {trial['message']})")
    lines += ["", "Fatigue (median frequency):"] + [f"  {line}" for ch in report["channels"] for line in _fatigue_lines(ch)]
    reasons = [r for ch in report["channels"] for r in ch["quality"]["reasons"]]
    if reasons:
        lines += ["", "Signal quality:"] + [f"  - {r}" for r in reasons]
    if report["pairs"]:
        lines += ["", "Left/right asymmetry = (max − min) / max × 100 of per-rep peaks:"]
        for pair in report["pairs"]:
            muscle = _label(pair["muscle"], None)
            if pair["status"] == "inconclusive":
                lines.append(f"  {muscle}: inconclusive (both sides at rest level)")
            elif pair["weaker_side"] is None:
                lines.append(f"  {muscle}: 0 % — {pair['status']}")
            else:
                weaker = "left" if pair["weaker_side"] == "L" else "right"
                lines.append(f"  {muscle}: {pair['asymmetry_pct']:.0f} %, {weaker} weaker — {pair['status']}")
    return "\n".join(lines)


