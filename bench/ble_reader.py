"""What the Bluetooth reader sustains: 4 coach v1 sensors on bumble's in-process link, through bleak,
``BleSource`` and ``Pipeline.process`` (the envelope), on this machine.

* **paced**: 4 sensors × 2 kHz × 1 channel int16, 40 samples per notification (50 notifications/s
  each, 200/s in all), for ``--seconds``. Figures: notifications/s and samples/s delivered, samples
  lost, host drops, malformed packets, reconnects, process CPU %; the same 4 peripherals streaming
  to plain bleak clients with an empty callback give the CPU % of the link alone, so the difference
  is what reader + envelope cost.
  Latency per notification, from the peripheral handing it to its GATT server (send time) to (a) the
  reader yielding its Block and (b) ``Pipeline.process`` returning its envelope: median and p99.
* **limit**: the same 4 sensors sending as fast as the link takes (each stream yields to the loop
  once per packet), ``--limit-packets`` each; notifications/s and samples/s the reader turns into
  envelopes, host drops; beside it the link alone (``bumble_link.measure``, empty callbacks).

bumble's link has no radio timing (notifications arrive one by one, ~0 latency), so latency here
is the host's share: bleak callback, queue, decoding, clock fit, envelope. Run from the
repository root: ``python bench/ble_reader.py [--seconds 10] [--limit-packets 3000]``.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import logging
import os
import platform
import struct
import sys
import time
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
try:
    import coach_tui  # noqa: F401
except ModuleNotFoundError:  # running from a checkout without `pip install -e .`
    sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))  # bumble_link, ble_peripherals, ble_encoders

from ble_encoders import coach_v1_info, encode_coach_v1
from ble_peripherals import Firmware, peripheral_spec
from bleak import BleakClient, BleakScanner
from bumble_link import BumbleWorld
from bumble_link.measure import notification_throughput

from coach_tui.dsp.pipeline import Pipeline
from coach_tui.sources.ble.ble_source import BleSensor, BleSource
from coach_tui.sources.ble.profiles import PROFILES
from coach_tui.sources.simulated import SimulatedKit

FS_HZ = 2000
PER_PACKET = 40
SENSORS = 4
SCALE_UV = 0.5
COACH = PROFILES["coach_v1"]


class Sender:
    """Endless coach v1 packets of a simulated contraction pattern (2 s, looped), each stamped
    with its send time: the generator is advanced by the peripheral's stream right before it
    hands the packet to its GATT server. The sample index goes on across reconnects (it counts
    the packets made), so the reader's block indices stay the sender's keys; a block whose index
    is not one of them (a gap the reader had to estimate) has no latency."""

    def __init__(self, counts: np.ndarray):
        template = [encode_coach_v1(counts[k : k + PER_PACKET], 0) for k in range(0, len(counts), PER_PACKET)]
        self.bodies = [(p[:4], p[8:]) for p in template]  # header without the index, samples
        self.sent_at: dict[int, float] = {}
        self._packet_numbers = itertools.count()  # shared by every start's stream

    def packets(self):
        for k in self._packet_numbers:
            head, body = self.bodies[k % len(self.bodies)]
            index = k * PER_PACKET
            self.sent_at[index] = time.monotonic()
            yield head + struct.pack("<I", index % 2**32) + body


def contraction_counts() -> list[np.ndarray]:
    """2 s of simulated reps per sensor, quantised to int16 at 0.5 µV per count."""
    kit = SimulatedKit(SENSORS, fs_hz=FS_HZ, seed=5, scenario="reps")
    signals = kit.generate(2.0)
    return [
        np.clip(np.round(signals[s.sensor_id] / SCALE_UV), -32768, 32767).astype(np.int64).reshape(-1, 1)
        for s in kit.sensors
    ]


async def add_sensors(world: BumbleWorld, rate_hz: float) -> list[Sender]:
    senders = []
    for i, counts in enumerate(contraction_counts()):
        peripheral = await world.add_peripheral(
            peripheral_spec(COACH, f"bench-{i}", info=coach_v1_info(1, FS_HZ, SCALE_UV))
        )
        sender = Sender(counts)
        Firmware(peripheral, COACH, sender.packets, rate_hz=rate_hz)
        senders.append(sender)
    return senders


@dataclass
class ReaderRun:
    seconds: float
    cpu_s: float
    notifications: int
    samples: int
    lost: int
    host_drops: int
    malformed: int
    reconnects: int
    unmatched: int  # blocks whose send time is not known (latency not measured)
    to_block_ms: np.ndarray
    to_envelope_ms: np.ndarray

    @property
    def cpu_pct(self) -> float:
        return 100.0 * self.cpu_s / self.seconds


async def reader_run(rate_hz: float, seconds: float | None, packets: int | None) -> ReaderRun:
    """Stream through BleSource into one Pipeline per sensor, for ``seconds`` or until each sensor
    delivered ``packets``; measured from the first block on."""
    async with BumbleWorld() as world:
        senders = await add_sensors(world, rate_hz)
        source = BleSource(
            [BleSensor(f"s{i}", "coach_v1", name=f"bench-{i}") for i in range(SENSORS)],
            scanner_backend=world.scanner_backend,
            client_backend=world.client_backend,
        )
        pipelines = [Pipeline(FS_HZ, 1) for _ in range(SENSORS)]
        counts = [0] * SENSORS
        to_block, to_envelope = [], []
        notifications = samples = unmatched = 0
        started = cpu0 = None
        async for block in source:
            yielded = time.monotonic()
            i = int(block.sensor_id[1:])
            if block.gap_before:
                pipelines[i].process_gap(block.gap_before)
            pipelines[i].process(block.samples)
            done = time.monotonic()
            if started is None:
                if all(sender.sent_at for sender in senders) and min(counts) > 0:
                    started, cpu0 = time.monotonic(), time.process_time()  # all four connected
                counts[i] += 1
                continue
            counts[i] += 1
            sent = senders[i].sent_at.pop(block.first_index, None)
            if sent is None:  # e.g. a reconnect whose gap was estimated, not counted
                unmatched += 1
            else:
                to_block.append(yielded - sent)
                to_envelope.append(done - sent)
            notifications += 1
            samples += block.n_samples
            if (seconds is not None and done - started >= seconds) or (packets is not None and min(counts) >= packets):
                break
        elapsed, cpu = time.monotonic() - started, time.process_time() - cpu0
        status = source.status()
        await source.close()
    return ReaderRun(
        elapsed,
        cpu,
        notifications,
        samples,
        sum(s.samples_lost for s in status),
        sum(s.host_drops for s in status),
        sum(s.malformed for s in status),
        sum(s.reconnects for s in status),
        unmatched,
        np.array(to_block) * 1e3,
        np.array(to_envelope) * 1e3,
    )


async def link_alone_cpu(rate_hz: float, seconds: float) -> float:
    """CPU % of the same 4 paced peripherals streaming to plain bleak clients (empty callback)."""
    async with BumbleWorld() as world:
        await add_sensors(world, rate_hz)
        clients = []
        for i in range(SENSORS):
            device = await BleakScanner.find_device_by_name(f"bench-{i}", backend=world.scanner_backend)
            client = BleakClient(device, backend=world.client_backend)
            await client.connect()
            await client.start_notify(COACH.data_uuids[0], lambda _c, _d: None)
            await client.write_gatt_char(COACH.control_uuid, COACH.start_commands[0], response=True)
            clients.append(client)
        await asyncio.sleep(0.5)
        wall0, cpu0 = time.monotonic(), time.process_time()
        await asyncio.sleep(seconds)
        cpu_pct = 100.0 * (time.process_time() - cpu0) / (time.monotonic() - wall0)
        for client in clients:
            await client.disconnect()
    return cpu_pct


def quantiles(ms: np.ndarray) -> str:
    return f"{np.median(ms):6.2f} / {np.percentile(ms, 99):6.2f}" if ms.size else "   —   /    —  "


def link_line(run: ReaderRun) -> str:
    unmatched = f", latency of {run.unmatched} blocks unknown" if run.unmatched else ""
    return (f"  lost               {run.lost} samples, {run.host_drops} host drops, {run.malformed} malformed, "
            f"{run.reconnects} reconnects{unmatched}")


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="length of the paced run (default 10)")
    parser.add_argument(
        "--limit-packets", type=int, default=3000, help="packets per sensor in the limit run (default 3000)"
    )
    args = parser.parse_args()
    if args.seconds < 2 or args.limit_packets < 200:
        parser.error("need --seconds >= 2 and --limit-packets >= 200")

    t_start = time.perf_counter()
    logging.getLogger("bumble").setLevel(logging.CRITICAL)  # its controller warns when a link goes mid-stream
    print(
        f"Python {platform.python_version()}, numpy {np.__version__}, bleak {version('bleak')}, "
        f"bumble {version('bumble')}, {platform.machine()}, {os.cpu_count()} CPUs"
    )
    rate = FS_HZ / PER_PACKET
    size = len(encode_coach_v1(np.zeros((PER_PACKET, 1), dtype=int), 0))
    print(
        f"{SENSORS} coach v1 sensors x {FS_HZ} Hz x 1 ch int16, {PER_PACKET} samples per notification "
        f"({size} B), simulated reps; envelope = Pipeline.process (band-pass, notch, 100 ms RMS)"
    )

    paced = await reader_run(rate, args.seconds, None)
    baseline = await link_alone_cpu(rate, min(args.seconds, 5.0))
    print(f"\nPaced, {rate:g} notifications/s per sensor, {paced.seconds:.1f} s:")
    print(f"  delivered          {paced.notifications / paced.seconds:8.0f} notifications/s  "
          f"{paced.samples / paced.seconds:9.0f} samples/s  (offered {SENSORS * rate:g} and {SENSORS * FS_HZ})")
    print(link_line(paced))
    print(f"  process CPU        {paced.cpu_pct:6.1f} % of one core (peripherals + link + reader + envelope)")
    print(f"  link alone         {baseline:6.1f} % (same peripherals, plain bleak clients, empty callback)")
    print(f"  reader + envelope  {paced.cpu_pct - baseline:6.1f} % of one core")
    print("  latency from send, median / p99 ms:")
    print(f"    to Block         {quantiles(paced.to_block_ms)}")
    print(f"    to envelope      {quantiles(paced.to_envelope_ms)}")

    limit = await reader_run(1e9, None, args.limit_packets)
    link = await notification_throughput(SENSORS, args.limit_packets, size)
    print(f"\nLimit, as fast as the link takes, {args.limit_packets} notifications per sensor:")
    samples_per_s = limit.samples / limit.seconds
    print(f"  reader + envelope  {limit.notifications / limit.seconds:8.0f} notifications/s  "
          f"{samples_per_s:9.0f} samples/s  ({samples_per_s / FS_HZ:.1f} sensors' worth "
          f"at {FS_HZ} Hz), CPU {limit.cpu_pct:.0f} %")
    print(link_line(limit))
    print(f"  link alone         {link.per_second:8.0f} notifications/s  "
          f"{link.per_second * PER_PACKET:9.0f} samples/s  (empty callbacks; reader keeps "
          f"{limit.notifications / limit.seconds / link.per_second:.0%} of it)")
    print(f"  latency from send, median / p99 ms: to Block {quantiles(limit.to_block_ms)}, "
          f"to envelope {quantiles(limit.to_envelope_ms)}")
    print(f"\n(total bench time {time.perf_counter() - t_start:.1f} s)")


if __name__ == "__main__":
    asyncio.run(main())
