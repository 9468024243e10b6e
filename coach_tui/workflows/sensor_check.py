"""The pre-session check (a couple of seconds of listening): is every sensor on, streaming, quiet, not clipping, charged?"""

from __future__ import annotations

import asyncio
import math
import time
from collections import deque
from dataclasses import dataclass, replace

import numpy as np

from coach_tui.dsp.mains import detect_mains
from coach_tui.dsp.onsets import quietest_baseline
from coach_tui.dsp.pipeline import Pipeline
from coach_tui.dsp.quality import BAD, ChannelQuality, assess_channel, worst
from coach_tui.dsp.analysis_settings import AnalysisSettings
from coach_tui.sources.block import SensorStatus
from coach_tui.sources.source import Source

EXIT_CODES = {"ok": 0, "warn": 1, "bad": 2}


def _gap_fill(gap: int, before: np.ndarray | None, channels: int, window_samples: float) -> np.ndarray:
    """What stands for ``gap`` lost samples in a window ``window_samples`` long: the last sample
    before the gap held (zeros when there is none), as ``Pipeline.process_gap`` does, so a
    DC-coupled sensor's offset makes no step that grades as noise; at most the window's length,
    since a longer gap cannot fit in it (it comes from a corrupt counter) and its samples would
    only take memory — a wild 32-bit gap is gigabytes."""
    rows = min(gap, math.ceil(window_samples))
    if before is None or not len(before):
        return np.zeros((rows, channels), dtype=np.float32)
    return np.repeat(np.asarray(before[-1:], dtype=np.float32), rows, axis=0)


class RecentSamples:
    """The last ``seconds`` of each sensor's raw samples (lost samples as the last one held, at most
    a window of them), for grading."""

    def __init__(self, seconds: float, fs_hz: float):
        self.limit = seconds * fs_hz
        self._blocks: dict[str, deque] = {}
        self._lengths: dict[str, int] = {}

    def add(self, block) -> None:
        """Keep ``block`` and drop what is older than the window."""
        blocks = self._blocks.setdefault(block.sensor_id, deque())
        length = self._lengths.get(block.sensor_id, 0)
        if block.gap_before:
            fill = _gap_fill(block.gap_before, blocks[-1] if blocks else None, block.samples.shape[1], self.limit)
            blocks.append(fill)
            length += len(fill)
        blocks.append(block.samples)
        length += block.n_samples
        while length - len(blocks[0]) >= self.limit:
            length -= len(blocks.popleft())
        self._lengths[block.sensor_id] = length

    def received(self) -> dict[str, list[np.ndarray]]:
        """What ``grade_sensors`` takes."""
        return {sid: list(blocks) for sid, blocks in self._blocks.items()}


@dataclass(frozen=True, slots=True)
class SensorCheck:
    """One sensor's link status and the quality of each of its channels."""

    status: SensorStatus
    name: str
    streaming: bool
    channels: list[ChannelQuality]

    @property
    def verdict(self) -> str:
        """The worst channel status ("bad" when nothing arrived)."""
        return worst([c.status for c in self.channels]) if self.streaming else BAD


@dataclass(frozen=True, slots=True)
class CheckReport:
    """All sensors, the mains frequency found, and the overall verdict."""

    sensors: list[SensorCheck]
    mains_hz: float | None
    seconds: float
    simulated: bool

    @property
    def verdict(self) -> str:
        """Worst over all sensors."""
        return worst([s.verdict for s in self.sensors])


#: How long a source may take to deliver its first block (connecting, warming up).
START_TIMEOUT_S = 10.0


async def collect(source: Source, seconds: float) -> dict[str, list[np.ndarray]]:
    """Gather each sensor's blocks for ``seconds`` of wall time, counted from when every sensor
    has delivered (Bluetooth sensors connect one after another), or from ``START_TIMEOUT_S`` when
    some never do.

    Lost samples are filled with the last one held so every sensor's array keeps its device timing — at most
    as many as ``seconds`` hold at the sensor's rate (nominal, else measured; none while neither
    is known), the most a gap inside the listening window can be.
    """
    received: dict[str, list[np.ndarray]] = {}
    deadline: float | None = None
    expected = {s.sensor_id for s in source.status()}
    give_up = time.monotonic() + START_TIMEOUT_S

    async def read() -> None:
        nonlocal deadline
        async for block in source:
            now = time.monotonic()
            if deadline is None and (expected <= set(received) | {block.sensor_id} or now >= give_up):
                deadline = now + seconds
            if deadline is None:
                received.setdefault(block.sensor_id, [])
                continue
            pieces = received.setdefault(block.sensor_id, [])
            if block.gap_before and pieces:
                status = next(s for s in source.status() if s.sensor_id == block.sensor_id)
                rate = status.nominal_rate_hz or status.measured_rate_hz or 0.0
                pieces.append(_gap_fill(block.gap_before, pieces[-1], block.samples.shape[1], seconds * rate))
            pieces.append(block.samples)
            if now >= deadline:
                return

    try:
        await asyncio.wait_for(read(), timeout=seconds + 2 * START_TIMEOUT_S)
    except TimeoutError:
        pass
    finally:
        await source.close()
    return received


def grade_sensors(
    received: dict[str, list[np.ndarray]],
    statuses: list[SensorStatus],
    names: dict[str, str],
    settings: AnalysisSettings,
    seconds: float,
    simulated: bool,
    envelope_sensors: frozenset[str] = frozenset(),
) -> CheckReport:
    """Grade what ``collect`` gathered, sensor by sensor.

    Sensors that send their own envelope (``envelope_sensors``) are graded on the link and on
    signs of life only: noise and mains hum are not visible in an envelope.
    """
    arrays = {sid: np.concatenate(p).astype(float) for sid, p in received.items() if p}
    raw_statuses = [s for s in statuses if s.sensor_id not in envelope_sensors and s.nominal_rate_hz > 0]
    mains_hz = None
    if settings.dsp.filters.mains in ("50", "60"):
        mains_hz = float(settings.dsp.filters.mains)
    elif settings.dsp.filters.mains == "auto" and arrays:
        by_rate: dict[float, list[np.ndarray]] = {}
        for status in raw_statuses:
            if status.sensor_id in arrays:
                by_rate.setdefault(status.nominal_rate_hz, []).append(arrays[status.sensor_id])
        if by_rate:
            rate, group = max(by_rate.items(), key=lambda item: len(item[1]))
            length = min(a.shape[0] for a in group)
            mains_hz = detect_mains(np.concatenate([a[:length] for a in group], axis=1).T, rate,
                                     settings.dsp.filters.mains_detect_s)
    # Noise is measured after the notch: hum is reported as hum, not as noise.
    filters = replace(settings.dsp.filters, mains=f"{mains_hz:g}" if mains_hz else "off")
    dsp = replace(settings.dsp, filters=filters)
    checks = []
    for status in statuses:
        name = names.get(status.sensor_id, status.sensor_id)
        samples = arrays.get(status.sensor_id)
        if samples is None or samples.shape[0] == 0:
            checks.append(SensorCheck(status, name, False, []))
            continue
        rate = status.nominal_rate_hz or status.measured_rate_hz or 0.0
        sends_envelope = status.sensor_id in envelope_sensors
        envelope = None if sends_envelope or rate <= 0 else Pipeline(rate, samples.shape[1], dsp).process(samples).envelope
        channels = []
        for c in range(samples.shape[1]):
            rest_rms = 0.0 if envelope is None else quietest_baseline(envelope[:, c], rate, settings.onsets.baseline_window_ms).mean
            label = name if samples.shape[1] == 1 else f"{name} channel {c + 1}"
            channels.append(
                assess_channel(
                    label,
                    samples[:, c],
                    rest_rms,
                    rate,
                    None if envelope is None else mains_hz,
                    settings.quality,
                    nominal_rate_hz=status.nominal_rate_hz,
                    measured_rate_hz=status.measured_rate_hz,
                    loss_fraction=status.loss_fraction,
                    battery_pct=status.battery_pct,
                )
            )
        checks.append(SensorCheck(status, name, True, channels))
    return CheckReport(checks, mains_hz, seconds, simulated)
