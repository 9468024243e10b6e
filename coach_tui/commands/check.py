"""``coach check``: the pre-session check of every sensor."""

from __future__ import annotations

import argparse
import json
import sys

from coach_tui.commands import CommandError


def add_parser(commands) -> None:
    """Register the subcommand."""
    check = commands.add_parser(
        "check",
        help="pre-session check of every sensor",
        description="Listen to every sensor and grade it: streaming, sample rate, noise, mains hum, "
        "clipping, packet loss, battery, and each Bluetooth sensor's link. Exit status 0 ok, 1 warn, "
        "2 bad (or Bluetooth cannot be used).",
    )
    check.add_argument("--simulate", action="store_true", help="check the simulated sensor kit")
    check.add_argument("--seconds", type=float, metavar="N", help="how long to listen (default: config, 2 s)")
    check.add_argument("--json", action="store_true", help="print exactly one JSON object")


def run(args: argparse.Namespace, config) -> int:
    """Listen to the sensors and grade them; exit 0/1/2 for ok/warn/bad. With Bluetooth sensors,
    first make sure Bluetooth can be used at all (else one line says what to do, exit 2)."""
    import asyncio

    from coach_tui.workflows import configured_sensors
    from coach_tui.domain.channels import ChannelAssignment
    from coach_tui.workflows.sensor_check import EXIT_CODES, collect, grade_sensors
    from coach_tui.sources.ble import bluetooth_errors

    seconds = args.seconds if args.seconds is not None else config.check.seconds
    if seconds <= 0:
        raise CommandError(f"--seconds {seconds:g}: must be positive")
    simulated = args.simulate or not config.sensors
    note = None if args.simulate or config.sensors else "no sensors configured in config.toml: checking the SIMULATED kit"
    if simulated:
        from coach_tui.sources.simulated import SimulatedKit

        sim = config.simulation
        source = SimulatedKit(sim.sensors, fs_hz=sim.fs_hz, seed=sim.seed, realtime=True)
        placements = [(s.sensor_id, ChannelAssignment(s.muscle, s.side).label) for s in source.sensors]
        envelopes: frozenset[str] = frozenset()
    else:
        try:
            asyncio.run(bluetooth_errors.check_bluetooth())
        except bluetooth_errors.BluetoothUnavailable as error:
            raise CommandError(str(error)) from None
        placed = configured_sensors.configured_placements(config)
        source = configured_sensors.bluetooth_source(config, placed)
        placements = [(p.sensor_id, p.label) for p in placed]
        envelopes = configured_sensors.envelope_sensors(config)
    names: dict[str, str] = {}
    for sensor_id, label in placements:
        names[sensor_id] = f"{names[sensor_id]} + {label}" if sensor_id in names else label
    received = asyncio.run(collect(source, seconds))
    report = grade_sensors(received, source.status(), names, config.analysis, seconds, simulated=simulated,
                           envelope_sensors=envelopes)
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
                "state": s.status.state,
                "reconnects": s.status.reconnects,
                "host_drops": s.status.host_drops,
                "packets_lost": s.status.packets_lost,
                "malformed_packets": s.status.malformed,
                "address": s.status.address,
                "profile": s.status.profile,
                "events": list(s.status.events),
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
    if not report.simulated:
        lines += ["", f"{'link':<22} {'reconnects':>10}  {'host drops':>10}  {'packets lost':>12}  {'malformed':>9}"]
        lines += [f"{s.name:<22} {s.status.reconnects:>10}  {s.status.host_drops:>10}  {s.status.packets_lost:>12}  "
                  f"{s.status.malformed:>9}" for s in report.sensors]
        lines += [f"  {s.name}: {event}" for s in report.sensors for event in s.status.events]
    todo = [r for s in report.sensors for c in s.channels for r in c.reasons]
    todo += [f"{s.name}: nothing received ({s.status.state or 'no data'}) — switch the sensor on and check it is in range"
             for s in report.sensors if not s.streaming]
    todo += [f"{s.name}: {note}" for s in report.sensors for note in s.status.notes if not s.status.simulated]
    lines += ["", "What to do:"] + [f"  - {t}" for t in todo] if todo else ["", "All sensors ready."]
    return "\n".join(lines)


