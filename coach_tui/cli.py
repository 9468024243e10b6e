"""The ``coach`` command: subcommands wiring sources, dsp and (later) the store and the console."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

DESCRIPTION = """\
coach-tui: muscle activation coaching with surface-EMG sensors.

Configuration: --config PATH, else ./config.toml, else ~/.config/coach-tui/config.toml,
else the reference config shipped with coach-tui. COACH_SESSIONS overrides where data is kept.
"""


class CommandError(Exception):
    """A problem the user can fix; printed as one line, exit status 2."""


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="coach", description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", metavar="PATH", help="config file to use")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    analyze = commands.add_parser(
        "analyze",
        help="run the live pipeline over a recording and summarise it",
        description="Run the causal pipeline the live screen uses over a recording (text/CSV, .npy/.npz, "
        "the UCI layouts) and print quality, onsets, reps, fatigue and left/right asymmetry.",
    )
    analyze.add_argument("path", help="recording file")
    analyze.add_argument("--fs", type=float, metavar="HZ", help="sample rate, where the file does not say")
    analyze.add_argument("--channels", metavar="SPEC", help="one entry per column: muscle:L, muscle:R, muscle or skip")
    analyze.add_argument("--mains", choices=["50", "60", "auto"], help="mains frequency (default: config, auto)")
    analyze.add_argument("--mvc", metavar="FILE", help='JSON object {"muscle:side": reference in input units}: report %%MVC')
    analyze.add_argument("--chunk-ms", type=float, metavar="N", help="process in chunks of N ms, as live")
    analyze.add_argument("--envelope-out", metavar="CSV", help="write time_s and one envelope column per channel")
    analyze.add_argument("--json", action="store_true", help="print exactly one JSON object")

    check = commands.add_parser(
        "check",
        help="pre-session check of every sensor",
        description="Listen to every sensor and grade it: streaming, sample rate, noise, mains hum, "
        "clipping, packet loss, battery. Exit status 0 ok, 1 warn, 2 bad.",
    )
    check.add_argument("--simulate", action="store_true", help="check the simulated sensor kit")
    check.add_argument("--seconds", type=float, metavar="N", help="how long to listen (default: config, 2 s)")
    check.add_argument("--json", action="store_true", help="print exactly one JSON object")
    return parser


def _load_mvc(path: str) -> dict[str, float]:
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise CommandError(f"{path}: MVC file not found") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise CommandError(f"{path}: not a JSON MVC file ({error})") from None
    if not isinstance(data, dict) or not all(
        isinstance(v, int | float) and not isinstance(v, bool) and v > 0 for v in data.values()
    ):
        raise CommandError(f'{path}: expected an object like {{"biceps:L": 412.0}} with positive references')
    return {str(k): float(v) for k, v in data.items()}


def _analyze(args: argparse.Namespace, config) -> int:
    import numpy as np

    from coach_tui.domain.channels import ChannelAssignment, parse_channel_spec
    from coach_tui.dsp.recording_analysis import analyze_recording
    from coach_tui.sources.recording_files import RecordingError, load_recording

    if args.fs is not None and args.fs <= 0:
        raise CommandError(f"--fs {args.fs:g}: the sample rate must be positive")
    try:
        recording = load_recording(args.path, args.fs)
    except RecordingError as error:
        raise CommandError(str(error)) from None
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
    mvc = _load_mvc(args.mvc) if args.mvc else None
    if mvc:
        known = {c.key for c in channels if c is not None}
        stray = sorted(set(mvc) - known)
        if stray:
            raise CommandError(f"{args.mvc}: {stray[0]!r} matches no channel; channels are {', '.join(sorted(known))}")
    if args.chunk_ms is not None and args.chunk_ms <= 0:
        raise CommandError(f"--chunk-ms {args.chunk_ms:g}: must be positive")
    chunk = max(1, round(args.chunk_ms * recording.fs_hz / 1000)) if args.chunk_ms else None
    try:
        analysis = analyze_recording(
            recording.samples,
            recording.fs_hz,
            channels,
            source=str(args.path),
            units=recording.units,
            mains=args.mains or config.analysis.dsp.filters.mains,
            mvc=mvc,
            chunk_samples=chunk,
            clip_level=recording.clip_level,
            settings=config.analysis,
        )
    except ValueError as error:
        raise CommandError(str(error)) from None
    if args.envelope_out:
        header = ["time_s"] + [channels[c].key for c in analysis.columns]
        time_s = np.arange(analysis.envelope.shape[0]) / recording.fs_hz
        try:
            np.savetxt(args.envelope_out, np.column_stack([time_s, analysis.envelope]), delimiter=",",
                       header=",".join(header), comments="", fmt="%.6g")
        except OSError as error:
            raise CommandError(f"{args.envelope_out}: cannot write ({error.strerror})") from None
    if args.json:
        print(json.dumps(analysis.report, allow_nan=False, ensure_ascii=False))
    else:
        print(_analysis_text(analysis.report))
    return 0


def _label(muscle: str, side: str | None) -> str:
    """How a trainer says a channel ("left rectus femoris")."""
    from coach_tui.domain.channels import ChannelAssignment

    return ChannelAssignment(muscle, side).label


def _analysis_text(report: dict) -> str:
    mains = f"{report['mains_hz']:g} Hz" if report["mains_hz"] else "none found"
    lines = [
        f"{report['source']}",
        f"{report['duration_s']:.1f} s at {report['fs_hz']:g} Hz · mains hum {mains} · "
        f"envelope {report['envelope']['method']} {report['envelope']['window_ms']:g} ms",
        "",
        f"{'col':>3}  {'muscle':<24} {'quality':<7} {'peak':>8} {'mean':>8} {'units':<5} {'reps':>4}  median freq",
    ]
    for ch in report["channels"]:
        name = _label(ch["muscle"], ch["side"])
        mdf = ch["median_frequency_hz"]
        trend = f"{mdf['start']:.0f}→{mdf['end']:.0f} Hz ({mdf['slope_hz_per_min']:+.1f}/min)" if mdf else "—"
        lines.append(
            f"{ch['column']:>3}  {name:<24} {ch['quality']['status']:<7} {ch['envelope_peak']:>8.4g} "
            f"{ch['envelope_mean']:>8.4g} {ch['units']:<5} {len(ch['reps']):>4}  {trend}"
        )
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


def _check(args: argparse.Namespace, config) -> int:
    import asyncio

    from coach_tui.session_check import EXIT_CODES, collect, grade_sensors
    from coach_tui.sources.simulated import SimulatedKit

    seconds = args.seconds if args.seconds is not None else config.check.seconds
    if seconds <= 0:
        raise CommandError(f"--seconds {seconds:g}: must be positive")
    note = None if args.simulate else "no sensors configured in config.toml: checking the SIMULATED kit"
    sim = config.simulation
    kit = SimulatedKit(sim.sensors, fs_hz=sim.fs_hz, seed=sim.seed, realtime=True)
    names = {s.sensor_id: f"{'left' if s.side == 'L' else 'right'} {s.muscle.replace('_', ' ')}" for s in kit.sensors}
    received = asyncio.run(collect(kit, seconds))
    report = grade_sensors(received, kit.status(), names, config.analysis, seconds, simulated=True)
    if args.json:
        print(json.dumps(_check_json(report), allow_nan=False, ensure_ascii=False))
    else:
        if note:
            print(note, file=sys.stderr)
        print(_check_text(report))
    return EXIT_CODES[report.verdict]


def _check_json(report) -> dict:
    return {
        "simulated": report.simulated,
        "seconds": report.seconds,
        "mains_hz": report.mains_hz,
        "status": report.verdict,
        "sensors": [
            {
                "sensor_id": s.status.sensor_id,
                "name": s.name,
                "status": s.verdict,
                "streaming": s.streaming,
                "nominal_rate_hz": s.status.nominal_rate_hz,
                "measured_rate_hz": s.status.measured_rate_hz,
                "loss_fraction": s.status.loss_fraction,
                "battery_pct": s.status.battery_pct,
                "channels": [
                    {
                        "status": c.status,
                        "reasons": c.reasons,
                        "noise_rms_uv": c.noise_rms,
                        "mains_fraction": c.mains_fraction,
                        "saturation_fraction": c.saturation_fraction,
                    }
                    for c in s.channels
                ],
            }
            for s in report.sensors
        ],
    }


def _check_text(report) -> str:
    title = "Pre-session check" + (" — SIMULATED sensor kit" if report.simulated else "")
    mains = f"{report.mains_hz:g} Hz" if report.mains_hz else "none found"
    lines = [f"{title} ({report.seconds:g} s, mains hum {mains})", ""]
    lines.append(f"{'sensor':<22} {'status':<6} {'stream':<6} {'rate Hz':>8} {'noise µV':>8} {'mains':>6} {'clip':>6} {'lost':>6} {'battery':>7}")
    for s in report.sensors:
        rate = f"{s.status.measured_rate_hz:.0f}" if s.status.measured_rate_hz else "—"
        battery = f"{s.status.battery_pct:.0f} %" if s.status.battery_pct is not None else "—"
        if s.channels:
            noise = max(c.noise_rms for c in s.channels)
            mains_f = max(c.mains_fraction for c in s.channels)
            clip = max(c.saturation_fraction for c in s.channels)
            figures = f"{noise:>8.1f} {mains_f:>6.0%} {clip:>6.1%}"
        else:
            figures = f"{'—':>8} {'—':>6} {'—':>6}"
        lines.append(
            f"{s.name:<22} {s.verdict:<6} {'yes' if s.streaming else 'NO':<6} {rate:>8} {figures} "
            f"{s.status.loss_fraction:>6.1%} {battery:>7}"
        )
    todo = [r for s in report.sensors for c in s.channels for r in c.reasons]
    todo += [f"{s.name}: nothing received — switch the sensor on and check it is in range" for s in report.sensors if not s.streaming]
    lines += ["", "What to do:"] + [f"  - {t}" for t in todo] if todo else ["", "All sensors ready."]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``coach`` command; returns the exit status."""
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 0
    from coach_tui.config import ConfigError, load_config

    try:
        config = load_config(args.config)
        handler = {"analyze": _analyze, "check": _check}[args.command]
        return handler(args, config)
    except (CommandError, ConfigError) as error:
        print(f"coach {args.command}: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
