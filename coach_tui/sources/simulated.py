"""A simulated sEMG sensor kit: 2–8 single-channel sensors, one muscle and side each.

What is modelled, per sensor (all in µV):

- **sEMG**: :class:`~coach_tui.sources.emg_synthesis.EmgNoise` (Gaussian noise shaped to a
  surface-EMG spectrum, unit RMS) multiplied by a scripted *activation* curve (µV RMS), plus a white
  amplifier noise floor (default 3 µV RMS). The true RMS envelope is therefore
  ``sqrt(activation² + floor²)``; ``keep_truth=True`` records the activation curve.
- **Scenarios**: ``"rest"`` (activation 0); ``"reps"`` (endless reps of an exercise: sin²-shaped
  bursts of 1.5–2.5 s with 0.8–1.2 s rest, peak varying ±10 % rep to rep, each muscle at a fraction
  of its MVC amplitude set by its role — target 70 %, synergist 40 %, antagonist 10 %); ``"mvc"``
  (an MVC protocol on request: 3 s rest baseline, then 3 ramp-hold-ramp trials of 5 s with 5 s rest
  between, every sensor reaching 92 %, 100 % and 97 % of its MVC amplitude; afterwards the kit
  switches itself back to ``"rest"``).
- **Steering** (:meth:`SimulatedKit.steer`, any time): compensation (target lower, synergists
  higher and leading), a left-side deficit, fatigue (amplitude up to +25 %, spectrum compressed down
  to 0.7 over ``fatigue_time_s``), mains hum with harmonics, a one-off electrode pop (step with
  exponential decay), dropped packets (reported as ``gap_before`` on the next block) and saturation.
- **Link**: battery slowly draining from 80–100 %, measured sample rate, samples/packets lost.

Deterministic by seed: each sensor draws from its own generators spawned from
``numpy.random.SeedSequence(seed)`` (signal, floor, packet loss, misc), rep timing from a kit-level
generator, so the same seed and the same steering give identical samples, and switching hum or
packet loss on does not change the underlying EMG.
"""

from __future__ import annotations

import asyncio
import dataclasses
import math
import time
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from coach_tui.sources.block import Block, SensorStatus
from coach_tui.sources.emg_synthesis import EmgNoise, plateau, raised_cosine_bursts

ALLOWED_FS_HZ = (1000, 2000)
ALLOWED_MAINS_HZ = (0, 50, 60)
SCENARIOS = ("rest", "mvc", "reps")
ROLES = ("target", "synergist", "antagonist")
SIDES = ("L", "R")

#: Typical MVC amplitudes (µV RMS) per muscle before the kit's ±10 % per-muscle variation.
TYPICAL_MVC_UV: dict[str, float] = {
    "glute_max": 400.0,
    "glute_med": 350.0,
    "hamstrings": 350.0,
    "erector_spinae": 300.0,
    "rectus_femoris": 450.0,
    "vastus_lateralis": 450.0,
    "gastrocnemius": 350.0,
    "biceps": 500.0,
    "triceps": 450.0,
}
DEFAULT_MVC_UV = 400.0

#: Relative RMS amplitude of mains harmonics (fundamental = 1).
MAINS_HARMONICS: dict[int, float] = {1: 1.0, 2: 0.05, 3: 0.3, 5: 0.1}


@dataclass(frozen=True, slots=True)
class SimulatedSensor:
    """One simulated single-channel sensor on one muscle and side.

    ``role`` is the muscle's role in the simulated exercise: "target", "synergist" or
    "antagonist". ``mvc_uv`` overrides the kit's MVC amplitude for this sensor (µV RMS).
    """

    sensor_id: str
    muscle: str
    side: str
    role: str
    mvc_uv: float | None = None


def _sensor(muscle: str, side: str, role: str) -> SimulatedSensor:
    return SimulatedSensor(f"sim-{muscle}-{side}", muscle, side, role)


#: The full 8-sensor hip-thrust kit; the default kit is the first 4.
DEFAULT_SENSORS: tuple[SimulatedSensor, ...] = (
    _sensor("glute_max", "L", "target"),
    _sensor("glute_max", "R", "target"),
    _sensor("hamstrings", "L", "synergist"),
    _sensor("hamstrings", "R", "synergist"),
    _sensor("erector_spinae", "L", "synergist"),
    _sensor("erector_spinae", "R", "synergist"),
    _sensor("rectus_femoris", "L", "antagonist"),
    _sensor("rectus_femoris", "R", "antagonist"),
)


def sensors_for_exercise(
    target: str, synergists: tuple[str, ...], antagonists: tuple[str, ...], count: int
) -> list[SimulatedSensor]:
    """A kit of ``count`` sensors (2–8, pairs) on an exercise's muscles: target, synergists, antagonists."""
    muscles = [(target, "target")] + [(m, "synergist") for m in synergists] + [(m, "antagonist") for m in antagonists]
    chosen = muscles[: max(1, count // 2)]
    return [_sensor(muscle, side, role) for muscle, role in chosen for side in SIDES]


@dataclass(frozen=True, slots=True)
class RepProfile:
    """Shape of the "reps" scenario. Levels are fractions of each sensor's MVC amplitude."""

    duration_s: tuple[float, float] = (1.5, 2.5)
    rest_s: tuple[float, float] = (0.8, 1.2)
    peak_jitter: float = 0.10
    levels: Mapping[str, float] = field(
        default_factory=lambda: {"target": 0.70, "synergist": 0.40, "antagonist": 0.10}
    )
    compensated_levels: Mapping[str, float] = field(
        default_factory=lambda: {"target": 0.40, "synergist": 0.65, "antagonist": 0.10}
    )
    #: Onset delay relative to the rep start, per role (ms); compensating synergists lead.
    onset_ms: Mapping[str, float] = field(
        default_factory=lambda: {"target": 0.0, "synergist": 40.0, "antagonist": 0.0}
    )
    compensated_onset_ms: Mapping[str, float] = field(
        default_factory=lambda: {"target": 0.0, "synergist": -60.0, "antagonist": 0.0}
    )
    #: Antagonist level while the client co-contracts (bracing against the movement).
    cocontracting_antagonist: float = 0.55


@dataclass(frozen=True, slots=True)
class SimulatedMvcTrials:
    """Shape of the "mvc" scenario: baseline, then trials (ramp-hold-ramp) with rest between."""

    baseline_s: float = 3.0
    trial_s: float = 5.0
    ramp_s: float = 0.5
    rest_s: float = 5.0
    levels: tuple[float, ...] = (0.92, 1.0, 0.97)

    @property
    def total_s(self) -> float:
        """Length of the protocol from request to the end of the last trial."""
        n = len(self.levels)
        return self.baseline_s + n * self.trial_s + (n - 1) * self.rest_s


@dataclass(frozen=True, slots=True)
class Steering:
    """The switchable flags of a :class:`SimulatedKit` (read ``kit.flags``, change via ``steer``).

    - ``scenario``: "rest" | "mvc" | "reps"; requesting "mvc" (re)starts the protocol.
    - ``compensate``: target share drops (target 40 % MVC, synergists 65 % and leading by 60 ms).
    - ``cocontract``: antagonists work with the target (``RepProfile.cocontracting_antagonist``).
    - ``left_deficit_pct``: activation of every left-side sensor scaled by ``1 - pct/100``.
    - ``fatigue``: fatigue builds over ``fatigue_time_s`` (amplitude ×1.25, spectrum ×0.7 at
      full fatigue) and recovers twice as fast when switched off.
    - ``mains_hz`` (0, 50, 60), ``mains_uv`` (RMS at the fundamental), ``mains_sensor`` (None = all
      sensors, or one sensor id): additive hum with harmonics.
    - ``electrode_pop``: True (first sensor) or a sensor id; one step transient, then clears.
    - ``drop_packets``: probability per block and sensor that the block is lost.
    - ``clip_uv``: saturate samples at ±value (None = no clipping).
    - ``lost_sensor``: a sensor id whose link is down (nothing delivered, reported disconnected);
      back to None and it reconnects, its first block reporting the samples lost meanwhile.
    """

    scenario: str = "rest"
    compensate: bool = False
    cocontract: bool = False
    left_deficit_pct: float = 0.0
    fatigue: bool = False
    mains_hz: int = 0
    mains_uv: float = 20.0
    mains_sensor: str | None = None
    electrode_pop: bool | str = False
    drop_packets: float = 0.0
    clip_uv: float | None = None
    lost_sensor: str | None = None


@dataclass(slots=True)
class _SensorState:
    spec: SimulatedSensor
    mvc_uv: float
    signal_rng: np.random.Generator
    floor_rng: np.random.Generator
    drop_rng: np.random.Generator
    misc_rng: np.random.Generator
    status: SensorStatus
    battery0: float
    mains_phase: float
    pop_uv: float = 0.0
    pending_gap: int = 0
    pending_packets: int = 0
    truth: list[np.ndarray] = field(default_factory=list)


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
    endlessly. ``realtime`` paces blocks at wall-clock rate; otherwise they come as fast as the
    consumer takes them, with ``t_host`` on a virtual clock (start time + sample index / fs).
    Remaining keyword arguments are initial :class:`Steering` flags.
    """

    #: Block periods generated per call (120 ms at the default 20 ms blocks) …
    GROUP_BLOCKS = 6
    #: … and handed out this many periods at a time (every 40 ms at 20 ms blocks when
    #: ``realtime``), as a Bluetooth host hands over a connection event's notifications together. Each
    #: wake-up of the event loop costs CPU of its own (~0.3 ms on a small VM), so pacing every block
    #: would cost more than making it.
    DELIVER_BLOCKS = 2

    def __init__(
        self,
        sensors: Sequence[SimulatedSensor] | int | None = None,
        *,
        fs_hz: int = 1000,
        block_ms: float = 20.0,
        seed: int = 0,
        realtime: bool = False,
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
        specs = self._resolve_sensors(sensors)
        block_n = round(block_ms * fs_hz / 1000.0)
        if block_n < 1:
            raise ValueError(f"block_ms={block_ms!r} gives less than one sample at {fs_hz} Hz")
        if duration_s is not None and duration_s < 0:
            raise ValueError(f"duration_s={duration_s!r} must be >= 0 or None")
        self.fs_hz = int(fs_hz)
        self.block_samples = block_n
        self.seed = seed
        self.realtime = realtime
        self.duration_s = duration_s
        self.noise_floor_uv = float(noise_floor_uv)
        self.fatigue_time_s = float(fatigue_time_s)
        self.pop_uv = float(pop_uv)
        self.pop_tau_s = float(pop_tau_s)
        self.rep_profile = rep_profile or RepProfile()
        self.mvc_trials = mvc_trials or SimulatedMvcTrials()
        self.keep_truth = keep_truth
        self.sensors: list[SimulatedSensor] = list(specs)

        root = np.random.SeedSequence(seed)
        kit_ss, *sensor_ss = root.spawn(1 + len(specs))
        kit_rng = np.random.default_rng(kit_ss)
        muscle_factor = {
            m: float(kit_rng.uniform(0.9, 1.1)) for m in sorted({s.muscle for s in specs})
        }
        self._scenario_rng = np.random.default_rng(kit_ss.spawn(1)[0])
        overrides = dict(mvc_uv or {})
        unknown = set(overrides) - {s.sensor_id for s in specs}
        if unknown:
            raise ValueError(f"mvc_uv names unknown sensors: {sorted(unknown)}")

        self._states: list[_SensorState] = []
        for spec, ss in zip(specs, sensor_ss, strict=True):
            sig, flo, drp, misc = (np.random.default_rng(s) for s in ss.spawn(4))
            mvc = overrides.get(spec.sensor_id, spec.mvc_uv)
            if mvc is None:
                mvc = TYPICAL_MVC_UV.get(spec.muscle, DEFAULT_MVC_UV) * muscle_factor[spec.muscle]
            battery0 = float(misc.uniform(80.0, 100.0))
            self._states.append(
                _SensorState(
                    spec=spec,
                    mvc_uv=float(mvc),
                    signal_rng=sig,
                    floor_rng=flo,
                    drop_rng=drp,
                    misc_rng=misc,
                    status=SensorStatus(
                        sensor_id=spec.sensor_id,
                        nominal_rate_hz=float(self.fs_hz),
                        channels=1,
                        connected=True,
                        battery_pct=battery0,
                        simulated=True,
                        notes=[f"simulated {spec.muscle} {spec.side} ({spec.role})"],
                    ),
                    battery0=battery0,
                    mains_phase=float(misc.uniform(0.0, 2 * np.pi)),
                )
            )
        # One EmgNoise filters all sensors in one call; each row still comes from its own generator.
        stacked = _StackedNormal([st.signal_rng for st in self._states])
        self._noise = EmgNoise(self.fs_hz, len(self._states), stacked)
        self._mains_phase = np.array([st.mains_phase for st in self._states])
        #: MVC amplitude (µV RMS) per sensor id: the truth the "mvc" scenario reaches at 100 %.
        self.mvc_uv: dict[str, float] = {st.spec.sensor_id: st.mvc_uv for st in self._states}
        #: Reps generated so far: (start sample, end sample, peak factor) of the target's burst.
        self.rep_log: list[tuple[int, int, float]] = []

        self._index = 0  # next sample index (same for all sensors)
        self._fatigue_level = 0.0
        self._scenario_start = 0
        self._reps: list[tuple[int, int, float]] = []  # scheduled (start, length, peak factor)
        self._next_rep_start = 0
        self._closed = False
        self._t0: float | None = None  # monotonic time of sample index 0
        self._run_wall0 = 0.0
        self._run_index0 = 0
        self._delivered_since_run = [0] * len(self._states)
        self._position = {st.spec.sensor_id: k for k, st in enumerate(self._states)}
        self._flags = Steering()
        self.steer(**flags)

    # ----------------------------------------------------------------------------------- setup
    @staticmethod
    def _resolve_sensors(sensors: Sequence[SimulatedSensor] | int | None) -> list[SimulatedSensor]:
        if sensors is None:
            sensors = 4
        if isinstance(sensors, int):
            if not 2 <= sensors <= len(DEFAULT_SENSORS):
                raise ValueError(f"sensor count {sensors} not supported; allowed 2..{len(DEFAULT_SENSORS)}")
            return list(DEFAULT_SENSORS[:sensors])
        specs = list(sensors)
        if not 2 <= len(specs) <= 8:
            raise ValueError(f"{len(specs)} sensors not supported; allowed 2..8")
        ids = [s.sensor_id for s in specs]
        if len(set(ids)) != len(ids):
            raise ValueError(f"duplicate sensor ids: {ids}")
        for s in specs:
            if s.role not in ROLES:
                raise ValueError(f"sensor {s.sensor_id}: role={s.role!r}; allowed: {ROLES}")
            if s.side not in SIDES:
                raise ValueError(f"sensor {s.sensor_id}: side={s.side!r}; allowed: {SIDES}")
        return specs

    # -------------------------------------------------------------------------------- steering
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
        known = {f.name for f in dataclasses.fields(Steering)}
        ids = {st.spec.sensor_id for st in self._states}
        clean: dict[str, object] = {}
        for name, value in flags.items():
            if name not in known:
                raise ValueError(f"unknown steering flag {name!r}; allowed: {sorted(known)}")
            clean[name] = self._validate(name, value, ids)
        new = dataclasses.replace(self._flags, **clean)
        if "scenario" in clean and (new.scenario != self._flags.scenario or new.scenario == "mvc"):
            self._start_scenario(new.scenario)
        self._flags = new
        return new

    @staticmethod
    def _validate(name: str, value: object, ids: set[str]) -> object:
        def bad(allowed: str) -> ValueError:
            return ValueError(f"steering flag {name}={value!r} not allowed; allowed: {allowed}")

        if name == "scenario":
            if value not in SCENARIOS:
                raise bad(str(SCENARIOS))
            return value
        if name in ("compensate", "cocontract", "fatigue"):
            if not isinstance(value, bool | np.bool_):
                raise bad("True or False")
            return bool(value)
        if name == "left_deficit_pct":
            if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value < 100:
                raise bad("a number 0 <= pct < 100")
            return float(value)
        if name == "mains_hz":
            if isinstance(value, bool) or value not in ALLOWED_MAINS_HZ:
                raise bad(str(ALLOWED_MAINS_HZ))
            return int(value)  # type: ignore[arg-type]
        if name == "mains_uv":
            if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
                raise bad("a number >= 0 (µV RMS)")
            return float(value)
        if name in ("mains_sensor", "lost_sensor"):
            if value is not None and value not in ids:
                raise bad(f"None or one of {sorted(ids)}")
            return value
        if name == "electrode_pop":
            if value is True or value is False or value in ids:
                return value
            raise bad(f"True, False or one of {sorted(ids)}")
        if name == "drop_packets":
            if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value < 1:
                raise bad("a probability 0 <= p < 1")
            return float(value)
        if name == "clip_uv":
            if value is None:
                return None
            if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
                raise bad("None or a number > 0 (µV)")
            return float(value)
        raise AssertionError(name)  # pragma: no cover

    def _start_scenario(self, scenario: str) -> None:
        self._scenario_start = self._index
        self._reps = []
        if scenario == "reps":
            self._next_rep_start = self._index + self._draw_samples(self.rep_profile.rest_s)

    def _draw_samples(self, bounds: tuple[float, float]) -> int:
        return round(self._scenario_rng.uniform(*bounds) * self.fs_hz)

    # ---------------------------------------------------------------------------- activation
    def _schedule_reps(self, until: int) -> None:
        """Schedule reps starting before ``until``; drop reps that are long over."""
        prof = self.rep_profile
        while self._next_rep_start < until:
            length = self._draw_samples(prof.duration_s)
            peak = 1.0 + float(self._scenario_rng.uniform(-prof.peak_jitter, prof.peak_jitter))
            start = self._next_rep_start
            self._reps.append((start, length, peak))
            self.rep_log.append((start, start + length, peak))
            self._next_rep_start = start + length + self._draw_samples(prof.rest_s)
        horizon = self._index - self.fs_hz  # onset shifts are far below 1 s
        self._reps = [r for r in self._reps if r[0] + r[1] > horizon]

    def _base_activation(self, n: int) -> np.ndarray:
        """Activation (µV RMS) per sensor for the next ``n`` samples, before deficit and fatigue."""
        i0, fs = self._index, self.fs_hz
        out = np.zeros((len(self._states), n))
        scenario = self._flags.scenario
        if scenario == "reps":
            prof = self.rep_profile
            comp = self._flags.compensate
            levels = prof.compensated_levels if comp else prof.levels
            if self._flags.cocontract:
                levels = {**levels, "antagonist": prof.cocontracting_antagonist}
            onsets = prof.compensated_onset_ms if comp else prof.onset_ms
            self._schedule_reps(i0 + n + fs)
            lengths = [length / fs for _, length, _ in self._reps]
            unit: dict[str, np.ndarray] = {}  # per role, in fractions of MVC
            for role in {st.spec.role for st in self._states}:
                shift = onsets.get(role, 0.0) / 1000.0
                starts = [(s - i0) / fs + shift for s, _, _ in self._reps]
                peaks = [p * levels.get(role, 0.0) for _, _, p in self._reps]
                unit[role] = raised_cosine_bursts(n, fs, starts, lengths, peaks)
            for k, st in enumerate(self._states):
                out[k] = unit[st.spec.role] * st.mvc_uv
        elif scenario == "mvc":
            proto = self.mvc_trials
            rel0 = (i0 - self._scenario_start) / fs
            hold = proto.trial_s - 2 * proto.ramp_s
            curve = np.zeros(n)
            for j, level in enumerate(proto.levels):
                start = proto.baseline_s + j * (proto.trial_s + proto.rest_s) - rel0
                if start < n / fs and start + proto.trial_s > 0:
                    curve = np.maximum(curve, plateau(n, fs, start, hold, level, proto.ramp_s))
            for k, st in enumerate(self._states):
                out[k] = curve * st.mvc_uv
        return out

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

        activation = self._base_activation(n) * amp_gain
        emg = self._noise.next(n, compression)  # (n, n_sensors), unit RMS
        hum = self._hum(i0, n, flags.mains_hz, flags.mains_uv) if flags.mains_hz else None
        pop_target = None
        if flags.electrode_pop is not False:
            first_id = self._states[0].spec.sensor_id
            pop_target = first_id if flags.electrode_pop is True else flags.electrode_pop
            self._flags = dataclasses.replace(self._flags, electrode_pop=False)

        decay = np.exp(-np.arange(n) / (self.pop_tau_s * fs))
        signals = []
        for k, st in enumerate(self._states):
            spec = st.spec
            act = activation[k]
            if spec.side == "L" and flags.left_deficit_pct:
                act = act * (1.0 - flags.left_deficit_pct / 100.0)
            x = act * emg[:, k]
            x += self.noise_floor_uv * st.floor_rng.standard_normal(n)
            if hum is not None and (flags.mains_sensor is None or flags.mains_sensor == spec.sensor_id):
                x += hum[k]
            if pop_target == spec.sensor_id:
                st.pop_uv = self.pop_uv * (1.0 if st.misc_rng.random() < 0.5 else -1.0)
            if st.pop_uv:
                x += st.pop_uv * decay
                st.pop_uv *= math.exp(-n / (self.pop_tau_s * fs))
                if abs(st.pop_uv) < 0.01:
                    st.pop_uv = 0.0
            if flags.clip_uv is not None:
                np.clip(x, -flags.clip_uv, flags.clip_uv, out=x)
            if self.keep_truth:
                st.truth.append(act.copy())
            signals.append(x.astype(np.float32).reshape(n, 1))

        periods = []
        for start in range(0, n, bs):
            m = min(bs, n - start)
            periods.append(self._deliver(signals, i0 + start, start, m, t_host0))
        self._index += n
        if flags.scenario == "mvc" and self._index >= self._scenario_start + round(
            self.mvc_trials.total_s * fs
        ):
            self._flags = dataclasses.replace(self._flags, scenario="rest")
            self._start_scenario("rest")
        return periods

    def _deliver(self, signals: list[np.ndarray], index: int, offset: int, m: int, t_host0: float) -> list[Block]:
        """The blocks of one period (``m`` samples from ``index``) that get through."""
        flags = self._flags
        blocks: list[Block] = []
        t_host = t_host0 + index / self.fs_hz
        for st, x in zip(self._states, signals, strict=True):
            spec, status = st.spec, st.status
            status.battery_pct = max(0.0, st.battery0 - 0.2 * (index + m) / self.fs_hz / 60.0)
            if st.drop_rng.random() < flags.drop_packets:
                st.pending_gap += m
                st.pending_packets += 1
                continue
            if flags.lost_sensor == spec.sensor_id:
                status.connected = False
                st.pending_gap += m
                continue
            if not status.connected and not self._closed:
                status.connected = True
                status.reconnects += 1
            blocks.append(Block(spec.sensor_id, index, x[offset : offset + m], t_host, st.pending_gap))
            status.samples_received += m
            status.samples_lost += st.pending_gap
            status.packets_lost += st.pending_packets
            st.pending_gap = st.pending_packets = 0
        return blocks

    def _count_delivered(self, blocks: list[Block]) -> None:
        """Measured rates count what has been handed out, not what was generated ahead."""
        for block in blocks:
            self._delivered_since_run[self._position[block.sensor_id]] += block.n_samples
        self._update_rates()

    def _hum(self, i0: int, n: int, mains_hz: int, mains_uv: float) -> np.ndarray:
        """Mains hum for every sensor, shape (n_sensors, n); ``mains_uv`` is the fundamental's RMS."""
        t = np.arange(i0, i0 + n) / self.fs_hz
        hum = np.zeros((len(self._states), n))
        for h, rel in MAINS_HARMONICS.items():
            if h * mains_hz < self.fs_hz / 2:
                hum += rel * np.sin(2 * np.pi * h * mains_hz * t[None, :] + h * self._mains_phase[:, None])
        return math.sqrt(2.0) * mains_uv * hum

    def _update_rates(self) -> None:
        if self.realtime:
            elapsed = time.monotonic() - self._run_wall0
        else:
            elapsed = (self._index - self._run_index0) / self.fs_hz
        if elapsed <= 0:
            return
        for st, delivered in zip(self._states, self._delivered_since_run, strict=True):
            st.status.measured_rate_hz = delivered / elapsed

    def _begin_run(self) -> None:
        now = time.monotonic()
        self._t0 = now - self._index / self.fs_hz
        self._run_wall0 = now
        self._run_index0 = self._index
        self._delivered_since_run = [0] * len(self._states)

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
                if self.realtime:
                    end = min(n, (p + self.DELIVER_BLOCKS) * self.block_samples)
                    due = self._t0 + (first + end) / self.fs_hz
                    await asyncio.sleep(max(0.0, due - time.monotonic()))
                else:
                    await asyncio.sleep(0)
                if self._closed:
                    return
                if periods is None:  # generated when its first block is due, so steering applies
                    periods = self._next_group(n, self._t0)
                delivered = [block for period in periods[p : p + self.DELIVER_BLOCKS] for block in period]
                self._count_delivered(delivered)
                for block in delivered:
                    if self._closed:
                        return
                    yield block

    def generate(self, seconds: float) -> dict[str, np.ndarray]:
        """Synchronously generate the next ``seconds`` of data: sensor id → 1-D float32 µV array.

        Advances the kit as iterating would (same signals, same steering, same status updates,
        ignoring ``realtime`` and ``duration_s``); samples of dropped blocks are left out, so each
        array is the concatenation of the blocks iteration would have yielded.
        """
        if self._t0 is None:
            self._begin_run()
        assert self._t0 is not None
        total = round(seconds * self.fs_hz)
        parts: dict[str, list[np.ndarray]] = {st.spec.sensor_id: [] for st in self._states}
        end = self._index + total
        while self._index < end:
            for period in self._next_group(min(self.GROUP_BLOCKS * self.block_samples, end - self._index), self._t0):
                self._count_delivered(period)
                for block in period:
                    parts[block.sensor_id].append(block.samples[:, 0])
        return {
            sid: (np.concatenate(p) if p else np.zeros(0, dtype=np.float32)) for sid, p in parts.items()
        }

    def truth(self, sensor_id: str) -> np.ndarray:
        """True activation (µV RMS, noise floor excluded) of every generated sample, dropped ones
        included; needs ``keep_truth=True``."""
        if not self.keep_truth:
            raise RuntimeError("truth is only recorded with keep_truth=True")
        for st in self._states:
            if st.spec.sensor_id == sensor_id:
                return np.concatenate(st.truth) if st.truth else np.zeros(0)
        raise KeyError(sensor_id)

    def status(self) -> list[SensorStatus]:
        """Snapshot of every sensor's status (copies), in sensor order."""
        return [dataclasses.replace(st.status, notes=list(st.status.notes)) for st in self._states]

    async def close(self) -> None:
        """Stop streaming: iteration ends and every sensor reports disconnected."""
        self._closed = True
        for st in self._states:
            st.status.connected = False

    @property
    def closed(self) -> bool:
        """True after :meth:`close`."""
        return self._closed

