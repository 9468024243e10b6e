"""``coach record``: record one set headless — live %MVC lines, then a per-rep summary."""

from __future__ import annotations

import argparse
import math
import signal
import sys
import time
from datetime import timedelta

from coach_tui.commands import CommandError

SCENARIOS = ("reps", "rest", "mvc")
LINE_EVERY_S = 0.5


def add_parser(commands) -> None:
    """Register the subcommand."""
    record = commands.add_parser(
        "record", help="record a set (headless): live %%MVC lines and a per-rep summary",
        description="Record one set from the configured sensors (or the simulated kit) into a new session of "
        "the client. Prints live per-muscle %%MVC (raw envelope in µV for muscles not calibrated yet) "
        "and a per-rep summary at the end. Ctrl-C ends the set cleanly and keeps it.",
    )
    record.add_argument("--client", required=True, metavar="NAME", help="the client (see coach clients)")
    record.add_argument("--simulate", nargs="?", const="reps", choices=SCENARIOS, metavar="SCENARIO",
                        help="record the simulated kit; scenario reps (default), rest or mvc")
    record.add_argument("--exercise", metavar="NAME", default="hip thrust", help="exercise (default: hip thrust)")
    record.add_argument("--seconds", type=float, metavar="N", help="stop after N seconds (default: until Ctrl-C)")
    record.add_argument("--load", type=float, metavar="KG", help="load in kg")
    record.add_argument("--cue", default="", help="the cue given for the set")
    record.add_argument("--json", action="store_true",
                        help="no live lines; at the end one JSON object: the session (as coach sessions --json) and its reps")


def run(args: argparse.Namespace, config) -> int:
    """Record, store and summarise one set (with ``--json``: one JSON object at the end instead)."""
    if not args.json:
        return _record(args, config)[0]
    import contextlib
    import io
    import json

    from coach_tui.commands.sessions import session_row
    from coach_tui.workflows.store_access import open_store

    with contextlib.redirect_stdout(io.StringIO()):
        status, session_id = _record(args, config)
    with open_store(config, "record", write=False) as repo:
        session = repo.session(session_id)
        row = session_row(repo, session, {c.id: c.name for c in repo.clients()})
        reps = [rep.to_dict() for record in repo.sets(session_id) for rep in record.reps]
    print(json.dumps({"session": row, "reps": reps}, ensure_ascii=False))
    return status


def _record(args: argparse.Namespace, config) -> tuple[int, str]:
    """Record, store and summarise one set; the exit status and the session's id."""
    import asyncio
    from dataclasses import replace

    from coach_tui.domain.channels import ChannelAssignment
    from coach_tui.domain.exercises import exercise_library, find_exercise
    from coach_tui.domain.ids import now_utc
    from coach_tui.domain.session import Session
    from coach_tui.dsp.set_analysis import SetLayout
    from coach_tui.dsp.set_plan import SetPlan
    from coach_tui.store.reanalysis import reanalyze
    from coach_tui.workflows.set_recording import begin_set
    from coach_tui.sources.simulated import SimulatedKit, sensors_for_exercise
    from coach_tui.store.recordings import RecordingError, recover
    from coach_tui.store.repository import UnknownRecord
    from coach_tui.workflows.store_access import open_store

    if args.seconds is not None and not (math.isfinite(args.seconds) and args.seconds > 0):
        raise CommandError(f"--seconds {args.seconds:g}: must be a positive number of seconds (or leave it out: until Ctrl-C)")
    if args.load is not None and args.load < 0:
        raise CommandError(f"--load {args.load:g}: must not be negative")
    try:
        exercise = find_exercise(exercise_library(config.exercises), args.exercise)
    except KeyError as error:
        raise CommandError(error.args[0]) from None
    if args.simulate is None:
        print("coach: no sensors configured in config.toml: recording the SIMULATED kit", file=sys.stderr)
    scenario = args.simulate or "reps"
    sim = config.simulation
    kit = SimulatedKit(
        sensors_for_exercise(exercise.target, exercise.synergists, exercise.antagonists, sim.sensors),
        fs_hz=sim.fs_hz, seed=sim.seed, realtime=sim.realtime, duration_s=args.seconds, scenario=scenario,
    )
    layout = SetLayout({s.sensor_id: [ChannelAssignment(s.muscle, s.side)] for s in kit.sensors},
                       exercise.target, exercise.synergists, exercise.antagonists)

    with open_store(config, "record", write=True) as repo:
        try:
            client = repo.client(args.client)
        except UnknownRecord as error:
            raise CommandError(str(error)) from None
        calibrations = {k: c for k, c in repo.latest_calibrations(client.id).items()
                        if k in {a.key for _, _, a in layout.channels}}
        for calibration in calibrations.values():
            stale = calibration.staleness(now_utc(), None, config.calibration.max_age_days)
            if stale:
                print(f"coach: {calibration.label}: calibration is stale — {stale}; recalibrate", file=sys.stderr)
        plan = SetPlan.from_calibrations(kit.fs_hz, layout, config.analysis, calibrations)
        session = Session.opened(client.id, now_utc())
        started = session.started
        repo.save_session(session)
        record, recorder = begin_set(repo, config.sessions_dir, session, 1, exercise.key, plan,
                                     tuple(c.id for c in calibrations.values()), f"simulated kit ({scenario})",
                                     load_kg=args.load, cue=args.cue)
        prefix = config.sessions_dir / session.folder / record.recording
        header = [f"{a.label}" for _, _, a in layout.channels]
        print(f"recording {exercise.name} for {client.name} — SIMULATED kit ({scenario}); Ctrl-C ends the set", flush=True)
        print("units: " + ", ".join(f"{h} {u}" for h, u in zip(header, recorder.analyzer.units)))
        failure = asyncio.run(_stream(kit, recorder))
        if failure is None:
            for rep in recorder.finish():  # the last rep, when the set was stopped right after it
                print(_rep_line(rep), flush=True)
        try:
            recorder.close()
        except RecordingError as error:
            failure = failure or str(error)
        if failure is None:
            reps, seconds, status = recorder.analyzer.reps, recorder.analyzer.samples_aligned / kit.fs_hz, "complete"
        else:
            recover(prefix)
            again = reanalyze(prefix)
            reps, seconds, status = again.reps, again.analyzer.samples_aligned / kit.fs_hz, "recovered"
            print(f"coach record: {failure} — the set stopped after {seconds:.1f} s; what was written is kept", file=sys.stderr)
        repo.save_set(replace(record, duration_s=seconds, reps=tuple(reps)))
        ended = replace(session, status=status, ended=started + timedelta(seconds=seconds))
        repo.save_session(ended)
    _summary(session.id, reps, seconds, config.analysis.fatigue)
    return (0 if failure is None else 1), session.id


async def _stream(kit, recorder) -> str | None:
    """Feed blocks until the kit ends or Ctrl-C; return the reason a write failed, if one did."""
    import asyncio

    from coach_tui.store.recordings import RecordingError

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGINT, stop.set)
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    next_line = time.monotonic() + LINE_EVERY_S
    try:
        async for block in kit:
            try:
                for rep in recorder.add(block):
                    print(_rep_line(rep), flush=True)
            except RecordingError as error:
                return str(error)
            if time.monotonic() >= next_line:
                next_line += LINE_EVERY_S
                print(_live_line(recorder.analyzer), flush=True)
            if stop.is_set():
                break
    finally:
        await kit.close()
        loop.remove_signal_handler(signal.SIGINT)
        loop.remove_signal_handler(signal.SIGTERM)
    return None


def _live_line(analyzer) -> str:
    """One compact line: each muscle with its left and right value, then the rep count."""
    seconds = analyzer.samples_aligned / analyzer.fs_hz
    muscles: dict[str, list[str]] = {}
    for (_, _, assignment), value in zip(analyzer.channels, analyzer.latest()):
        muscles.setdefault(assignment.muscle.replace("_", " "), []).append(f"{assignment.side or ''} {value:4.0f}".strip())
    units = "%MVC" if all(u == "%MVC" for u in analyzer.units) else "µV" if all(u == "µV" for u in analyzer.units) else "%MVC/µV"
    body = "  ".join(f"{name} {' '.join(values)}" for name, values in muscles.items())
    return f"{seconds:6.1f} s  {body}  {units}  reps {len(analyzer.reps)}"


def _rep_line(rep) -> str:
    unit = "%MVC" if rep.units == "%MVC" else rep.units
    extra = []
    if rep.asymmetry_pct is not None:
        extra.append(f"asymmetry {rep.asymmetry_pct:.0f} %")
    if rep.target_share is not None:
        extra.append(f"target share {rep.target_share:.0%}")
    if rep.electrode_pop:
        extra.append("electrode pop: rep spoiled")
    return (f"  rep {rep.index}: peak {rep.peak:.0f} {unit}, mean {rep.mean:.0f}, time to peak {rep.time_to_peak_s:.2f} s"
            + (f", {', '.join(extra)}" if extra else ""))


def _summary(session_id: str, reps, seconds: float, fatigue_settings) -> None:
    from coach_tui.dsp.fatigue import set_fatigue
    from coach_tui.dsp.peak import FORMULA as PEAK_FORMULA

    print(f"\nset saved in session {session_id}: {seconds:.1f} s, {len(reps)} reps")
    if not reps:
        return
    print(f"{'rep':>3} {'start s':>8} {'peak':>7} {'mean':>7} {'to peak':>8} {'asym %':>7} {'share':>6}  onset order")
    for rep in reps:
        order = " → ".join(f"{name} +{ms:.0f}" for name, ms in rep.onset_order[:4])
        asym = "—" if rep.asymmetry_pct is None else f"{rep.asymmetry_pct:.0f}"
        share = "—" if rep.target_share is None else f"{rep.target_share:.0%}"
        print(f"{rep.index:>3} {rep.start_s:>8.2f} {rep.peak:>7.1f} {rep.mean:>7.1f} {rep.time_to_peak_s:>7.2f}s {asym:>7} {share:>6}  {order}")
    print(f"(units: {reps[0].units}; {PEAK_FORMULA}; asymmetry = (max − min) / max × 100 of per-rep peaks; "
          "share = target / (target + synergist) of per-rep mean)")
    fatigue = set_fatigue(reps, fatigue_settings).lines() or ["fatigue: no trend (fewer than 3 reps with a median frequency)"]
    print("\n".join(fatigue))
