"""``coach record``: record one set headless — live %MVC lines, then a per-rep summary.

The set is recorded by the same ``LiveMonitor`` the console uses (the same stored recipe, recovery
and per-rep metrics), from the configured sensors or the simulated kit, into the client's visit.
"""

from __future__ import annotations

import argparse
import math
import signal
import sys
import time

from coach_tui.commands import CommandError

SCENARIOS = ("reps", "rest", "mvc")
LINE_EVERY_S = 0.5
#: How long to wait for the configured sensors to connect and stream before giving up.
CONNECT_TIMEOUT_S = 30.0


def add_parser(commands) -> None:
    """Register the subcommand."""
    record = commands.add_parser(
        "record", help="record a set (headless): live %%MVC lines and a per-rep summary",
        description="Record one set from the configured sensors (or the simulated kit) into the client's "
        "session of this visit. Prints live per-muscle %%MVC (raw envelope in µV for muscles not calibrated "
        "yet) and a per-rep summary at the end. Ctrl-C ends the set cleanly and keeps it.",
    )
    record.add_argument("--client", required=True, metavar="NAME", help="the client (see coach clients)")
    record.add_argument("--simulate", nargs="?", const="reps", choices=SCENARIOS, metavar="SCENARIO",
                        help="record the simulated kit; scenario reps (default), rest or mvc")
    record.add_argument("--exercise", metavar="NAME", default="hip thrust", help="exercise (default: hip thrust)")
    record.add_argument("--seconds", type=float, metavar="N", help="stop after N seconds (default: until Ctrl-C)")
    record.add_argument("--load", type=float, metavar="KG", help="load in kg")
    record.add_argument("--cue", default="", help="the cue given for the set")
    record.add_argument("--json", action="store_true",
                        help="no live lines; at the end one JSON object: the session (as coach sessions --json) and "
                        "the set's reps")


def run(args: argparse.Namespace, config, **backends) -> int:
    """Record, store and summarise one set (with ``--json``: one JSON object at the end instead;
    ``backends``: bleak's, for tests)."""
    if not args.json:
        return _run(args, config, backends)[0]
    import contextlib
    import io
    import json

    from coach_tui.commands.sessions import session_row
    from coach_tui.workflows.store_access import open_store

    with contextlib.redirect_stdout(io.StringIO()):
        status, record = _run(args, config, backends)
    with open_store(config, "record", write=False) as repo:
        row = session_row(repo, repo.session(record.session_id), {c.id: c.name for c in repo.clients()})
        reps = [rep.to_dict() for stored in repo.sets(record.session_id) if stored.id == record.id for rep in stored.reps]
    print(json.dumps({"session": row, "reps": reps}, ensure_ascii=False))
    return status


def _run(args: argparse.Namespace, config, backends: dict):
    """Record, store and summarise one set; the exit status and the stored set."""
    import asyncio

    from coach_tui.domain.exercises import exercise_library, find_exercise
    from coach_tui.store.repository import UnknownRecord
    from coach_tui.workflows.store_access import open_store

    if args.seconds is not None and not (math.isfinite(args.seconds) and args.seconds > 0):
        raise CommandError(f"--seconds {args.seconds:g}: must be a positive number of seconds (or leave it out: until Ctrl-C)")
    if args.load is not None and not (math.isfinite(args.load) and args.load >= 0):
        raise CommandError(f"--load {args.load:g}: must be a weight in kg, 0 or more")
    try:
        exercise = find_exercise(exercise_library(config.exercises), args.exercise)
    except KeyError as error:
        raise CommandError(error.args[0]) from None
    simulated = args.simulate is not None or not config.sensors
    if args.simulate is None and not config.sensors:
        print("coach: no sensors configured in config.toml: recording the SIMULATED kit", file=sys.stderr)
    with open_store(config, "record", write=True) as repo:
        try:
            client = repo.client(args.client)
        except UnknownRecord as error:
            raise CommandError(str(error)) from None
        return asyncio.run(record_set(args, config, repo, client, exercise, simulated, backends))


async def record_set(args, config, repo, client, exercise, simulated: bool, backends: dict):
    """Connect, record until the end (seconds, the simulated kit's end, Ctrl-C), store, summarise;
    the exit status and the stored set."""
    from coach_tui.domain.ids import now_utc
    from coach_tui.domain.placement import Placement
    from coach_tui.sources.ble.bluetooth_errors import BluetoothUnavailable
    from coach_tui.sources.simulated import sensors_for_exercise
    from coach_tui.workflows.sensor_setup import SensorSetup

    kit = SensorSetup(config, repo, simulated=simulated, **backends)
    try:
        await kit.connect()
    except BluetoothUnavailable as error:
        raise CommandError(str(error)) from None
    scenario = args.simulate or "reps"
    try:
        await _wait_for_sensors(kit)
        placements = None
        if kit.simulated:  # the simulated kit is worn on the exercise's own muscles
            worn = sensors_for_exercise(exercise.target, exercise.synergists, exercise.antagonists,
                                        config.simulation.sensors)
            placements = [Placement(s.muscle, s.side, s.sensor_id) for s in worn]
        monitor = kit.live_monitor(client, exercise, scenario, placements=placements)
        for calibration in monitor.calibrations.values():
            stale = calibration.staleness(now_utc(), None, config.calibration.max_age_days)
            if stale:
                print(f"coach: {calibration.label}: calibration is stale — {stale}; recalibrate", file=sys.stderr)
        monitor.start()
        record = monitor.start_set(load_kg=args.load, cue=args.cue, seconds=args.seconds)
        if record is None:
            raise CommandError("; ".join(monitor.problems) or "the set could not start")
        what = f"SIMULATED kit ({scenario})" if kit.simulated else f"{len(monitor.sensors)} Bluetooth sensors"
        print(f"recording {exercise.name} for {client.name} — {what}; Ctrl-C ends the set", flush=True)
        print("units: " + ", ".join(f"{a.label} {u}" for (_, a), u in zip(monitor.meter.channels, monitor.meter.units)))
        printed = await _follow(monitor, args.seconds)
        record = monitor.stop_set() or record
        for rep in record.reps[printed:]:
            print(_rep_line(rep), flush=True)
        await monitor.stop()
        for problem in monitor.problems:
            print(f"coach record: {problem}", file=sys.stderr)
        kit.visits.close(client.id, "recovered" if monitor.problems else "complete")
        _summary(record.session_id, list(record.reps), record.duration_s, config.analysis.fatigue)
        return (1 if monitor.problems else 0), record
    finally:
        await kit.close()


async def _wait_for_sensors(kit) -> None:
    """Until every configured sensor streams (at once for the simulated kit)."""
    import asyncio

    from coach_tui.workflows.sensor_setup import SensorsNotReady

    deadline = time.monotonic() + CONNECT_TIMEOUT_S
    while True:
        try:
            kit.sensor_rate()
            return
        except SensorsNotReady as why:
            if time.monotonic() > deadline:
                raise CommandError(f"{why} — check that the sensors are on and in range (coach check lists each)") from None
        await asyncio.sleep(0.1)


async def _follow(monitor, seconds: float | None) -> int:
    """Print a line every ``LINE_EVERY_S`` and each rep as it completes, until the source ends, the set
    reached ``seconds`` or Ctrl-C; return how many reps were printed."""
    import asyncio

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGINT, stop.set)
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    printed = 0
    next_line = time.monotonic()
    try:
        while not stop.is_set():
            view = monitor.view()
            for rep in view.reps[printed:]:
                print(_rep_line(rep), flush=True)
            printed = len(view.reps)
            if time.monotonic() >= next_line:
                next_line += LINE_EVERY_S
                print(_live_line(view), flush=True)
            if (monitor.finished or not view.recording or monitor.problems
                    or (seconds is not None and view.set_seconds >= seconds)):
                break
            await asyncio.sleep(min(LINE_EVERY_S, 0.02))
    finally:
        loop.remove_signal_handler(signal.SIGINT)
        loop.remove_signal_handler(signal.SIGTERM)
    return printed


def _live_line(view) -> str:
    """One compact line: each muscle with its left and right value, then the rep count."""
    muscles: dict[str, list[str]] = {}
    for channel in view.channels:
        a = channel.assignment
        value = f"{channel.value:4.0f}" if channel.streaming else "lost"
        muscles.setdefault(a.muscle.replace("_", " "), []).append(f"{a.side or ''} {value}".strip())
    units = {c.units for c in view.channels}
    unit = "%MVC" if units == {"%MVC"} else "µV" if units == {"µV"} else "%MVC/µV"
    body = "  ".join(f"{name} {' '.join(values)}" for name, values in muscles.items())
    return f"{view.set_seconds:6.1f} s  {body}  {unit}  reps {len(view.reps)}"


def _rep_line(rep) -> str:
    if rep.incomplete:
        return f"  rep {rep.index}: incomplete: sensor lost ({', '.join(rep.lost_sensors)})"
    extra = []
    if rep.asymmetry_pct is not None:
        extra.append(f"asymmetry {rep.asymmetry_pct:.0f} %")
    if rep.target_share is not None:
        extra.append(f"target share {rep.target_share:.0%}")
    if rep.electrode_pop:
        extra.append("electrode pop: rep spoiled")
    return (f"  rep {rep.index}: peak {rep.peak:.0f} {rep.units}, mean {rep.mean:.0f}, time to peak {rep.time_to_peak_s:.2f} s"
            + (f", {', '.join(extra)}" if extra else ""))


def _summary(session_id: str, reps, seconds: float, fatigue_settings) -> None:
    from coach_tui.domain.session import complete_reps
    from coach_tui.dsp.fatigue import set_fatigue
    from coach_tui.dsp.peak import FORMULA as PEAK_FORMULA

    print(f"\nset saved in session {session_id}: {seconds:.1f} s, {len(reps)} rep{'' if len(reps) == 1 else 's'}")
    if not reps:
        return
    print(f"{'rep':>3} {'start s':>8} {'peak':>7} {'mean':>7} {'to peak':>8} {'asym %':>7} {'share':>6}  onset order")
    for rep in reps:
        if rep.incomplete:
            print(f"{rep.index:>3} {rep.start_s:>8.2f}  incomplete: sensor lost ({', '.join(rep.lost_sensors)})")
            continue
        order = " → ".join(f"{name} +{ms:.0f}" for name, ms in rep.onset_order[:4])
        asym = "—" if rep.asymmetry_pct is None else f"{rep.asymmetry_pct:.0f}"
        share = "—" if rep.target_share is None else f"{rep.target_share:.0%}"
        print(f"{rep.index:>3} {rep.start_s:>8.2f} {rep.peak:>7.1f} {rep.mean:>7.1f} {rep.time_to_peak_s:>7.2f}s {asym:>7} {share:>6}  {order}")
    print(f"(units: {reps[0].units}; {PEAK_FORMULA}; asymmetry = (max − min) / max × 100 of per-rep peaks; "
          "share = target / (target + synergist) of per-rep mean)")
    fatigue = (set_fatigue(complete_reps(reps), fatigue_settings).lines()
               or ["fatigue: no trend (fewer than 3 reps with a median frequency)"])
    print("\n".join(fatigue))
