"""The sensors coach reads and how they sit on a client, for the console and ``coach record`` alike.

Either the simulated kit (``[simulation]``; each screen gets a kit of its own wearing the client's
placements, paced by the wall clock or by an injected ``Clock``), or the Bluetooth sensors of
``[[sensors]]``, connected once and read through a ``SourceHub`` by whoever needs them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from coach_tui.config import Config
from coach_tui.domain.channels import ChannelAssignment
from coach_tui.domain.client import Client
from coach_tui.domain.exercises import Exercise, exercise_library
from coach_tui.domain.ids import now_utc
from coach_tui.domain.placement import Placement
from coach_tui.store.repository import Repository
from coach_tui.workflows.configured_sensors import configured_placements, placed_columns
from coach_tui.workflows.visits import Visits

if TYPE_CHECKING:  # the signal side is loaded when first used: the console's first screen paints sooner
    from coach_tui.sources.clock import Clock
    from coach_tui.sources.source_hub import SourceHub
    from coach_tui.workflows.calibration_protocol import CalibrationProtocol
    from coach_tui.workflows.live_monitor import LiveMonitor

#: The exercise whose muscles the simulated kit is placed on until the trainer places it.
DEFAULT_EXERCISE = "hip_thrust"


class SensorsNotReady(Exception):
    """The configured sensors cannot be read yet (still connecting, or at different rates)."""


def _merged(defaults: list[Placement], stored: list[Placement]) -> list[Placement]:
    """Every sensor channel of ``defaults`` (what the kit or the config has now), placed as ``stored``
    where it was placed before; a new channel keeps its default muscle side unless that is taken,
    then takes one a moved channel left free."""
    by_channel = {(p.sensor_id, p.channel): p for p in stored}
    placed = [by_channel.get((d.sensor_id, d.channel)) for d in defaults]
    taken = {p.assignment for p in placed if p is not None}
    free = [d.assignment for d in defaults if d.assignment not in taken]
    merged = []
    for default, placement in zip(defaults, placed):
        if placement is None:
            wanted = default.assignment if default.assignment not in taken or not free else free[0]
            free = [a for a in free if a != wanted]
            taken.add(wanted)
            placement = Placement(wanted.muscle, wanted.side, default.sensor_id, default.channel)
        merged.append(placement)
    return merged


class SensorSetup:
    """The sensors of one console (or command) run: ``simulated``, else ``config``'s Bluetooth sensors
    (``scanner_backend``/``client_backend`` go to bleak, for tests). ``clock`` paces simulated kits."""

    def __init__(self, config: Config, repo: Repository, *, simulated: bool, clock: Clock | None = None,
                 scanner_backend=None, client_backend=None):
        self.config = config
        self.repo = repo
        self.simulated = simulated or not config.sensors
        self.clock = clock
        self.exercises: dict[str, Exercise] = exercise_library(config.exercises)
        self.visits = Visits(repo, config.visits.idle_gap_minutes)
        self.hub: SourceHub | None = None
        self._kits = 0  # simulated kits made so far
        self._backends = {"scanner_backend": scanner_backend, "client_backend": client_backend}

    async def connect(self) -> None:
        """Connect the configured Bluetooth sensors (nothing to do for the simulated kit); raises
        ``BluetoothUnavailable`` saying what to do when Bluetooth cannot be used."""
        if self.simulated:
            return
        from coach_tui.sources.ble.bluetooth_errors import check_bluetooth
        from coach_tui.sources.source_hub import SourceHub
        from coach_tui.workflows.configured_sensors import bluetooth_source

        await check_bluetooth(self._backends["scanner_backend"])
        self.hub = SourceHub(bluetooth_source(self.config, configured_placements(self.config), **self._backends))
        self.hub.start()

    def use_simulated(self) -> None:
        """Read the simulated kit from now on (Bluetooth could not be used)."""
        self.simulated = True

    async def close(self) -> None:
        """Close every open session (the visit ends) and disconnect the sensors."""
        self.visits.close()
        if self.hub is not None:
            await self.hub.close()

    # -- where the sensors sit ----------------------------------------------------------------

    def default_placements(self) -> list[Placement]:
        """Every sensor channel there is now: the simulated kit's on the default exercise's muscles,
        or ``[[sensors]]``'s."""
        if not self.simulated:
            return configured_placements(self.config)
        from coach_tui.sources.simulated import sensors_for_exercise

        exercise = self.exercises[DEFAULT_EXERCISE]
        kit = sensors_for_exercise(exercise.target, exercise.synergists, exercise.antagonists,
                                   self.config.simulation.sensors)
        return [Placement(s.muscle, s.side, s.sensor_id) for s in kit]

    def placements_for(self, client: Client) -> list[Placement]:
        """Where every sensor there is now sits on ``client``: as placed before, new sensors where
        the kit or the config puts them."""
        return _merged(self.default_placements(), self.repo.placements(client.id))

    def sensor_rate(self) -> float:
        """The sample rate every sensor runs at; ``SensorsNotReady`` says why there is none yet."""
        if self.simulated:
            return float(self.config.simulation.fs_hz)
        if self.hub is None:
            raise SensorsNotReady("sensors are not connected")
        statuses = self.hub.status()
        waiting = [f"{s.sensor_id} {s.state or 'connecting'}" for s in statuses
                   if not (s.nominal_rate_hz or s.measured_rate_hz)]
        if waiting:
            raise SensorsNotReady(f"waiting for sensors: {'; '.join(waiting)}")
        rates = {s.sensor_id: s.nominal_rate_hz or round(s.measured_rate_hz) for s in statuses}
        if len(set(rates.values())) > 1:
            listed = ", ".join(f"{sid} {rate:g} Hz" for sid, rate in rates.items())
            raise SensorsNotReady(f"the sensors run at different rates ({listed}); use sensors of one rate together")
        return float(next(iter(rates.values())))

    def assignments(self, placements: list[Placement]) -> dict[str, list[ChannelAssignment]]:
        """Per sensor, the muscle and side of each channel the source delivers, in its order."""
        by_channel = {(p.sensor_id, p.channel): p.assignment for p in placements}
        if self.simulated:
            return {p.sensor_id: [p.assignment] for p in placements}
        columns = placed_columns(configured_placements(self.config))
        return {sid: [by_channel[(sid, channel)] for channel in picked] for sid, picked in columns.items()}

    def envelope_sensors(self) -> frozenset[str]:
        """Sensors that send their own envelope (none in the simulated kit)."""
        from coach_tui.workflows.configured_sensors import envelope_sensors

        return frozenset() if self.simulated else envelope_sensors(self.config)

    # -- what the screens and commands read ---------------------------------------------------

    def source(self, placements: list[Placement], exercise: Exercise, scenario: str, duration_s: float | None = None):
        """The simulated kit wearing ``placements`` (each muscle playing its role in ``exercise``,
        doing ``scenario``, for ``duration_s`` or endlessly), or a reader of the connected sensors."""
        if not self.simulated:
            if self.hub is None:
                raise SensorsNotReady("sensors are not connected")
            return self.hub.reader()
        from coach_tui.sources.simulated import SimulatedKit, SimulatedSensor

        def role(muscle: str) -> str:
            return "target" if muscle == exercise.target else "synergist" if muscle in exercise.synergists else "antagonist"

        sensors = [SimulatedSensor(p.sensor_id, p.muscle, p.side or "L", role(p.muscle)) for p in placements]
        sim = self.config.simulation
        self._kits += 1  # each kit its own seed in turn: sets differ as a client's do, the same each run
        return SimulatedKit(sensors, fs_hz=sim.fs_hz, seed=sim.seed + self._kits - 1, realtime=sim.realtime,
                            clock=self.clock, scenario=scenario, duration_s=duration_s)

    def check_source(self, placements: list[Placement]):
        """A source for the placement check (the client at rest)."""
        return self.source(placements, self.exercises[DEFAULT_EXERCISE], "rest")

    def calibration_run(self, client: Client, muscle: str) -> tuple[object, CalibrationProtocol]:
        """A source with the client doing MVC trials, and the protocol reading ``muscle``'s sensors."""
        from coach_tui.workflows.calibration_protocol import CalibrationProtocol

        placements = self.placements_for(client)
        rate = self.sensor_rate()
        sides = {p.side: p.sensor_id for p in placements if p.muscle == muscle and p.side}
        assigned = self.assignments(placements)
        columns = {side: assigned[sid].index(ChannelAssignment(muscle, side)) for side, sid in sides.items()}
        source = self.source(placements, self.exercises[DEFAULT_EXERCISE], "mvc")
        return source, CalibrationProtocol(rate, muscle, sides, self.config.analysis.dsp, self.config.mvc,
                                           self.envelope_sensors(), columns, self.config.analysis.peak)

    def live_monitor(self, client: Client, exercise: str | Exercise, scenario: str = "reps",
                     duration_s: float | None = None, placements: list[Placement] | None = None) -> LiveMonitor:
        """The kit as placed on ``client`` (or as ``placements`` say) streaming into a live monitor for
        ``exercise`` (a library key, or an exercise of its own: an A/B test's variation); the simulated
        kit does ``scenario`` for ``duration_s`` (None: endlessly). Its sets go into the client's visit."""
        from coach_tui.workflows.configured_sensors import device_units
        from coach_tui.workflows.live_monitor import LiveMonitor

        exercise = self.exercises[exercise] if isinstance(exercise, str) else exercise
        placements = placements if placements is not None else self.placements_for(client)
        rate = self.sensor_rate()
        source = self.source(placements, exercise, scenario, duration_s)
        keys = {p.assignment.key for p in placements}
        calibrations = {k: c for k, c in self.repo.latest_calibrations(client.id).items() if k in keys}
        label = f"simulated kit ({scenario})" if self.simulated else "bluetooth sensors"
        units = None if self.simulated else device_units(self.config)
        return LiveMonitor(source, rate, self.assignments(placements), client, exercise, self.config.analysis,
                           calibrations, self.config.sessions_dir, self.repo, label, self.envelope_sensors(), units,
                           sample_clock=self.clock is not None, visits=self.visits)

    def stale_calibrations(self, client: Client) -> dict[str, list[str]]:
        """Muscles whose calibration should be redone, with why (placement moved, too old)."""
        placed = {p.assignment.key: p for p in self.placements_for(client)}
        stale: dict[str, list[str]] = {}
        for key, calibration in self.repo.latest_calibrations(client.id).items():
            reason = calibration.staleness(now_utc(), placed.get(key), self.config.calibration.max_age_days)
            if reason:
                stale.setdefault(calibration.muscle, []).append(f"{calibration.label}: {reason}")
        return stale
