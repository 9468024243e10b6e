"""The console's signal side: one source streaming into a live meter and, during a set, a recorder.

The UI reads ``view()`` on its refresh timer and calls ``start_set``/``stop_set``; nothing here
knows Textual. Sets go into the store exactly as `coach record` stores them.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from pathlib import Path

from coach_tui.domain.channels import ChannelAssignment
from coach_tui.domain.client import Client
from coach_tui.domain.exercises import Exercise
from coach_tui.domain.hysteresis_alert import GradeAlerts, HysteresisAlert, LinkAlert
from coach_tui.domain.ids import now_utc
from coach_tui.domain.session import RepMetrics, Session, SetRecord
from coach_tui.dsp.asymmetry import asymmetry_pct
from coach_tui.dsp.fatigue import set_fatigue
from coach_tui.dsp.live_meter import LiveMeter
from coach_tui.dsp.mains import MainsDecision
from coach_tui.dsp.quality import link_findings, worst
from coach_tui.dsp.quality_watch import QualityWatch
from coach_tui.dsp.analysis_settings import AnalysisSettings
from coach_tui.dsp.set_analysis import SetLayout
from coach_tui.dsp.set_plan import SetPlan
from coach_tui.workflows.set_recording import SetRecorder, begin_set
from coach_tui.sources.block_coalescer import BlockCoalescer
from coach_tui.sources.source_task import SourceTask
from coach_tui.store.recording_format import describe
from coach_tui.store.recordings import RecordingError
from coach_tui.store.repository import Repository

#: Seconds between gradings of each sensor's link (sample rate, lost samples, battery).
LINK_GRADE_EVERY_S = 4.0
#: Seconds a lost sensor must stream again before its alert clears (a flapping link stays flagged).
LINK_SETTLE_S = 1.5
#: Longest a sensor's samples wait to be processed when no screen asks for a view (seconds).
BATCH_SECONDS = 0.1


@dataclass(frozen=True, slots=True)
class ChannelView:
    """One bar: a muscle side's current value, recent peak, units, whether its sensor streams, and
    whether its electrode just popped."""

    assignment: ChannelAssignment
    value: float
    peak: float
    units: str
    streaming: bool
    pop: bool = False


@dataclass(frozen=True, slots=True)
class PairView:
    """Left and right of one muscle: asymmetry (%), the weaker side, and the alert state."""

    muscle: str
    asymmetry_pct: float | None
    weaker_side: str | None
    alert: bool


@dataclass(frozen=True, slots=True)
class LiveView:
    """Everything a live screen shows, at one instant."""

    channels: list[ChannelView]
    pairs: list[PairView]
    recording: bool
    set_seconds: float
    reps: list[RepMetrics] = field(default_factory=list)
    alerts: list[str] = field(default_factory=list)
    #: After a set: its fatigue verdicts in words (``dsp.fatigue.set_fatigue``).
    fatigue: list[str] = field(default_factory=list)


class LiveMonitor:
    """Streams a source into the live meter, and into a set recorder between start and stop.

    ``sample_clock`` times the lost-sensor alerts by the samples streamed instead of the wall clock
    (for tests and replays that stream faster than real time).
    """

    def __init__(
        self,
        source,
        fs_hz: float,
        sensors: dict[str, list[ChannelAssignment]],
        client: Client,
        exercise: Exercise,
        settings: AnalysisSettings,
        calibrations: dict,
        sessions_dir: Path,
        repo: Repository,
        source_label: str,
        envelope_sensors: frozenset[str] = frozenset(),
        device_units: dict[str, str] | None = None,
        sample_clock: bool = False,
    ):
        self.source = source
        self.fs_hz = fs_hz
        self.sensors = sensors
        self.client = client
        self.exercise = exercise
        self.settings = settings
        self.calibrations = calibrations
        self.mvc = {k: c.reference for k, c in calibrations.items()}
        self.calibration_ids = tuple(c.id for c in calibrations.values())
        self.sessions_dir = sessions_dir
        self.repo = repo
        self.source_label = source_label
        self.envelope_sensors = envelope_sensors
        self.device_units = device_units
        self.meter = LiveMeter(fs_hz, sensors, settings.dsp, self.mvc, envelope_sensors=envelope_sensors)
        self.session: Session | None = None
        self._set: SetRecord | None = None
        self._fatigue: list[str] = []
        self._recorder: SetRecorder | None = None
        self._alerts = {m: HysteresisAlert(settings.asymmetry_alert) for m in self._paired_muscles()}
        self._compensation = HysteresisAlert(settings.compensation_alert)
        self._cocontraction = HysteresisAlert(settings.cocontraction_alert)
        self._watches = {sid: QualityWatch(fs_hz, [a.label for a in assigned], settings.quality)
                         for sid, assigned in sensors.items() if sid not in envelope_sensors}
        self._link_quality = GradeAlerts()
        self._link_alerts = {sid: LinkAlert(LINK_SETTLE_S) for sid in sensors}
        self._sample_clock = sample_clock
        self._since_link_grade = 0
        self._streamed = dict.fromkeys(sensors, 0)  # samples per sensor, lost ones included
        self._arrived: dict[str, tuple[int, float]] = {}  # per sensor: end index and host time of its last block
        self._link_since: dict[str, tuple[int, int, int, float] | None] = {}  # counts at the last link grading
        self._interrupted: set[str] = set()  # sensors whose lost-sensor alert was up since then
        self._pair_state: dict[str, tuple[float | None, str | None]] = {m: (None, None) for m in self._alerts}
        self._window = 0
        self._problems: list[str] = []
        # Blocks are processed in batches: on each view (the screen's refresh) or every BATCH_SECONDS.
        self._batches = BlockCoalescer(max(1, round(BATCH_SECONDS * fs_hz)))
        self._stream = SourceTask(source, self.feed)

    def _paired_muscles(self) -> list[str]:
        sides: dict[str, set] = {}
        for _, a in self.meter.channels:
            sides.setdefault(a.muscle, set()).add(a.side)
        return [m for m, s in sides.items() if {"L", "R"} <= s]

    # -- streaming --------------------------------------------------------------------------

    def start(self) -> None:
        """Start streaming on the running asyncio loop."""
        self._stream.start()

    async def stop(self) -> None:
        """Stop streaming (a running set is ended and kept)."""
        if self._recorder is not None:
            self.stop_set()
        self.close_session()
        await self._stream.stop()

    def feed(self, block) -> None:
        """Take one block from the source (the stream task calls this; tests drive the monitor by samples with it)."""
        for batch in self._batches.add(block):
            self._process(batch)

    def _catch_up(self) -> None:
        """Process every block received so far."""
        for batch in self._batches.flush():
            self._process(batch)

    def _process(self, block) -> None:
        if self._recorder is None:
            self.meter.add(block.sensor_id, block.samples, block.gap_before)
        else:
            # During a set the bars show the set's own analysis of the stored samples.
            try:
                for rep in self._recorder.add(block):
                    self._on_rep(rep)
                self.meter.show(block.sensor_id, self._recorder.analyzer.latest_values)
            except RecordingError as error:
                self._problems.append(f"recording stopped: {error}")
                self.stop_set()
        self._streamed[block.sensor_id] = self._streamed.get(block.sensor_id, 0) + block.gap_before + block.n_samples
        self._arrived[block.sensor_id] = (block.end_index, block.t_host + block.n_samples / self.fs_hz)
        watch = self._watches.get(block.sensor_id)
        if watch is not None:
            watch.add(block.samples, block.gap_before)
        self._since_link_grade += block.n_samples
        if self._since_link_grade >= LINK_GRADE_EVERY_S * self.fs_hz * len(self.sensors):
            self._since_link_grade = 0
            self._grade_links()
        self._window += block.n_samples
        if self._recorder is None and self._window >= self.fs_hz * len(self.sensors):
            self._window = 0
            self._window_asymmetry()

    @property
    def stream_seconds(self) -> float:
        """Seconds of signal streamed so far (the furthest sensor, lost samples included)."""
        return max(self._streamed.values(), default=0) / self.fs_hz

    def _grade_links(self) -> None:
        """Every few seconds: each sensor's link since the last grading — its sample rate (device
        samples per host second), the share of samples lost, its battery. An interval in which
        the sensor was lost is not graded: the lost-sensor alert speaks for it."""
        names = {sid: assigned[0].label for sid, assigned in self.sensors.items()}
        for status in self.source.status():
            sid = status.sensor_id
            arrived = self._arrived.get(sid)
            now = None if arrived is None else (status.samples_received, status.samples_lost, *arrived)
            since, self._link_since[sid] = self._link_since.get(sid), now
            if sid in self._interrupted or not status.connected or since is None or now is None:
                self._interrupted.discard(sid)
                continue
            received, lost = now[0] - since[0], now[1] - since[1]
            seconds = now[3] - since[3]
            rate = (now[2] - since[2]) / seconds if seconds > 0 else None
            findings = link_findings(names.get(sid, sid), self.settings.quality, nominal_rate_hz=status.nominal_rate_hz,
                                     measured_rate_hz=rate, loss_fraction=lost / max(1, received + lost),
                                     battery_pct=status.battery_pct)
            grade = worst([level for level, _ in findings])
            self._link_quality.update(sid, grade, [reason for _, reason in findings])

    def _on_rep(self, rep: RepMetrics) -> None:
        if rep.target_share is not None:
            self._compensation.update((self.exercise.expected_target_share - rep.target_share) * 100)
        self._cocontraction.update(rep.cocontraction_pct)
        if rep.asymmetry_pct is not None or rep.side is None:
            for muscle, alert in self._alerts.items():
                if muscle == rep.muscle:
                    alert.update(rep.asymmetry_pct)

    def _window_asymmetry(self) -> None:
        """Between sets: asymmetry of the last second's peaks, with the noise floor."""
        peaks = {(a.muscle, a.side): p for (_, a), p in zip(self.meter.channels, self.meter.peaks)}
        floors = self.settings.floors
        for muscle, alert in self._alerts.items():
            left, right = peaks[(muscle, "L")], peaks[(muscle, "R")]
            floor = floors.asymmetry_pct_mvc if f"{muscle}:L" in self.mvc else None
            active = floor is None or max(left, right) > floor
            pct = asymmetry_pct(left, right) if active and max(left, right) > 0 else None
            alert.update(pct)
            self._pair_state[muscle] = (pct, None if pct is None else "L" if left < right else "R")

    # -- sets -------------------------------------------------------------------------------

    @property
    def recording(self) -> bool:
        """True while a set is being recorded."""
        return self._recorder is not None

    def _cannot_store(self, what: str, error: OSError) -> None:
        """A write the store refused (a full disk): one alert line; the console goes on."""
        problem = f"{what}: {error if isinstance(error, RecordingError) else describe(error)}"
        if problem not in self._problems:
            self._problems.append(problem)

    def start_set(self, load_kg: float | None = None, cue: str = "") -> SetRecord | None:
        """Begin recording a set (a session is opened on the first set); None when it cannot be
        stored (a full disk: said in the alerts)."""
        try:
            return self._start_set(load_kg, cue)
        except OSError as error:
            self._cannot_store("the set could not start", error)
            return None

    def _start_set(self, load_kg: float | None, cue: str) -> SetRecord:
        self._catch_up()
        if self.session is None:
            self.session = Session.opened(self.client.id, now_utc())
            self.repo.save_session(self.session)
        index = len(self.repo.sets(self.session.id)) + 1
        layout = SetLayout(self.sensors, self.exercise.target, self.exercise.synergists, self.exercise.antagonists,
                           self.envelope_sensors)
        # Rest levels: the calibration's where there is one, else the quietest moment before the set;
        # hum the live filters already notch is notched from the set's first sample.
        notches = {sid: MainsDecision(0, hz) for sid, hz in self.meter.notched().items()}
        plan = SetPlan.from_calibrations(self.fs_hz, layout, self.settings, self.calibrations, self.meter.rest(), notches)
        record, self._recorder = begin_set(self.repo, self.sessions_dir, self.session, index, self.exercise.key, plan,
                                           self.calibration_ids, self.source_label, load_kg=load_kg, cue=cue,
                                           device_units=self.device_units)
        self._set = record
        self._fatigue = []
        for alert in (*self._alerts.values(), self._compensation, self._cocontraction):
            alert.update(None)
        return record

    def stop_set(self, perceived_activation: int | None = None) -> SetRecord | None:
        """End the set, store its reps; returns the stored set."""
        if self._recorder is None or self._set is None:
            return None
        self._catch_up()
        if self._recorder is None:  # the last samples hit a recording error and ended the set
            return self._set
        recorder, record = self._recorder, self._set
        self._recorder = None
        for rep in recorder.finish():  # the last rep, when the set was stopped right after it
            self._on_rep(rep)
        try:
            recorder.close()
        except RecordingError as error:
            # What was flushed is kept; the session stays open, so the next start recovers the file.
            self._problems.append(f"the end of the set could not be saved: {error}")
        analyzer = recorder.analyzer
        self.meter.adopt(analyzer.pipelines)
        seconds = analyzer.samples_aligned / self.fs_hz
        record = replace(record, duration_s=seconds, reps=tuple(analyzer.reps), perceived_activation=perceived_activation)
        self._set = record
        try:
            self.repo.save_set(record)
        except OSError as error:  # the session stays open: the next start recovers the set from its file
            self._cannot_store("the set's reps could not be saved (recovered when coach next starts)", error)
        self._fatigue = ([analyzer.fatigue_unavailable] if analyzer.fatigue_unavailable else
                         set_fatigue(record.reps, self.settings.fatigue).lines()
                         or ["fatigue: no trend (fewer than 3 reps with a median frequency)"])
        return record

    def close_session(self) -> None:
        """Mark the session complete (it stays "recording" while the console is open, so a crash
        in between is recovered on the next start)."""
        if self.session is not None and self.session.status == "recording":
            closed = replace(self.session, status="complete", ended=now_utc())
            try:
                self.repo.save_session(closed)
            except OSError as error:  # stays "recording": recovered when coach next starts
                self._cannot_store("the session could not be closed", error)
                return
            self.session = closed

    def rate_set(self, perceived_activation: int) -> None:
        """Store the client's perceived activation (1–10) for the last set."""
        if self._set is not None:
            self._set = replace(self._set, perceived_activation=perceived_activation)
            try:
                self.repo.save_set(self._set)
            except OSError as error:
                self._cannot_store("the rating could not be saved", error)

    # -- the simulated kit ------------------------------------------------------------------

    def steer(self, what: str) -> str:
        """Toggle a simulated condition so a demo shows every alert; returns what changed, in words."""
        kit = self.source
        flags = kit.flags
        first = kit.sensors[0].sensor_id
        if what == "compensate":
            kit.steer(compensate=not flags.compensate)
            return "client compensates (synergist does the work)" if not flags.compensate else "compensation off"
        if what == "cocontract":
            if not any(a.muscle in self.exercise.antagonists for _, a in self.meter.channels):
                muscles = " or ".join(m.replace("_", " ") for m in self.exercise.antagonists) or "none for this exercise"
                return (f"no antagonist sensor placed ({muscles}): co-contraction needs one "
                        "(more sensors: [simulation] sensors = 8 in config.toml)")
            kit.steer(cocontract=not flags.cocontract)
            return "antagonist co-contracts" if not flags.cocontract else "co-contraction off"
        if what == "left_deficit":
            kit.steer(left_deficit_pct=0.0 if flags.left_deficit_pct else 30.0)
            return "left side 30 % weaker" if not flags.left_deficit_pct else "left deficit off"
        if what == "fatigue":
            kit.steer(fatigue=not flags.fatigue)
            return "fatigue building" if not flags.fatigue else "fatigue off (recovering)"
        if what == "electrode_pop":
            kit.steer(electrode_pop=first)
            return f"electrode pop on {first}"
        if what == "drop_sensor":
            kit.steer(lost_sensor=None if flags.lost_sensor else first)
            return f"{first} lost" if not flags.lost_sensor else f"{first} reconnected"
        raise ValueError(f"unknown simulated condition {what!r}")

    # -- the view ---------------------------------------------------------------------------

    def view(self) -> LiveView:
        """A snapshot for the screen (after processing every block received so far)."""
        self._catch_up()
        streaming = {s.sensor_id: s.connected for s in self.source.status()}
        now = self.stream_seconds if self._sample_clock else time.monotonic()
        lost = {sid for sid, alert in self._link_alerts.items() if alert.update(streaming.get(sid, True), now)}
        self._interrupted |= lost
        popping = {sid: watch.popping for sid, watch in self._watches.items()}
        channels, position = [], {}
        for (sid, a), v, p, u in zip(self.meter.channels, self.meter.values, self.meter.peaks, self.meter.units):
            k = position[sid] = position.get(sid, -1) + 1
            pop = bool(popping[sid][k]) if sid in popping else False
            channels.append(ChannelView(a, float(v), float(p), u, streaming.get(sid, True), pop))
        recorder = self._recorder
        reps = list(recorder.analyzer.reps) if recorder else list(self._set.reps) if self._set else []
        pairs = []
        for muscle, alert in self._alerts.items():
            pct, weaker = self._pair_state[muscle]
            rep_pcts = [r for r in reps if r.muscle == muscle and r.asymmetry_pct is not None]
            if rep_pcts:
                pct, weaker = rep_pcts[-1].asymmetry_pct, rep_pcts[-1].weaker_side
            pairs.append(PairView(muscle, pct, weaker, alert.active))
        alerts = list(self._problems)
        for pair in pairs:
            if pair.alert:
                side = "left" if pair.weaker_side == "L" else "right"
                alerts.append(f"{pair.muscle.replace('_', ' ')}: {pair.asymmetry_pct:.0f} % asymmetry, {side} weaker")
        if self._compensation.active and reps and reps[-1].target_share is not None:
            alerts.append(
                f"compensation: target share {reps[-1].target_share:.0%} (expected ≥ {self.exercise.expected_target_share:.0%})"
            )
        if self._cocontraction.active and reps and reps[-1].cocontraction_pct is not None:
            antagonist = self.exercise.antagonists[0].replace("_", " ")
            alerts.append(f"co-contraction with the {antagonist}: {reps[-1].cocontraction_pct:.0f} % (Winter index)")
        quality = [r for watch in self._watches.values() for r in watch.reasons] + self._link_quality.reasons
        alerts += [f"signal: {reason}" for reason in quality]
        for (sid, assignment), channel in zip(self.meter.channels, channels):
            if sid in lost:
                state = "sensor lost — reconnecting" if not channel.streaming else "sensor back — watching the link"
                alerts.append(f"{assignment.label}: {state}")
        seconds = recorder.analyzer.samples_aligned / self.fs_hz if recorder else 0.0
        return LiveView(channels, pairs, recorder is not None, seconds, reps, alerts,
                        [] if recorder else list(self._fatigue))
