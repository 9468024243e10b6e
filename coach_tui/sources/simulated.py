"""A simulated sEMG sensor kit: 2–8 single-channel sensors, one muscle and side each.

What is modelled, per sensor (all in µV):

- **sEMG**: :class:`~coach_tui.sources.emg_synthesis.EmgNoise` (Gaussian noise shaped to a
  surface-EMG spectrum, unit RMS) multiplied by a scripted *activation* curve (µV RMS), plus a white
  amplifier noise floor (default 3 µV RMS). The true RMS envelope is therefore
  ``sqrt(activation² + floor²)``; ``keep_truth=True`` records the activation curve.
- **Scenarios** (``simulated_scenarios``): ``"rest"`` (activation 0); ``"reps"`` (endless reps of an
  exercise: sin²-shaped bursts of 1.5–2.5 s with 0.8–1.2 s rest, peak varying ±10 % rep to rep, each
  muscle at a fraction of its MVC amplitude set by its role — target 70 %, synergist 40 %,
  antagonist 10 %); ``"mvc"`` (an MVC protocol on request: 3 s rest baseline, then 3
  ramp-hold-ramp trials of 5 s with 5 s rest between, every sensor reaching 92 %, 100 % and 97 % of
  its MVC amplitude; afterwards the kit switches itself back to ``"rest"``).
- **Steering** (:meth:`SimulatedKit.steer`, any time; ``simulated_steering``): compensation, a
  left-side deficit, fatigue (amplitude up to +25 %, spectrum compressed down to 0.7 over
  ``fatigue_time_s``), mains hum with harmonics, a one-off electrode pop (step with exponential
  decay), dropped packets, a lost sensor (``simulated_link``) and saturation.
- **Pacing**: as fast as the consumer takes blocks (``t_host`` on a virtual clock), at wall-clock
  rate (``realtime``), or on any :class:`~coach_tui.sources.clock.Clock` — a
  :class:`~coach_tui.sources.clock.SteppedClock` makes it deliver exactly the samples due when a
  test advances the clock.

Deterministic by seed: each sensor draws from its own generators spawned from
``numpy.random.SeedSequence(seed)`` (signal, floor, packet loss, misc), rep timing from a kit-level
generator, so the same seed and the same steering give identical samples, and switching hum or
packet loss on does not change the underlying EMG.

One cohesive job: the kit generating and pacing its sensors' blocks (its sensors, scenarios,
steering, link and EMG synthesis live in the ``simulated_*`` and ``emg_synthesis`` modules).
"""

from __future__ import annotations

import asyncio
import dataclasses
import math
from collections.abc import AsyncIterator, Mapping, Sequence

import numpy as np

from coach_tui.sources.block import Block, SensorStatus
from coach_tui.sources.clock import Clock, WallClock
from coach_tui.sources.emg_synthesis import EmgNoise
from coach_tui.sources.simulated_link import SimulatedLink
from coach_tui.sources.simulated_scenarios import ActivationScript, RepProfile, SimulatedMvcTrials
from coach_tui.sources.simulated_sensors import (
    DEFAULT_MVC_UV,
    DEFAULT_SENSORS,
    TYPICAL_MVC_UV,
    SimulatedSensor,
    resolve_sensors,
    sensors_for_exercise,
)
from coach_tui.sources.simulated_steering import Steering, steered

__all__ = ["DEFAULT_SENSORS", "RepProfile", "SimulatedKit", "SimulatedMvcTrials", "SimulatedSensor", "Steering",
           "sensors_for_exercise"]

ALLOWED_FS_HZ = (1000, 2000)

#: Relative RMS amplitude of mains harmonics (fundamental = 1).
MAINS_HARMONICS: dict[int, float] = {1: 1.0, 2: 0.05, 3: 0.3, 5: 0.1}


class _StackedNormal:
    """Looks like a Generator to EmgNoise: row i of each draw comes from generator i."""

    def __init__(self, rngs: list[np.random.Generator]):
        self._rngs = rngs

    def standard_normal(self, shape: tuple[int, int]) -> np.ndarray:
        return np.stack([rng.standard_normal(shape[1]) for rng in self._rngs])


class SimulatedKit:
    """A simulated kit of 2–8 single-channel sEMG sensors; satisfies the ``Source`` protocol.

    ``sensors`` is a list of :class:`SimulatedSensor`, or a count n (the first n of
    :data:`DEFAULT_SENSORS`), default 4 (glute max and hamstrings, both sides). ``fs_hz`` is 1000 or
    2000; every block carries ``block_ms`` of samples (default 20 ms). ``duration_s`` bounds the
    stream (counted from the kit's first sample, shared with :meth:`generate`); None streams
    endlessly. ``clock`` paces the blocks (each is handed out once the clock reaches its last
    sample's time); ``realtime`` is the wall clock; with neither they come as fast as the consumer
    takes them, with ``t_host`` on a virtual clock (start time + sample index / fs). Remaining
    keyword arguments are initial :class:`Steering` flags.
    """

    #: Block periods generated per call (120 ms at the default 20 ms blocks) …
    GROUP_BLOCKS = 6
    #: … and handed out this many periods at a time (every 40 ms at 20 ms blocks when paced), as a
    #: Bluetooth host hands over a connection event's notifications together. Each wake-up of the
    #: event loop costs CPU of its own (~0.3 ms on a small VM), so pacing every block would cost
    #: more than making it.
    DELIVER_BLOCKS = 2

    def __init__(
        self,
        sensors: Sequence[SimulatedSensor] | int | None = None,
        *,
        fs_hz: int = 1000,
        block_ms: float = 20.0,
        seed: int = 0,
        realtime: bool = False,
        clock: Clock | None = None,
        duration_s: float | None = None,
        noise_floor_uv: float = 3.0,
        fatigue_time_s: float = 30.0,
        pop_uv: float = 2000.0,
        pop_tau_s: float = 0.15,
        rep_profile: RepProfile | None = None,
        mvc_trials: SimulatedMvcTrials | None = None,
        mvc_uv: Mapping[str, float] | None = None,
        keep_truth: bool = False,
        **flags: object,
    ):
        if fs_hz not in ALLOWED_FS_HZ:
            raise ValueError(f"fs_hz={fs_hz!r} not supported; allowed values: {ALLOWED_FS_HZ}")
        specs = resolve_sensors(sensors)
        block_n = round(block_ms * fs_hz / 1000.0)
        if block_n < 1:
            raise ValueError(f"block_ms={block_ms!r} gives less than one sample at {fs_hz} Hz")
        if duration_s is not None and duration_s < 0:
            raise ValueError(f"duration_s={duration_s!r} must be >= 0 or None")
        self.fs_hz = int(fs_hz)
        self.block_samples = block_n
        self.seed = seed
        self.clock: Clock | None = clock or (WallClock() if realtime else None)
        self.duration_s = duration_s
        self.noise_floor_uv = float(noise_floor_uv)
        self.fatigue_time_s = float(fatigue_time_s)
        self.pop_uv = float(pop_uv)
        self.pop_tau_s = float(pop_tau_s)
        self.keep_truth = keep_truth
        self.sensors: list[SimulatedSensor] = list(specs)

        root = np.random.SeedSequence(seed)
        kit_ss, *sensor_ss = root.spawn(1 + len(specs))
        kit_rng = np.random.default_rng(kit_ss)
        muscle_factor = {m: float(kit_rng.uniform(0.9, 1.1)) for m in sorted({s.muscle for s in specs})}
        self.script = ActivationScript(self.fs_hz, np.random.default_rng(kit_ss.spawn(1)[0]),
                                       rep_profile or RepProfile(), mvc_trials or SimulatedMvcTrials())
        overrides = dict(mvc_uv or {})
        unknown = set(overrides) - {s.sensor_id for s in specs}
        if unknown:
            raise ValueError(f"mvc_uv names unknown sensors: {sorted(unknown)}")

        self._signal_rngs, self._floor_rngs, self._misc_rngs, self.links = [], [], [], []
        mvc, phases = [], []
        for spec, ss in zip(specs, sensor_ss, strict=True):
            sig, flo, drp, misc = (np.random.default_rng(s) for s in ss.spawn(4))
            amplitude = overrides.get(spec.sensor_id, spec.mvc_uv)
            if amplitude is None:
                amplitude = TYPICAL_MVC_UV.get(spec.muscle, DEFAULT_MVC_UV) * muscle_factor[spec.muscle]
            mvc.append(float(amplitude))
            self.links.append(SimulatedLink(spec, self.fs_hz, drp, float(misc.uniform(80.0, 100.0))))
            phases.append(float(misc.uniform(0.0, 2 * np.pi)))
            self._signal_rngs.append(sig)
            self._floor_rngs.append(flo)
            self._misc_rngs.append(misc)
        # One EmgNoise filters all sensors in one call; each row still comes from its own generator.
        self._noise = EmgNoise(self.fs_hz, len(specs), _StackedNormal(self._signal_rngs))
        self._mains_phase = np.array(phases)
        #: MVC amplitude (µV RMS) per sensor id: the truth the "mvc" scenario reaches at 100 %.
        self.mvc_uv: dict[str, float] = {s.sensor_id: a for s, a in zip(specs, mvc)}
        self._mvc = mvc
        self._pop = [0.0] * len(specs)
        self._truth: list[list[np.ndarray]] = [[] for _ in specs]

        self._index = 0  # next sample index (same for all sensors)
        self._fatigue_level = 0.0
        self._closed = False
        self._sleeping: asyncio.Task | None = None  # the task waiting for the clock, if any
        self._t0: float | None = None  # clock time of sample index 0
        self._run_wall0 = 0.0
        self._run_index0 = 0
        self._delivered_since_run = [0] * len(specs)
        self._position = {s.sensor_id: k for k, s in enumerate(specs)}
        self._flags = Steering()
        self.steer(**flags)

    # -------------------------------------------------------------------------------- steering
    @property
    def rep_profile(self) -> RepProfile:
        """Shape of the "reps" scenario."""
        return self.script.rep_profile

    @property
    def mvc_trials(self) -> SimulatedMvcTrials:
        """Shape of the "mvc" scenario."""
        return self.script.mvc_trials

    @property
    def rep_log(self) -> list[tuple[int, int, float]]:
        """Reps generated so far: (start sample, end sample, peak factor) of the target's burst."""
        return self.script.rep_log

    @property
    def flags(self) -> Steering:
        """The current steering flags (immutable; change them with :meth:`steer`)."""
        return self._flags

    @property
    def scenario(self) -> str:
        """The running scenario name."""
        return self._flags.scenario

    @property
    def fatigue_level(self) -> float:
        """Current fatigue, 0 (fresh) to 1 (compression 0.7, amplitude ×1.25)."""
        return self._fatigue_level

    @property
    def sample_index(self) -> int:
        """Index of the next sample to be generated (same for every sensor)."""
        return self._index

    def steer(self, **flags: object) -> Steering:
        """Change steering flags (see :class:`Steering`); takes effect from the next block.

        Unknown names or bad values raise ``ValueError`` naming the flag and what is allowed.
        """
        new = steered(self._flags, flags, set(self._position))
        if "scenario" in flags and (new.scenario != self._flags.scenario or new.scenario == "mvc"):
            self.script.start(new.scenario, self._index)
        self._flags = new
        return new

    # ---------------------------------------------------------------------------- generation
    def _next_group(self, n: int, t_host0: float) -> list[list[Block]]:
        """Generate the next ``n`` samples of every sensor in one go (the signal work is per call,
        so a group of blocks costs little more than one); return, per block period, the blocks
        that get through. Packet drops and a lost sensor still act block by block."""
        flags = self._flags
        fs, i0, bs = self.fs_hz, self._index, self.block_samples
        dt = n / fs
        if flags.fatigue:
            self._fatigue_level = min(1.0, self._fatigue_level + dt / self.fatigue_time_s)
        else:
            self._fatigue_level = max(0.0, self._fatigue_level - 2 * dt / self.fatigue_time_s)
        compression = round(1.0 - 0.3 * self._fatigue_level, 3)
        amp_gain = 1.0 + 0.25 * self._fatigue_level

        fractions = self.script.activation(i0, n, flags, [s.role for s in self.sensors])
        emg = self._noise.next(n, compression)  # (n, n_sensors), unit RMS
        hum = self._hum(i0, n, flags.mains_hz, flags.mains_uv) if flags.mains_hz else None
        pop_target = None
        if flags.electrode_pop is not False:
            pop_target = self.sensors[0].sensor_id if flags.electrode_pop is True else flags.electrode_pop
            self._flags = dataclasses.replace(self._flags, electrode_pop=False)

        decay = np.exp(-np.arange(n) / (self.pop_tau_s * fs))
        signals = []
        for k, spec in enumerate(self.sensors):
            act = fractions[k] * self._mvc[k] * amp_gain
            if spec.side == "L" and flags.left_deficit_pct:
                act = act * (1.0 - flags.left_deficit_pct / 100.0)
            x = act * emg[:, k]
            x += self.noise_floor_uv * self._floor_rngs[k].standard_normal(n)
            if hum is not None and (flags.mains_sensor is None or flags.mains_sensor == spec.sensor_id):
                x += hum[k]
            if pop_target == spec.sensor_id:
                self._pop[k] = self.pop_uv * (1.0 if self._misc_rngs[k].random() < 0.5 else -1.0)
            if self._pop[k]:
                x += self._pop[k] * decay
                self._pop[k] *= math.exp(-n / (self.pop_tau_s * fs))
                if abs(self._pop[k]) < 0.01:
                    self._pop[k] = 0.0
            if flags.clip_uv is not None:
                np.clip(x, -flags.clip_uv, flags.clip_uv, out=x)
            if self.keep_truth:
                self._truth[k].append(act.copy())
            signals.append(x.astype(np.float32).reshape(n, 1))

        periods = []
        for start in range(0, n, bs):
            m = min(bs, n - start)
            index, t_host = i0 + start, t_host0 + (i0 + start) / fs
            delivered = (link.deliver(index, x[start : start + m], t_host, self._flags, self._closed)
                         for link, x in zip(self.links, signals, strict=True))
            periods.append([block for block in delivered if block is not None])
        self._index += n
        if flags.scenario == "mvc" and self.script.mvc_done(self._index):
            self._flags = dataclasses.replace(self._flags, scenario="rest")
            self.script.start("rest", self._index)
        return periods

    def _count_delivered(self, blocks: list[Block], due: float | None = None) -> None:
        """Measured rates count what has been handed out, not what was generated ahead, over the time
        until these blocks were due (``due``, on the clock; else the virtual time of the samples)."""
        for block in blocks:
            self._delivered_since_run[self._position[block.sensor_id]] += block.n_samples
        elapsed = (due - self._run_wall0) if due is not None else (self._index - self._run_index0) / self.fs_hz
        if elapsed > 0:
            for link, delivered in zip(self.links, self._delivered_since_run, strict=True):
                link.status.measured_rate_hz = delivered / elapsed

    def _hum(self, i0: int, n: int, mains_hz: int, mains_uv: float) -> np.ndarray:
        """Mains hum for every sensor, shape (n_sensors, n); ``mains_uv`` is the fundamental's RMS."""
        t = np.arange(i0, i0 + n) / self.fs_hz
        hum = np.zeros((len(self.sensors), n))
        for h, rel in MAINS_HARMONICS.items():
            if h * mains_hz < self.fs_hz / 2:
                hum += rel * np.sin(2 * np.pi * h * mains_hz * t[None, :] + h * self._mains_phase[:, None])
        return math.sqrt(2.0) * mains_uv * hum

    def _begin_run(self) -> None:
        now = self.clock.now() if self.clock is not None else 0.0
        self._t0 = now - self._index / self.fs_hz
        self._run_wall0 = now
        self._run_index0 = self._index
        self._delivered_since_run = [0] * len(self.sensors)

    def _remaining(self) -> int | None:
        if self.duration_s is None:
            return None
        return max(0, round(self.duration_s * self.fs_hz) - self._index)

    # ---------------------------------------------------------------------------- public API
    def __aiter__(self) -> AsyncIterator[Block]:
        """Blocks of all sensors, interleaved in time order (sensor order within one period)."""
        return self._stream()

    async def _stream(self) -> AsyncIterator[Block]:
        self._begin_run()
        assert self._t0 is not None
        while not self._closed:
            remaining = self._remaining()
            n = self.GROUP_BLOCKS * self.block_samples
            n = n if remaining is None else min(n, remaining)
            if n == 0:
                break
            first = self._index
            periods: list[list[Block]] | None = None
            for p in range(0, -(-n // self.block_samples), self.DELIVER_BLOCKS):
                due = None
                if self.clock is not None:
                    end = min(n, (p + self.DELIVER_BLOCKS) * self.block_samples)
                    due = self._t0 + (first + end) / self.fs_hz
                    self._sleeping = asyncio.current_task()
                    try:
                        await self.clock.sleep_until(due)
                    finally:
                        self._sleeping = None
                else:
                    await asyncio.sleep(0)
                if self._closed:
                    return
                if periods is None:  # generated when its first block is due, so steering applies
                    periods = self._next_group(n, self._t0)
                delivered = [block for period in periods[p : p + self.DELIVER_BLOCKS] for block in period]
                self._count_delivered(delivered, due)
                for block in delivered:
                    if self._closed:
                        return
                    yield block

    def generate(self, seconds: float) -> dict[str, np.ndarray]:
        """Synchronously generate the next ``seconds`` of data: sensor id → 1-D float32 µV array.

        Advances the kit as iterating would (same signals, same steering, same status updates,
        ignoring pacing and ``duration_s``); samples of dropped blocks are left out, so each
        array is the concatenation of the blocks iteration would have yielded.
        """
        if self._t0 is None:
            self._begin_run()
        assert self._t0 is not None
        total = round(seconds * self.fs_hz)
        parts: dict[str, list[np.ndarray]] = {s.sensor_id: [] for s in self.sensors}
        end = self._index + total
        while self._index < end:
            for period in self._next_group(min(self.GROUP_BLOCKS * self.block_samples, end - self._index), self._t0):
                self._count_delivered(period)
                for block in period:
                    parts[block.sensor_id].append(block.samples[:, 0])
        return {sid: (np.concatenate(p) if p else np.zeros(0, dtype=np.float32)) for sid, p in parts.items()}

    def truth(self, sensor_id: str) -> np.ndarray:
        """True activation (µV RMS, noise floor excluded) of every generated sample, dropped ones
        included; needs ``keep_truth=True``."""
        if not self.keep_truth:
            raise RuntimeError("truth is only recorded with keep_truth=True")
        if sensor_id not in self._position:
            raise KeyError(sensor_id)
        parts = self._truth[self._position[sensor_id]]
        return np.concatenate(parts) if parts else np.zeros(0)

    def status(self) -> list[SensorStatus]:
        """Snapshot of every sensor's status (copies), in sensor order."""
        return [dataclasses.replace(link.status, notes=list(link.status.notes)) for link in self.links]

    async def close(self) -> None:
        """Stop streaming: iteration ends (a reader waiting for the clock is woken by cancelling its
        wait) and every sensor reports disconnected."""
        self._closed = True
        for link in self.links:
            link.status.connected = False
        if self._sleeping is not None and self._sleeping is not asyncio.current_task():
            self._sleeping.cancel()

    @property
    def closed(self) -> bool:
        """True after :meth:`close`."""
        return self._closed
