"""The recipe of a set: everything needed to analyse it again, stored in its recording's header."""

from __future__ import annotations

from dataclasses import dataclass, field

from coach_tui.domain.calibration import Calibration
from coach_tui.domain.channels import ChannelAssignment
from coach_tui.dsp.analysis_settings import AnalysisSettings, analysis_settings_from_dict, analysis_settings_to_dict
from coach_tui.dsp.mains import MainsDecision
from coach_tui.dsp.onsets import RestBaseline
from coach_tui.dsp.set_analysis import SetAnalyzer, SetLayout


@dataclass(frozen=True, slots=True)
class SetPlan:
    """Everything needed to analyse a set, stored in the recording's header so it can be redone.

    ``notches`` are the mains decisions by sensor id (see ``SetAnalyzer``): those known when the
    set starts, and those the set's own listening makes (the recorder stores them as they come
    and, at the end, "none" for sensors that never found hum), so a re-analysis notches at the
    same samples without listening again.
    """

    fs_hz: float
    layout: SetLayout
    settings: AnalysisSettings
    mvc: dict[str, float]
    rest: dict[str, RestBaseline]
    notches: dict[str, MainsDecision | None] = field(default_factory=dict)

    def analyzer(self, keep_envelopes: bool = False) -> SetAnalyzer:
        """A fresh analyzer for this plan (``keep_envelopes``: keep every envelope sample)."""
        return SetAnalyzer(self.fs_hz, self.layout, self.settings, self.mvc, self.rest, self.notches, keep_envelopes)

    def to_meta(self) -> dict:
        """JSON-safe form for the recording header."""
        return {
            "fs_hz": self.fs_hz,
            "layout": {sid: [[a.muscle, a.side] for a in assigned] for sid, assigned in self.layout.sensors.items()},
            "target": self.layout.target,
            "synergists": list(self.layout.synergists),
            "antagonists": list(self.layout.antagonists),
            "envelope_sensors": sorted(self.layout.envelope_sensors),
            "settings": analysis_settings_to_dict(self.settings),
            "mvc": self.mvc,
            "rest": {key: [b.mean, b.sd] for key, b in self.rest.items()},
            "notches": {sid: None if d is None else [d.at, d.mains_hz] for sid, d in self.notches.items()},
        }

    @classmethod
    def from_calibrations(
        cls,
        fs_hz: float,
        layout: SetLayout,
        settings: AnalysisSettings,
        calibrations: dict[str, Calibration],
        rest_otherwise: dict[str, RestBaseline] | None = None,
        notches: dict[str, MainsDecision | None] | None = None,
    ) -> SetPlan:
        """References and rest levels from the calibrations (the rest level in %MVC, as the set's
        envelopes of those channels are); uncalibrated channels take their rest level from
        ``rest_otherwise`` (e.g. the quietest moment before the set) when given."""
        rest = {**(rest_otherwise or {}), **{
            k: RestBaseline(c.rest_mean * 100.0 / c.reference, c.rest_sd * 100.0 / c.reference)
            for k, c in calibrations.items()
        }}
        return cls(fs_hz, layout, settings, {k: c.reference for k, c in calibrations.items()}, rest, dict(notches or {}))

    @classmethod
    def from_meta(cls, meta: dict, source: str) -> SetPlan:
        """Rebuild a plan from ``to_meta`` output."""
        layout = SetLayout(
            {sid: [ChannelAssignment(m, s) for m, s in assigned] for sid, assigned in meta["layout"].items()},
            meta["target"],
            tuple(meta["synergists"]),
            tuple(meta.get("antagonists", ())),
            frozenset(meta.get("envelope_sensors", ())),
        )
        return cls(
            float(meta["fs_hz"]),
            layout,
            analysis_settings_from_dict(meta["settings"], source),
            {k: float(v) for k, v in meta["mvc"].items()},
            {k: RestBaseline(float(m), float(sd)) for k, (m, sd) in meta["rest"].items()},
            {sid: None if d is None else MainsDecision(int(d[0]), float(d[1])) for sid, d in meta.get("notches", {}).items()},
        )
