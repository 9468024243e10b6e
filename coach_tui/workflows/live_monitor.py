"""The console's signal side: one source streaming into a live meter and, during a set, a recorder.

The UI reads ``view()`` on its refresh timer and calls ``start_set``/``stop_set``; nothing here
knows Textual. Sets go into the store exactly as `coach record` stores them.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

from coach_tui.domain.channels import ChannelAssignment
from coach_tui.domain.client import Client
from coach_tui.domain.exercises import Exercise
from coach_tui.domain.hysteresis_alert import GradeAlert, HysteresisAlert, LinkAlert
from coach_tui.domain.ids import now_utc
from coach_tui.domain.session import RepMetrics, Session, SetRecord
from coach_tui.dsp.asymmetry import asymmetry_pct
from coach_tui.dsp.live_meter import LiveMeter
from coach_tui.dsp.analysis_settings import AnalysisSettings
from coach_tui.dsp.set_analysis import SetLayout
from coach_tui.workflows.sensor_check import RecentSamples, grade_sensors
from coach_tui.dsp.set_plan import SetPlan
from coach_tui.workflows.set_recording import SetRecorder, begin_set
from coach_tui.sources.block_coalescer import BlockCoalescer
from coach_tui.sources.source_task import SourceTask
from coach_tui.store.recording_format import describe
from coach_tui.store.recordings import RecordingError
from coach_tui.store.repository import Repository

#: Seconds of raw signal graded for the live signal-quality alert …
QUALITY_SECONDS = 2.0
#: … every this many seconds (a loose electrode or hum is named within a few seconds).
QUALITY_EVERY_S = 4.0
#: Seconds a lost sensor must stream again before its alert clears (a flapping link stays flagged).
LINK_SETTLE_S = 2.0
#: Longest a sensor's samples wait to be processed when no screen asks for a view (seconds).
BATCH_SECONDS = 0.1


@dataclass(frozen=True, slots=True)
class ChannelView:
    """One bar: a muscle side's current value, recent peak, units, and whether its sensor streams."""

    assignment: ChannelAssignment
    value: float
    peak: float
    units: str
    streaming: bool


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


class LiveMonitor:
    """Streams a source into the live meter, and into a set recorder between start and stop."""

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
        self._recorder: SetRecorder | None = None
        self._alerts = {m: HysteresisAlert(settings.asymmetry_alert) for m in self._paired_muscles()}
        self._compensation = HysteresisAlert(settings.compensation_alert)
        self._cocontraction = HysteresisAlert(settings.cocontraction_alert)
        self._recent = RecentSamples(QUALITY_SECONDS, fs_hz)
        self._quality: list[str] = []
        self._quality_alerts: dict[tuple[str, int], GradeAlert] = {}
        self._quality_reasons: dict[tuple[str, int], list[str]] = {}
        self._link_alerts = {sid: LinkAlert(LINK_SETTLE_S) for sid in sensors}
        self._grading: asyncio.Future | None = None
        self._since_quality = 0
        self._pair_state: dict[str, tuple[float | None, str | None]] = {m: (None, None) for m in self._alerts}
        self._window = 0
        self._problems: list[str] = []
        # Blocks are processed in batches: on each view (the screen's refresh) or every BATCH_SECONDS.
        self._batches = BlockCoalescer(max(1, round(BATCH_SECONDS * fs_hz)))
        self._stream = SourceTask(source, self._on_block)

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

    def _on_block(self, block) -> None:
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
        self._recent.add(block)
        self._since_quality += block.n_samples
        if self._since_quality >= QUALITY_EVERY_S * self.fs_hz * len(self.sensors):
            self._since_quality = 0
            self._grade_signals()
        self._window += block.n_samples
        if self._recorder is None and self._window >= self.fs_hz * len(self.sensors):
            self._window = 0
            self._window_asymmetry()

    def _grade_signals(self) -> None:
        """Every few seconds: which channels a trainer should fix now (bad quality), in words.

        Grading takes tens of milliseconds, so it runs in a worker thread on a copy of the last
        samples; the alert changes when it is done. A grading still running is not doubled."""
        if self._grading is not None and not self._grading.done():
            return
        names = {sid: assigned[0].label for sid, assigned in self.sensors.items()}
        received, statuses = self._recent.received(), self.source.status()
        settings = self.settings
        mains = self.meter.mains_hz
        if mains is not None:  # the live filters have decided; no need to listen for it again
            filters = replace(settings.dsp.filters, mains=f"{mains:g}")
            settings = replace(settings, dsp=replace(settings.dsp, filters=filters))

        def grade() -> list[tuple[tuple[str, int], str, list[str]]]:
            report = grade_sensors(received, statuses, names, settings, QUALITY_SECONDS, simulated=True,
                                   envelope_sensors=self.envelope_sensors)
            return [((s.status.sensor_id, k), c.status, c.reasons) for s in report.sensors for k, c in enumerate(s.channels)]

        self._grading = asyncio.get_running_loop().run_in_executor(None, grade)
        self._grading.add_done_callback(self._graded)

    def _graded(self, grading: asyncio.Future) -> None:
        """Raise a channel's alert when it grades bad, keep it through warn, clear it at ok."""
        if grading.cancelled() or grading.exception() is not None:
            return
        for key, status, reasons in grading.result():
            if self._quality_alerts.setdefault(key, GradeAlert()).update(status):
                self._quality_reasons[key] = reasons or self._quality_reasons.get(key, [])
            else:
                self._quality_reasons.pop(key, None)
        self._quality = [f"signal: {r}" for reasons in self._quality_reasons.values() for r in reasons]

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
        # Rest levels: the calibration's where there is one, else the quietest moment before the set.
        plan = SetPlan.from_calibrations(self.fs_hz, layout, self.settings, self.calibrations, self.meter.rest())
        record, self._recorder = begin_set(self.repo, self.sessions_dir, self.session, index, self.exercise.key, plan,
                                           self.calibration_ids, self.source_label, load_kg=load_kg, cue=cue,
                                           device_units=self.device_units)
        self._set = record
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
        now = time.monotonic()
        lost = {sid for sid, alert in self._link_alerts.items() if alert.update(streaming.get(sid, True), now)}
        channels = [
            ChannelView(a, float(v), float(p), u, streaming.get(sid, True))
            for (sid, a), v, p, u in zip(self.meter.channels, self.meter.values, self.meter.peaks, self.meter.units)
        ]
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
        alerts += self._quality
        for (sid, assignment), channel in zip(self.meter.channels, channels):
            if sid in lost:
                state = "sensor lost — reconnecting" if not channel.streaming else "sensor back — watching the link"
                alerts.append(f"{assignment.label}: {state}")
        seconds = recorder.analyzer.samples_aligned / self.fs_hz if recorder else 0.0
        return LiveView(channels, pairs, recorder is not None, seconds, reps, alerts)
