"""History aggregation and the progression gate, against a small client history whose numbers are known.

``ana_history()`` and ``store_history()`` are reused by the report and history-screen tests.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from coach_tui.domain.ab_variations import variation_names
from coach_tui.domain.abtest import ABTest, counterbalanced_order
from coach_tui.domain.calibration import Calibration
from coach_tui.domain.client import Client
from coach_tui.domain.exercises import EXERCISES, Exercise
from coach_tui.domain.placement import Placement
from coach_tui.domain.perceived_agreement import spearman_rho
from coach_tui.domain.progress import client_progress, summarise_reps
from coach_tui.domain.progression import ProgressionSettings, SetEvidence, progression_gate
from coach_tui.domain.session import RepMetrics, Session, SetRecord
from coach_tui.statistics.ab_statistics import analyze_named, record_verdict

CLIENT = Client("c-20250301-aaaaaa", "Ana Díaz", "R", created=datetime(2025, 2, 1, tzinfo=UTC))


def at(day: int, hour: int = 12, month: int = 3) -> datetime:
    return datetime(2025, month, day, hour, tzinfo=UTC)


def rep(peak, mean, asym=None, share=None, weaker=None, units="%MVC", muscle="glute_max", index=1) -> RepMetrics:
    return RepMetrics(index, 1.0, 2.0, peak, mean, 0.4, units, muscle, None, asym, share, weaker_side=weaker)


def calibration(cid: str, side: str, reference: float, when: datetime) -> Calibration:
    return Calibration(cid, CLIENT.id, "glute_max", side, reference, "µV", (reference,), 5.0, 1.0, when,
                       Placement("glute_max", side, f"s-{side}"))


def a_set(session: Session, index: int, exercise: str, reps, perceived=None, cals=("cal-L1", "cal-R1")) -> SetRecord:
    return SetRecord(f"{session.id}-{index}", session.id, index, exercise, session.started.replace(minute=index),
                     duration_s=30.0, load_kg=60.0, perceived_activation=perceived, reps=tuple(reps),
                     calibration_ids=cals)


#: Peaks (%MVC) of the A/B test's sets, A B B A: glute bridge 62 ± 3.7, hip thrust 78 ± 4.8 (mean ± SD).
AB_PEAKS = ((58, 66), (81, 73), (75, 83), (64, 60))


def ab_test(session: Session, variations=("glute_bridge", "hip_thrust"), peaks_per_set=AB_PEAKS,
            test_id="ab-1") -> ABTest:
    """A finished test of ``variations`` in ``session`` (default: glute bridge A vs hip thrust B), built
    as the A/B screen builds it: the reps of each planned set (``peaks_per_set``, mean = 0.6 × peak)
    through ``ABTest.with_set`` with a median frequency falling 8 Hz a set, then the verdict and
    warnings of ``analyze_named``. Its sets are not among the history's sets, so the activation
    numbers stay those of the plain hip-thrust sets."""
    order = counterbalanced_order(len(variations), len(peaks_per_set) // len(variations))
    test = ABTest(test_id, CLIENT.id, "glute_max", variations, order, session.started.replace(hour=14))
    for position, peaks in enumerate(peaks_per_set):
        reps = tuple(rep(peak, round(peak * 0.6, 1), index=i + 1) for i, peak in enumerate(peaks))
        record = SetRecord(f"ab-set-{position}", session.id, 10 + position, test.planned_sets[position],
                           test.created.replace(minute=5 * position), reps=reps)
        test = test.with_set(position, record, [120.0 - 8.0 * position - i for i in range(len(peaks))])
    return record_verdict(test, analyze_named(test, variation_names(test.variations, test.target_muscle, EXERCISES)))


def ana_history() -> dict:
    """Three hip-thrust sessions (one more set of back squat in µV, one set without reps), a new left
    glute reference before the third session, and one finished A/B test (:func:`ab_test`)."""
    s1, s2, s3 = (Session(f"s-{d}", CLIENT.id, at(d), at(d, 13), "complete", f"s-{d}") for d in (1, 8, 15))
    sets = [
        a_set(s1, 0, "hip_thrust", [rep(50, 30, 20, 0.5, "L"), rep(60, 34, 10, 0.6, "L")], perceived=5),
        a_set(s1, 1, "hip_thrust", [rep(64, 40, 12, None, "R")], perceived=6),
        a_set(s2, 0, "hip_thrust", [rep(72, 44, 8, 0.7, "L"), rep(76, 46, 6, 0.7, "L")], perceived=7),
        a_set(s3, 0, "hip_thrust", [rep(80, 50, 5), rep(74, 48, 7)], perceived=9, cals=("cal-L2", "cal-R1")),
        a_set(s3, 1, "hip_thrust", [rep(78, 52)], perceived=8, cals=("cal-L2", "cal-R1")),
        a_set(s3, 2, "back_squat", [rep(210, 120, units="µV", muscle="vastus_lateralis")], cals=()),
        a_set(s3, 3, "hip_thrust", [], cals=("cal-L2", "cal-R1")),
    ]
    calibrations = [calibration("cal-L1", "L", 400.0, at(1, 10)), calibration("cal-R1", "R", 380.0, at(1, 10)),
                    calibration("cal-L2", "L", 328.0, at(15, 10))]
    return {"client": CLIENT, "sessions": [s1, s2, s3], "sets": sets, "calibrations": calibrations,
            "ab_tests": [ab_test(s3)]}


def store_history(repo) -> dict:
    """Save ``ana_history()`` into ``repo``; return it."""
    history = ana_history()
    repo.add_client(history["client"])
    for c in history["calibrations"]:
        repo.add_calibration(c)
    for s in history["sessions"]:
        repo.save_session(s)
    for record in history["sets"]:
        repo.save_set(record)
    for test in history["ab_tests"]:
        repo.save_abtest(test)
    return history


@pytest.fixture
def progress():
    h = ana_history()
    return client_progress(h["client"], h["sessions"], h["sets"], h["calibrations"], h["ab_tests"], window=3)


# --- aggregation -------------------------------------------------------------------------------


def test_session_series_of_the_target(progress):
    (series,) = progress.series
    assert (series.exercise, series.muscle, series.side) == ("hip_thrust", "glute_max", None)
    assert series.label == "Hip thrust · glute max"
    assert [p.session_id for p in series.points] == ["s-1", "s-8", "s-15"]
    assert [p.sets for p in series.points] == [2, 1, 2]
    first, second, third = (p.summary for p in series.points)
    assert (first.reps, first.peak_pct, first.mean_pct) == (3, pytest.approx(58.0), pytest.approx(104 / 3))
    assert first.asymmetry_pct == pytest.approx(14.0) and first.weaker_side == "L"
    assert first.target_share == pytest.approx(0.55)
    assert (second.peak_pct, second.mean_pct, second.asymmetry_pct, second.target_share) == (74, 45, 7, 0.7)
    assert third.peak_pct == pytest.approx(232 / 3) and third.mean_pct == 50
    assert third.asymmetry_pct == 6 and third.target_share is None and third.weaker_side is None
    assert [p.reference_changed for p in series.points] == [False, False, True]


def test_left_out_sets_are_counted_and_said(progress):
    assert (progress.sets_recorded, progress.sets_without_reps, progress.sets_uncalibrated) == (7, 1, 1)
    assert progress.left_out == "left out: 1 set in µV (target not calibrated), 1 set without detected reps"
    assert progress.exercise_names == {"hip_thrust": "Hip thrust", "back_squat": "Back squat"}


def test_reps_during_which_a_sensor_was_lost_are_left_out_of_every_number():
    lost = RepMetrics(2, 3.0, 4.0, 99.0, 90.0, 0.4, "%MVC", "glute_max", None, lost_sensors=("left glute max",))
    assert summarise_reps([rep(40, 20, 10), lost]) == summarise_reps([rep(40, 20, 10)])
    assert summarise_reps([lost]) is None
    h = ana_history()
    session = h["sessions"][0]
    only_lost = a_set(session, 5, "hip_thrust", [lost])
    progress = client_progress(h["client"], h["sessions"], [*h["sets"], only_lost], h["calibrations"])
    assert progress.sets_without_reps == 2  # a set whose every rep was incomplete measured nothing
    assert [line.incomplete for line in progress.set_lines if line.incomplete] == [1]


def test_summarise_reps_ignores_reps_in_microvolts():
    assert summarise_reps([rep(200, 100, units="µV")]) is None
    assert summarise_reps([rep(200, 100, units="µV"), rep(40, 20)]).peak_pct == 40


def test_perceived_vs_measured_and_spearman(progress):
    assert [(r.perceived, round(r.measured_pct)) for r in progress.rated] == [(5, 55), (6, 64), (7, 74), (9, 77), (8, 78)]
    # Ranks 1 2 3 5 4 against 1 2 3 4 5: Σd² = 2, ρ = 1 − 6·2 / (5·(25 − 1)) = 0.9.
    assert progress.agreement.rho == pytest.approx(0.9) and progress.agreement.n == 5
    assert [r.ended for r in progress.rolling] == [at(8), at(15), at(15).replace(minute=1)]
    assert [r.agreement.rho for r in progress.rolling] == pytest.approx([1.0, 1.0, 0.5])


def test_spearman_with_ties_and_too_little_data():
    # Ranks of x with a tie: 1, 2.5, 2.5, 4 → Pearson with 1..4 = 4.5 / √(4.5 · 5).
    assert spearman_rho([1, 2, 2, 3], [1, 2, 3, 4]).rho == pytest.approx(4.5 / (4.5 * 5) ** 0.5)
    assert spearman_rho([3, 2, 1], [1, 2, 3]).rho == pytest.approx(-1.0)
    short = spearman_rho([1, 2], [1, 2])
    assert short.rho is None and short.reason == "needs at least 3 rated sets, has 2"
    flat = spearman_rho([5, 5, 5], [1, 2, 3])
    assert flat.rho is None and "no spread" in flat.reason


def test_calibrations_over_time(progress):
    left, right = progress.calibrations
    assert (left.key, left.label, right.key) == ("glute_max:L", "left glute max", "glute_max:R")
    assert [p.reference for p in left.points] == [400.0, 328.0]
    assert left.points[0].change_pct is None and left.points[1].change_pct == pytest.approx(-18.0)
    assert [p.recorded for p in left.points] == [at(1, 10), at(15, 10)]


def test_ab_tests_keep_the_stored_reps_and_the_screens_names(progress):
    (summary,) = progress.ab_tests
    assert summary.names == ("Glute bridge", "Hip thrust") and summary.finished and summary.sets_done == 4
    assert [r.peak for r in summary.test.reps] == [p for peaks in AB_PEAKS for p in peaks]
    # Hip thrust is 16 %MVC higher, well beyond its interval; the median frequency's fitted line falls 8 Hz a
    # set from 119.5 Hz (the first set's mean): 3 × 8 / 119.5 = 20 %.
    assert summary.test.winner == "hip_thrust"
    assert summary.test.verdict == "Hip thrust wins — higher peak %MVC of the target than Glute bridge"
    assert summary.test.warnings == ("fatigue: median frequency fell 20% across the test — fatigue could explain "
                                     "the result",)


def test_variations_are_called_by_exercise_name_or_all_by_key_when_names_clash():
    assert variation_names(("hip_thrust", "banded_hip_thrust"), "glute_max", EXERCISES) == (
        "Hip thrust", "Banded hip thrust")
    library = {**EXERCISES, "bht": Exercise("bht", "Banded hip thrust", "glute_max")}
    assert variation_names(("bht", "banded_hip_thrust"), "glute_max", library) == ("bht", "banded_hip_thrust")


def test_gates_per_exercise(progress):
    squat, hip = progress.gates
    assert hip.exercise == "hip_thrust" and hip.ready
    assert [round(e.peak_pct) for e in hip.evidence] == [74, 77, 78]
    assert hip.summary == "ready to progress (last 3 sets: 74, 77, 78 %MVC, target 70; asymmetry 7, 6, — %, limit 15)"
    assert hip.notes == ("asymmetry not measured in 1 of the last 3 sets (one side, or below the noise floor)",)
    assert squat.exercise == "back_squat" and not squat.ready
    assert squat.missing == ("1 of 3 sets recorded — 2 more sets needed",
                             "the last set not in %MVC (calibrate the target muscle)")


def test_empty_history_says_what_is_missing():
    empty = client_progress(CLIENT, [], [])
    assert empty.left_out is None
    assert empty.missing("activation") == "no sessions recorded yet for Ana Díaz"
    assert empty.missing("calibrations") == "no MVC calibrations yet for Ana Díaz"
    assert empty.missing("ab_tests") == "no A/B tests yet for Ana Díaz"
    session = Session("s-1", CLIENT.id, at(1), at(1, 13), "complete")
    assert client_progress(CLIENT, [session], []).missing("progression") == "no sets recorded yet for Ana Díaz"
    unrated = client_progress(CLIENT, [session], [a_set(session, 0, "hip_thrust", [rep(50, 30)])])
    assert unrated.missing("activation") is None
    assert unrated.missing("perceived") == "no perceived activation scores yet for Ana Díaz (the client rates each set 1–10)"
    with pytest.raises(ValueError, match="unknown section"):
        unrated.missing("charts")


def test_other_clients_records_are_ignored():
    h = ana_history()
    other = Client("c-other", "Bo", created=at(1))
    progress = client_progress(other, h["sessions"], h["sets"], h["calibrations"], h["ab_tests"])
    assert progress.sessions == () and progress.calibrations == () and progress.ab_tests == ()


# --- the gate rule ---------------------------------------------------------------------------


SETTINGS = ProgressionSettings()


def evidence(*pairs):
    return [SetEvidence(at(1 + i), peak, asym) for i, (peak, asym) in enumerate(pairs)]


def test_gate_defaults_follow_the_asymmetry_alert():
    assert (SETTINGS.target_pct, SETTINGS.sets, SETTINGS.max_asymmetry_pct) == (70.0, 3, 15.0)
    assert SETTINGS.formula == ("ready to progress = in each of the last 3 sets the target's peak %MVC (mean of "
                                "per-rep peaks) ≥ 70 and asymmetry (mean of per-rep asymmetry) ≤ 15 %")
    with pytest.raises(ValueError, match="sets"):
        ProgressionSettings(sets=0)


def test_gate_ready_only_on_the_last_sets():
    # An old weak set no longer counts once three good ones follow.
    gate = progression_gate("hip_thrust", evidence((40, 30), (71, 10), (70, 15), (90, 2)), SETTINGS)
    assert gate.ready and gate.missing == () and gate.notes == ()
    assert [e.peak_pct for e in gate.evidence] == [71, 70, 90]


def test_gate_says_what_is_missing_with_numbers():
    gate = progression_gate("hip_thrust", evidence((65, 4), (80, 22), (69.6, 15.2)), SETTINGS)
    assert not gate.ready
    assert gate.missing == ("target 70 %MVC not reached in 2 of the last 3 sets (65, 69.6 %MVC)",
                            "asymmetry above 15 % in 2 of the last 3 sets (22, 15.2 %)")
    assert gate.summary == "not yet: " + "; ".join(gate.missing)


def test_gate_with_too_few_sets_and_custom_settings():
    gate = progression_gate("hip_thrust", evidence((85, 5)), ProgressionSettings(80.0, 2, 10.0))
    assert gate.missing == ("1 of 2 sets recorded — 1 more set needed",)
    gate = progression_gate("hip_thrust", evidence((85, 5), (79, 11)), ProgressionSettings(80.0, 2, 10.0))
    assert gate.missing == ("target 80 %MVC not reached in 1 of the last 2 sets (79 %MVC)",
                            "asymmetry above 10 % in 1 of the last 2 sets (11 %)")
