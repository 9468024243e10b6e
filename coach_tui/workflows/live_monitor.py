"""A set's life cycle and the live signal around it: one source streaming into a live meter and,
during a set, a recorder — for the console and ``coach record`` alike.

A front end reads ``view()`` (a ``LiveView``) on its own clock and calls ``start_set``/``stop_set``;
nothing here knows Textual. Sets go into the client's visit (``Visits``); a lost sensor never stops a set (see
``SetRecorder``).
"""

from __future__ import annotations

import math
import time
from dataclasses import replace
from pathlib import Path

from coach_tui.domain.channels import ChannelAssignment
from coach_tui.domain.client import Client
from coach_tui.domain.exercises import Exercise
from coach_tui.domain.hysteresis_alert import GradeAlerts, HysteresisAlert, LinkAlert
from coach_tui.domain.session import RepMetrics, SetRecord, complete_reps
from coach_tui.dsp.asymmetry import asymmetry_pct
from coach_tui.dsp.fatigue import set_fatigue
from coach_tui.dsp.live_meter import LiveMeter
from coach_tui.dsp.mains import MainsDecision
from coach_tui.dsp.quality import link_findings, worst
from coach_tui.dsp.quality_watch import QualityWatch
from coach_tui.dsp.analysis_settings import AnalysisSettings
from coach_tui.dsp.set_analysis import SetLayout
from coach_tui.dsp.set_plan import SetPlan
from coach_tui.workflows.demo_steering import steer_demo
from coach_tui.workflows.live_view import ChannelView, LiveView, PairView
from coach_tui.workflows.set_readiness import unmeasured, why_no_reps
from coach_tui.workflows.set_recording import SetRecorder, begin_set
from coach_tui.workflows.visits import Visits
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


class LiveMonitor:
    """Streams a source into the live meter, and into a set recorder between start and stop.

    ``visits`` says which session a set goes into (default: one visit of this monitor's own).
    ``sample_clock`` times the lost-sensor alerts by the samples streamed instead of the wall clock
    (for tests and replays that stream faster than real time, or on a stepped clock).
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
        visits: Visits | None = None,
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
        self.visits = visits or Visits(repo, 60.0)
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
        self._lost: frozenset[str] = frozenset()  # sensors whose link is down, as last looked up
        self._since_links = 0
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
        await self._stream.stop()

    @property
    def finished(self) -> bool:
        """True once the source has ended (a simulated kit of fixed length, a closed source)."""
        return self._stream.done

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
                for rep in self._recorder.add(block, self._lost_links(block.n_samples)):
                    self._on_rep(rep)
                for sensor_id, values, lost in self._recorder.latest:
                    self.meter.show(sensor_id, values, lost)
            except RecordingError as error:
                self.stop_set(problem=str(error))
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
        if self._window >= self.fs_hz * len(self.sensors):
            self._window = 0
            self._window_asymmetry()

    def _lost_links(self, n_samples: int) -> frozenset[str]:
        """Sensors whose link is down, looked up again every ``BATCH_SECONDS`` of samples."""
        self._since_links += n_samples
        if self._since_links >= BATCH_SECONDS * self.fs_hz * len(self.sensors):
            self._since_links = 0
            self._lost = frozenset(s.sensor_id for s in self.source.status() if not s.connected)
        return self._lost

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
        if rep.incomplete:  # a sensor was lost during the rep: nothing it measured raises an alert
            return
        if rep.target_share is not None:
            self._compensation.update((self.exercise.expected_target_share - rep.target_share) * 100)
        self._cocontraction.update(rep.cocontraction_pct)
        if rep.asymmetry_pct is not None or rep.side is None:
            for muscle, alert in self._alerts.items():
                if muscle == rep.muscle:
                    alert.update(rep.asymmetry_pct)

    def _window_asymmetry(self) -> None:
        """Each pair's asymmetry over the last window (1 s mean of each side, the same stretch of time),
        only where a side is above the noise floor and both sensors stream; during a set, the
        target's comes from its reps."""
        column = {(a.muscle, a.side): k for k, (_, a) in enumerate(self.meter.channels)}
        sensor = {(a.muscle, a.side): sid for sid, a in self.meter.channels}
        rest = self.meter.rest()
        floors = self.settings.floors
        lost = {s.sensor_id for s in self.source.status() if not s.connected}
        for muscle, alert in self._alerts.items():
            if self._recorder is not None and muscle == self.exercise.target:
                continue
            left, right = self.meter.window_means([column[(muscle, "L")], column[(muscle, "R")]], floors.window_s)
            if f"{muscle}:L" in self.mvc and f"{muscle}:R" in self.mvc:
                floor = floors.asymmetry_pct_mvc
            elif f"{muscle}:L" not in self.mvc and f"{muscle}:R" not in self.mvc and {f"{muscle}:L", f"{muscle}:R"} <= set(rest):
                floor = floors.uncalibrated_pair_factor * min(rest[f"{muscle}:L"].mean, rest[f"{muscle}:R"].mean)
            else:
                floor = math.inf  # one side in %MVC and one in µV, or no rest level yet: not comparable
            streaming = not ({sensor[(muscle, "L")], sensor[(muscle, "R")]} & lost)
            active = streaming and not math.isnan(left) and not math.isnan(right) and max(left, right) > floor
            pct = asymmetry_pct(left, right) if active else None
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

    def start_set(self, load_kg: float | None = None, cue: str = "", seconds: float | None = None) -> SetRecord | None:
        """Begin recording a set into the client's visit (of ``seconds`` exactly when given: samples
        after that are not recorded); None when it cannot be stored (a full disk: said in the alerts)."""
        try:
            return self._start_set(load_kg, cue, seconds)
        except OSError as error:
            self._cannot_store("the set could not start", error)
            return None

    def _start_set(self, load_kg: float | None, cue: str, seconds: float | None) -> SetRecord:
        self._catch_up()
        session = self.visits.session(self.client.id)
        index = self.visits.next_set_number(session)
        layout = SetLayout(self.sensors, self.exercise.target, self.exercise.synergists, self.exercise.antagonists,
                           self.envelope_sensors)
        # Rest levels: the calibration's where there is one, else the quietest moment before the set;
        # hum the live filters already notch is notched from the set's first sample.
        notches = {sid: MainsDecision(0, hz) for sid, hz in self.meter.notched().items()}
        plan = SetPlan.from_calibrations(self.fs_hz, layout, self.settings, self.calibrations, self.meter.rest(), notches)
        record, self._recorder = begin_set(self.repo, self.sessions_dir, session, index, self.exercise.key, plan,
                                           self.calibration_ids, self.source_label, load_kg=load_kg, cue=cue,
                                           device_units=self.device_units,
                                           max_samples=None if seconds is None else round(seconds * self.fs_hz))
        self._set = record
        self._fatigue = []
        for alert in (*self._alerts.values(), self._compensation, self._cocontraction):
            alert.update(None)
        return record

    def stop_set(self, perceived_activation: int | None = None, problem: str | None = None) -> SetRecord | None:
        """End the set and store it with its reps; returns the stored set. After a write error
        (``problem``) what reached the disk is kept, and the view says so."""
        if self._recorder is None or self._set is None:
            return None
        if problem is None:
            self._catch_up()
        if self._recorder is None:  # the last samples hit a recording error and ended the set
            return self._set
        recorder, record = self._recorder, self._set
        self._recorder = None
        analyzer = recorder.analyzer
        self.meter.adopt(analyzer.pipelines)
        seen = len(analyzer.reps)
        finished = recorder.finish(problem)
        for rep in finished.reps[seen:] if finished.problem is None else ():
            self._on_rep(rep)  # the last rep, when the set was stopped right after it
        if finished.problem is not None:
            self._problems.append(f"recording stopped: {finished.problem} — the set stopped after "
                                  f"{finished.seconds:.1f} s; what was written is kept")
        record = replace(record, duration_s=finished.seconds, reps=tuple(finished.reps),
                         perceived_activation=perceived_activation)
        self._set = record
        try:
            self.repo.save_set(record)
        except OSError as error:  # the session stays open: the next start recovers the set from its file
            self._cannot_store("the set's reps could not be saved (recovered when coach next starts)", error)
        self._fatigue = ([analyzer.fatigue_unavailable] if analyzer.fatigue_unavailable else
                         set_fatigue(complete_reps(record.reps), self.settings.fatigue).lines()
                         or ["fatigue: no trend (fewer than 3 reps with a median frequency)"])
        return record

    def unmeasured(self) -> list[str]:
        """What this exercise cannot measure with the sensors placed, in words (empty: everything)."""
        return unmeasured(self.exercise, {a.muscle for _, a in self.meter.channels})

    def why_no_reps(self, seconds: float) -> str:
        """Why a set of ``seconds`` found no rep, in words a trainer acts on."""
        layout = SetLayout(self.sensors, self.exercise.target, envelope_sensors=self.envelope_sensors)
        settled = SetPlan(self.fs_hz, layout, self.settings, {}, {}).analyzer().settled_at
        first = (settled + round(self.settings.onsets.baseline_window_ms * self.fs_hz / 1000)) / self.fs_hz
        return why_no_reps(self.exercise, {a.muscle for _, a in self.meter.channels}, seconds, first)

    @property
    def problems(self) -> list[str]:
        """What went wrong with recording (write errors), in words."""
        return list(self._problems)

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
        return steer_demo(self.source, what, self.exercise, {a.muscle for _, a in self.meter.channels})

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
        measured = complete_reps(reps)
        pairs = []
        away = {c.assignment.muscle for c in channels if not c.streaming}
        for muscle, alert in self._alerts.items():
            pct, weaker = self._pair_state[muscle]
            if recorder is not None and muscle == self.exercise.target:
                rep_pcts = [r for r in measured if r.muscle == muscle and r.asymmetry_pct is not None]
                pct, weaker = (rep_pcts[-1].asymmetry_pct, rep_pcts[-1].weaker_side) if rep_pcts else (None, None)
            if muscle in away:  # one side is lost: nothing to compare now
                pct, weaker = None, None
            pairs.append(PairView(muscle, pct, weaker, alert.active and pct is not None))
        alerts = list(self._problems)
        for pair in pairs:
            if pair.alert:
                side = "left" if pair.weaker_side == "L" else "right"
                alerts.append(f"{pair.muscle.replace('_', ' ')}: {pair.asymmetry_pct:.0f} % asymmetry, {side} weaker")
        last = measured[-1] if measured else None
        if self._compensation.active and last is not None and last.target_share is not None:
            alerts.append(
                f"compensation: target share {last.target_share:.0%} (expected ≥ {self.exercise.expected_target_share:.0%})"
            )
        if self._cocontraction.active and last is not None and last.cocontraction_pct is not None:
            antagonist = self.exercise.antagonists[0].replace("_", " ")
            alerts.append(f"co-contraction with the {antagonist}: {last.cocontraction_pct:.0f} % (Winter index)")
        quality = [r for watch in self._watches.values() for r in watch.reasons] + self._link_quality.reasons
        alerts += [f"signal: {reason}" for reason in quality]
        for (sid, assignment), channel in zip(self.meter.channels, channels):
            if sid in lost:
                state = "sensor lost — reconnecting" if not channel.streaming else "sensor back — watching the link"
                alerts.append(f"{assignment.label}: {state}")
        seconds = recorder.seconds if recorder else 0.0
        return LiveView(channels, pairs, recorder is not None, seconds, reps, alerts,
                        [] if recorder else list(self._fatigue))
