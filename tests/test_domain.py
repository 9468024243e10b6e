"""Domain records: JSON round trip, validation, the muscle and exercise catalogues, calibration
staleness and A/B test ordering."""

from __future__ import annotations

import dataclasses
import json
import re
from collections import Counter
from datetime import UTC, datetime, timedelta, timezone
from itertools import pairwise

import pytest

from coach_tui.domain.abtest import ABRep, ABTest, counterbalanced_order, order_notes, williams_blocks
from coach_tui.domain.calibration import Calibration
from coach_tui.domain.channels import SIDES, ChannelAssignment
from coach_tui.domain.client import Client
from coach_tui.domain.exercises import (
    EXERCISES,
    Exercise,
    exercise_library,
    find_exercise,
)
from coach_tui.domain.ids import new_id, now_utc
from coach_tui.domain.muscles import MUSCLES, Muscle, display_name, muscle
from coach_tui.domain.placement import Placement
from coach_tui.domain.serialization import from_dict, to_dict
from coach_tui.domain.session import RepMetrics, Session, SetRecord

UTC = UTC
CET = timezone(timedelta(hours=1), "CET")
T0 = datetime(2026, 11, 21, 9, 30, 15, 250000, tzinfo=CET)


# --- fixtures: one valid instance of every record -------------------------------------------------

def _placement(**changes) -> Placement:
    fields = dict(muscle="glute_max", side="L", sensor_id="sim-glute_max-L", channel=0, location_note="marker line")
    return Placement(**{**fields, **changes})


def _calibration(**changes) -> Calibration:
    fields = dict(
        id="cal-20261121-aaaaaa", client_id="c-20261121-3f9a2b", muscle="glute_max", side="L",
        reference=412.5, units="µV", trial_bests=(380.0, 405.5, 412.5), rest_mean=4.2, rest_sd=1.1,
        recorded=T0, placement=_placement(), repeat_trial=False, familiarisation=True,
    )
    return Calibration(**{**fields, **changes})


def _rep(index: int = 0, **changes) -> RepMetrics:
    fields = dict(
        index=index, start_s=1.0 + index, end_s=1.8 + index, peak=72.5, mean=41.0, time_to_peak_s=0.35,
        units="%MVC", muscle="glute_max", side="L", asymmetry_pct=12.5, target_share=0.64,
        onset_order=(("left glute max", 0.0), ("left hamstrings", 48.0)),
    )
    return RepMetrics(**{**fields, **changes})


def _set(**changes) -> SetRecord:
    fields = dict(
        id="set-20261121-bbbbbb", session_id="s-20261121-cccccc", index=2, exercise="hip_thrust",
        started=T0 + timedelta(minutes=12), duration_s=42.5, load_kg=80.0, cue="ribs down, push through heels",
        perceived_activation=7, recording="set-02.f32", reps=(_rep(0), _rep(1, asymmetry_pct=None)),
        settings={"envelope": {"window_ms": 100.0}, "band_hz": (20.0, 450.0), "notch": "auto"},
        calibration_ids=("cal-20261121-aaaaaa",),
    )
    return SetRecord(**{**fields, **changes})


def _ab_rep(variation: str = "hip_thrust", set_position: int = 0, **changes) -> ABRep:
    fields = dict(variation=variation, set_position=set_position, set_id="set-20261121-bbbbbb", index=0, peak=71.0,
                  mean=40.5, target_share=0.62, asymmetry_pct=8.0, median_frequency_hz=96.5)
    return ABRep(**{**fields, **changes})


def _records():
    return [
        MUSCLES["glute_max"],
        EXERCISES["hip_thrust"],
        Client("c-20261121-3f9a2b", "Ana Souza", "R", "prefers morning sessions", ("left knee pain",), created=T0),
        Client("c-20261121-000001", "Ben", created=datetime(2026, 1, 2, tzinfo=UTC)),
        _placement(),
        _placement(side=None, channel=3, location_note=""),
        _calibration(),
        _rep(),
        _rep(asymmetry_pct=None, target_share=None, onset_order=()),
        _set(),
        _set(load_kg=None, perceived_activation=None, reps=(), settings={}, calibration_ids=()),
        Session("s-20261121-cccccc", "c-20261121-3f9a2b", T0, T0 + timedelta(minutes=55), "complete",
                "2026-11-21_ana", "good glute drive"),
        Session("s-20261121-dddddd", "c-20261121-3f9a2b", T0),
        _ab_rep(),
        _ab_rep(target_share=None, asymmetry_pct=None, median_frequency_hz=None),
        ABTest("ab-20261121-eeeeee", "c-20261121-3f9a2b", "glute_max", ("hip_thrust", "glute_bridge"),
               (0, 1, 1, 0), T0,
               (_ab_rep(), _ab_rep(index=1, peak=74.5), _ab_rep("glute_bridge", 1, peak=60.25, median_frequency_hz=None)),
               "no clear difference — collect more reps", None, ("drift: hip_thrust changed +12.0 %MVC",)),
        ABTest("ab-20261121-ffffff", "c-20261121-3f9a2b", "glute_max", ("hip_thrust", "glute_bridge"),
               (0, 1, 1, 0), T0, verdict="hip_thrust wins", winner="hip_thrust"),
    ]


# --- JSON round trip --------------------------------------------------------------------------------

@pytest.mark.parametrize("record", _records(), ids=lambda r: type(r).__name__)
def test_round_trip_through_json_gives_an_equal_record(record):
    data = record.to_dict()
    text = json.dumps(data, allow_nan=False)
    back = type(record).from_dict(json.loads(text))
    assert back == record
    assert type(back) is type(record)
    assert to_dict(back) == data


def test_nested_records_and_datetimes_serialise_as_plain_json():
    data = _calibration().to_dict()
    assert data["recorded"] == "2026-11-21T09:30:15.250000+01:00"
    assert data["placement"] == {"muscle": "glute_max", "side": "L", "sensor_id": "sim-glute_max-L",
                                 "channel": 0, "location_note": "marker line"}
    assert data["trial_bests"] == [380.0, 405.5, 412.5]
    back = Calibration.from_dict(data)
    assert back.recorded.utcoffset() == timedelta(hours=1)
    assert isinstance(back.placement, Placement)

    record = _set()
    data = record.to_dict()
    assert data["reps"][0]["onset_order"] == [["left glute max", 0.0], ["left hamstrings", 48.0]]
    back = SetRecord.from_dict(data)
    assert isinstance(back.reps[1], RepMetrics)
    assert back.reps[0].onset_order == (("left glute max", 0.0), ("left hamstrings", 48.0))


def test_settings_snapshot_is_json_safe_and_compares_equal_after_a_round_trip():
    record = _set(settings={"band_hz": (20, 450), "nested": {"t": (1, 2)}})
    assert record.settings == {"band_hz": [20, 450], "nested": {"t": [1, 2]}}
    assert SetRecord.from_dict(json.loads(json.dumps(record.to_dict()))) == record
    with pytest.raises(ValueError, match="settings"):
        _set(settings={"bad": object()})


def test_unknown_keys_are_ignored_for_forward_compatibility():
    data = _calibration().to_dict()
    data["added_in_v9"] = {"x": 1}
    data["placement"]["electrode_size_mm"] = 10
    assert Calibration.from_dict(data) == _calibration()


def test_optional_fields_may_be_left_out():
    data = {"id": "s-1", "client_id": "c-1", "started": T0.isoformat()}
    assert Session.from_dict(data) == Session("s-1", "c-1", T0)


@pytest.mark.parametrize("record", _records(), ids=lambda r: type(r).__name__)
def test_every_missing_required_field_is_refused_by_name(record):
    cls = type(record)
    data = record.to_dict()
    required = [f.name for f in dataclasses.fields(cls)
                if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING]
    assert required, cls.__name__
    for name in required:
        broken = {k: v for k, v in data.items() if k != name}
        with pytest.raises(ValueError, match=rf"missing required field '{name}'"):
            cls.from_dict(broken)


def test_missing_field_of_a_nested_record_is_named_with_its_path():
    data = _calibration().to_dict()
    del data["placement"]["sensor_id"]
    with pytest.raises(ValueError, match=r"Calibration: missing required field 'placement\.sensor_id'"):
        Calibration.from_dict(data)
    data = _set().to_dict()
    del data["reps"][1]["peak"]
    with pytest.raises(ValueError, match=r"missing required field 'reps\[1\]\.peak'"):
        SetRecord.from_dict(data)


@pytest.mark.parametrize(
    ("cls", "make", "field", "value"),
    [
        (Calibration, _calibration, "reference", "412"),
        (Calibration, _calibration, "recorded", "last tuesday"),
        (Calibration, _calibration, "recorded", 1700000000),
        (Calibration, _calibration, "trial_bests", "380,405"),
        (Calibration, _calibration, "repeat_trial", "no"),
        (Calibration, _calibration, "placement", "glute_max:L"),
        (SetRecord, _set, "index", 2.0),
        (SetRecord, _set, "index", True),
        (SetRecord, _set, "load_kg", "80 kg"),
        (SetRecord, _set, "reps", {"0": {}}),
        (SetRecord, _set, "settings", [1, 2]),
        (RepMetrics, _rep, "side", 1),
        (RepMetrics, _rep, "onset_order", [["left glute max"]]),
        (Session, lambda: _records()[11], "client_id", None),
        (ABTest, lambda: _records()[-2], "reps", [{"variation": "hip_thrust", "peak": "high"}]),
        (ABTest, lambda: _records()[-2], "warnings", "drift"),
        (ABRep, _ab_rep, "peak", "high"),
    ],
)
def test_ill_typed_fields_are_refused_by_name(cls, make, field, value):
    data = make().to_dict()
    data[field] = value
    with pytest.raises(ValueError, match=re.escape(field)):
        cls.from_dict(data)


def test_from_dict_refuses_something_that_is_not_an_object():
    with pytest.raises(ValueError, match="must be an object"):
        Client.from_dict(["c-1", "Ana"])


def test_generic_helpers_work_on_plain_functions_too():
    placement = _placement()
    assert from_dict(Placement, to_dict(placement)) == placement


# --- validation ------------------------------------------------------------------------------------

def test_client_validation():
    with pytest.raises(ValueError, match="Client.name"):
        Client("c-1", "  ", created=T0)
    with pytest.raises(ValueError, match="Client.dominant_side"):
        Client("c-1", "Ana", "left", created=T0)
    with pytest.raises(ValueError, match="timezone-aware"):
        Client("c-1", "Ana", created=datetime(2026, 11, 21, 9, 0))
    assert Client("c-1", "Ana", conditions=["asthma"], created=T0).conditions == ("asthma",)
    with pytest.raises(ValueError, match="Client.name"):
        Client.from_dict({"id": "c-1", "name": "", "created": T0.isoformat()})


def test_side_validation_everywhere():
    with pytest.raises(ValueError, match="Placement.side"):
        _placement(side="l")
    with pytest.raises(ValueError, match="RepMetrics.side"):
        _rep(side="both")
    with pytest.raises(ValueError, match="side"):
        display_name("glute_max", "left")


def test_perceived_activation_is_1_to_10():
    assert _set(perceived_activation=1).perceived_activation == 1
    assert _set(perceived_activation=10).perceived_activation == 10
    for bad in (0, 11, 7.5, True):
        with pytest.raises(ValueError, match="perceived_activation"):
            _set(perceived_activation=bad)
    data = _set().to_dict()
    data["perceived_activation"] = 11
    with pytest.raises(ValueError, match="perceived_activation must be 1–10"):
        SetRecord.from_dict(data)


def test_set_and_session_validation():
    with pytest.raises(ValueError, match="recording"):
        _set(recording="/home/coach/sessions/set-02.f32")
    with pytest.raises(ValueError, match="recording"):
        _set(recording="../other/set.f32")
    with pytest.raises(ValueError, match="load_kg"):
        _set(load_kg=-5.0)
    with pytest.raises(ValueError, match="status"):
        Session("s-1", "c-1", T0, status="paused")
    with pytest.raises(ValueError, match="ended must be None"):
        Session("s-1", "c-1", T0, T0 + timedelta(minutes=1))
    with pytest.raises(ValueError, match="ended is required"):
        Session("s-1", "c-1", T0, status="complete")
    with pytest.raises(ValueError, match="before started"):
        Session("s-1", "c-1", T0, T0 - timedelta(minutes=1), "complete")


def test_session_duration_is_none_while_recording():
    session = Session("s-1", "c-1", T0)
    assert session.duration_s is None
    done = session.finished(T0 + timedelta(minutes=50, seconds=30))
    assert done.status == "complete"
    assert done.duration_s == pytest.approx(3030.0)
    recovered = Session("s-2", "c-1", T0, status="recovered")
    assert recovered.duration_s is None


def test_rep_metrics_validation():
    metrics = RepMetrics(3, 1.5, 2.3, 88.0, 51.5, 0.31, "%MVC", "glute_max", "R", target_share=0.6)
    assert metrics.duration_s == pytest.approx(0.8)
    assert metrics.label == "right glute max"
    assert metrics.target_share == 0.6 and metrics.asymmetry_pct is None and metrics.weaker_side is None
    with pytest.raises(ValueError, match="end_s"):
        _rep(start_s=2.0, end_s=1.0)
    with pytest.raises(ValueError, match="target_share"):
        _rep(target_share=64.0)
    with pytest.raises(ValueError, match="weaker_side"):
        _rep(weaker_side="X")


def test_calibration_validation():
    with pytest.raises(ValueError, match="reference"):
        _calibration(reference=0.0)
    with pytest.raises(ValueError, match="muscle and side must match"):
        _calibration(side="R")


def test_ab_test_validation():
    with pytest.raises(ValueError, match="2–4"):
        ABTest("ab-1", "c-1", "glute_max", ("hip_thrust",), (0,), T0)
    with pytest.raises(ValueError, match="2–4"):
        ABTest("ab-1", "c-1", "glute_max", tuple("abcde"), (0, 1, 2, 3, 4), T0)
    with pytest.raises(ValueError, match="different"):
        ABTest("ab-1", "c-1", "glute_max", ("hip_thrust", "hip_thrust"), (0, 1), T0)
    with pytest.raises(ValueError, match="order"):
        ABTest("ab-1", "c-1", "glute_max", ("hip_thrust", "glute_bridge"), (0, 2), T0)
    with pytest.raises(ValueError, match="never schedules glute_bridge"):
        ABTest("ab-1", "c-1", "glute_max", ("hip_thrust", "glute_bridge"), (0, 0), T0)
    pair, order = ("hip_thrust", "glute_bridge"), counterbalanced_order(2)
    with pytest.raises(ValueError, match="not one of"):
        ABTest("ab-1", "c-1", "glute_max", pair, order, T0, (_ab_rep("squat"),))
    with pytest.raises(ValueError, match="planned as glute_bridge"):
        ABTest("ab-1", "c-1", "glute_max", pair, order, T0, (_ab_rep("hip_thrust", 1),))
    with pytest.raises(ValueError, match="the plan has 4 sets"):
        ABTest("ab-1", "c-1", "glute_max", pair, order, T0, (_ab_rep("hip_thrust", 4),))
    with pytest.raises(ValueError, match="winner"):
        ABTest("ab-1", "c-1", "glute_max", pair, order, T0, winner="squat")
    with pytest.raises(ValueError, match="target_share"):
        _ab_rep(target_share=62.0)
    test = ABTest("ab-1", "c-1", "glute_max", pair, order, T0)
    assert test.planned_sets == ("hip_thrust", "glute_bridge", "glute_bridge", "hip_thrust")
    assert test.next_position == 0 and _peaks(test) == {"hip_thrust": [], "glute_bridge": []}


def _peaks(test: ABTest) -> dict[str, list[float]]:
    """Each variation's per-rep peaks, in the order collected."""
    return {v: [rep.peak for rep in test.reps if rep.variation == v] for v in test.variations}


def test_ab_test_collects_sets_and_keeps_the_verdict_until_reps_change():
    test = ABTest("ab-1", "c-1", "glute_max", ("hip_thrust", "glute_bridge"), counterbalanced_order(2), T0)
    first = _set(exercise="hip_thrust", reps=(_rep(0, peak=70.0), _rep(1, peak=72.5)))
    test = test.with_set(0, first, [95.0, 93.5]).with_set(1, _set(id="set-2", exercise="glute_bridge"))
    assert test.next_position == 2
    assert _peaks(test) == {"hip_thrust": [70.0, 72.5], "glute_bridge": [72.5, 72.5]}
    rep = test.reps[0]
    assert (rep.variation, rep.set_position, rep.set_id, rep.index) == ("hip_thrust", 0, first.id, 0)
    assert (rep.mean, rep.target_share, rep.asymmetry_pct, rep.median_frequency_hz) == (41.0, 0.64, 12.5, 95.0)
    assert test.reps[-1].median_frequency_hz is None
    judged = test.with_verdict("hip_thrust wins", "hip_thrust", ["drift: …"])
    assert (judged.verdict, judged.winner, judged.warnings) == ("hip_thrust wins", "hip_thrust", ("drift: …",))
    redone = judged.with_set(0, _set(exercise="hip_thrust", reps=(_rep(0, peak=80.0),)))
    assert _peaks(redone)["hip_thrust"] == [80.0]  # the set done again replaces its reps
    assert (redone.verdict, redone.winner, redone.warnings) == ("", None, ())
    with pytest.raises(ValueError, match="set 2 of this A/B test is planned as glute bridge, not hip thrust"):
        test.with_set(1, first)
    with pytest.raises(ValueError, match="calibrate the glute max first"):
        test.with_set(0, _set(exercise="hip_thrust", reps=(_rep(0, units="µV"),)))
    with pytest.raises(ValueError, match="2 values for 1 reps"):
        test.with_set(0, _set(exercise="hip_thrust", reps=(_rep(0),)), [90.0, 91.0])
    with pytest.raises(ValueError, match="set_position"):
        test.with_set(4, first)


# --- muscles -----------------------------------------------------------------------------------------

REQUIRED_MUSCLES = (
    "glute_max glute_med hamstrings semitendinosus rectus_femoris vastus_lateralis vastus_medialis "
    "erector_spinae latissimus_dorsi trapezius_upper trapezius_middle deltoid_anterior deltoid_middle "
    "deltoid_posterior pectoralis_major biceps triceps rhomboids adductor_longus gastrocnemius_medial "
    "tibialis_anterior rectus_abdominis external_oblique"
).split()


def test_muscle_catalogue_has_every_required_muscle_with_a_hint():
    assert set(REQUIRED_MUSCLES) <= set(MUSCLES)
    for key, m in MUSCLES.items():
        assert isinstance(m, Muscle) and m.key == key
        assert m.name.strip() and len(m.location_hint.strip()) > 20, key
        assert "\n" not in m.location_hint, key


def test_muscles_outside_seniam_say_so_and_seniam_hints_follow_it():
    for key in ("pectoralis_major", "latissimus_dorsi", "rectus_abdominis", "external_oblique", "rhomboids"):
        assert "(not in SENIAM)" in MUSCLES[key].location_hint, key
    for key in ("glute_max", "vastus_medialis", "semitendinosus", "biceps", "trapezius_upper"):
        assert "not in SENIAM" not in MUSCLES[key].location_hint, key
    assert "sacral vertebrae" in MUSCLES["glute_max"].location_hint
    assert "greater trochanter" in MUSCLES["glute_max"].location_hint
    assert "80 %" in MUSCLES["vastus_medialis"].location_hint
    assert "medial epicondyle of the tibia" in MUSCLES["semitendinosus"].location_hint
    assert "lateral epicondyle of the tibia" in MUSCLES["hamstrings"].location_hint
    assert "Biceps femoris" in MUSCLES["hamstrings"].name
    assert "L1" in MUSCLES["erector_spinae"].location_hint


def test_muscle_lookup_and_display_name():
    assert muscle("vastus_medialis").name == "Vastus medialis"
    with pytest.raises(KeyError) as error:
        muscle("glutes")
    assert "glute_max" in str(error.value) and "'glutes'" in str(error.value)
    assert display_name("glute_max", "L") == "left glute max"
    assert display_name("hamstrings", "R") == "right hamstrings"
    assert display_name("rectus_abdominis") == "rectus abdominis"
    for key in MUSCLES:
        for side in (*SIDES, None):
            assert display_name(key, side) == ChannelAssignment(key, side).label
    assert _placement().label == "left glute max"
    assert _calibration().key == "glute_max:L"


# --- exercises ---------------------------------------------------------------------------------------

REQUIRED_EXERCISES = (
    "Hip thrust", "Glute bridge", "Cable pull-through", "Bulgarian split squat", "Back squat",
    "Romanian deadlift", "Deadlift", "Lat pulldown", "Seated row", "Bench press", "Lateral raise",
    "Biceps curl", "Triceps pushdown", "Leg extension", "Hamstring curl", "Copenhagen plank",
    "Side-lying clamshell",
)


def test_library_has_every_required_exercise_and_only_known_muscles():
    for name in REQUIRED_EXERCISES:
        assert find_exercise(EXERCISES, name).name == name
    assert len(EXERCISES) >= 17
    for key, exercise in EXERCISES.items():
        assert exercise.key == key
        for m in (exercise.target, *exercise.synergists, *exercise.antagonists):
            assert m in MUSCLES, (key, m)
        assert 0.0 < exercise.expected_target_share < 1.0


def test_library_encodes_the_coaching_facts():
    hip_thrust = EXERCISES["hip_thrust"]
    assert hip_thrust.target == "glute_max"
    assert {"hamstrings", "erector_spinae"} <= set(hip_thrust.synergists)
    assert hip_thrust.main_synergist == "hamstrings"
    assert hip_thrust.expected_target_share == 0.6
    curl = EXERCISES["biceps_curl"]
    assert curl.target == "biceps" and "triceps" in curl.antagonists
    assert EXERCISES["triceps_pushdown"].antagonists == ("biceps",)
    assert EXERCISES["copenhagen_plank"].target == "adductor_longus"
    assert EXERCISES["side_lying_clamshell"].target == "glute_med"
    assert EXERCISES["lat_pulldown"].target == "latissimus_dorsi"


@pytest.mark.parametrize("spelling", ["Hip-Thrust", "hip_thrust", "HIP THRUST", "hip thrust", " HipThrust "])
def test_find_exercise_ignores_case_spaces_hyphens_and_underscores(spelling):
    assert find_exercise(EXERCISES, spelling).key == "hip_thrust"


def test_find_exercise_suggests_the_closest_name_on_a_typo():
    with pytest.raises(KeyError, match=r"did you mean 'Hip thrust' \(hip_thrust\)"):
        find_exercise(EXERCISES, "hip thurst")
    with pytest.raises(KeyError, match="did you mean 'Romanian deadlift'"):
        find_exercise(EXERCISES, "romanian dedlift")
    with pytest.raises(KeyError, match="known exercises: .*hip_thrust"):
        find_exercise(EXERCISES, "zumba")


def test_library_additions_merge_and_replace():
    library = exercise_library([
        {"name": "Sumo deadlift", "target": "glute_max", "synergists": ["adductor_longus", "hamstrings"],
         "antagonists": [], "expected_target_share": 0.55},
        {"key": "hip_thrust", "name": "Hip thrust", "target": "glute_max", "synergists": ["hamstrings"],
         "expected_target_share": 0.65},
    ])
    assert library["sumo_deadlift"] == Exercise("sumo_deadlift", "Sumo deadlift", "glute_max",
                                                ("adductor_longus", "hamstrings"), (), 0.55)
    assert library["hip_thrust"].expected_target_share == 0.65
    assert EXERCISES["hip_thrust"].expected_target_share == 0.6  # the built-ins are not changed
    assert set(EXERCISES) <= set(library)
    assert find_exercise(library, "sumo-deadlift").key == "sumo_deadlift"
    assert exercise_library(None) == EXERCISES and exercise_library([]) is not EXERCISES


@pytest.mark.parametrize(
    ("addition", "pattern"),
    [
        ({"name": "Sumo deadlift", "target": "glutes"},
         r"exercise 'sumo_deadlift': unknown target muscle 'glutes'; allowed muscles: .*glute_max"),
        ({"name": "Sumo deadlift", "target": "glute_max", "synergists": ["hammies"]},
         r"'sumo_deadlift'.*unknown synergist muscle 'hammies'; allowed muscles: .*hamstrings"),
        ({"name": "Curl", "target": "biceps", "antagonists": ["tricep"]},
         r"'curl'.*unknown antagonist muscle 'tricep'"),
        ({"name": "Sumo deadlift", "target": "glute_max", "expected_target_share": 1.0},
         r"'sumo_deadlift'.*expected_target_share must be in \(0, 1\)"),
        ({"name": "Sumo deadlift", "target": "glute_max", "expected_target_share": 0},
         r"expected_target_share"),
        ({"name": "Sumo deadlift", "target": "glute_max", "synergist": ["hamstrings"]},
         r"'Sumo deadlift'.*unknown key\(s\) synergist"),
        ({"name": "Sumo deadlift"}, r"'Sumo deadlift'.*missing required field 'target'"),
        ({"name": "Sumo deadlift", "target": "glute_max", "synergists": "hamstrings"}, r"synergists"),
        ("Sumo deadlift", r"exercise addition 1 must be a table"),
    ],
)
def test_library_additions_are_validated(addition, pattern):
    with pytest.raises(ValueError, match=pattern):
        exercise_library([addition])


def test_library_additions_refuse_a_duplicate_key():
    addition = {"name": "Sumo deadlift", "target": "glute_max"}
    with pytest.raises(ValueError, match="added twice"):
        exercise_library([addition, addition])


def test_exercise_refuses_a_muscle_listed_twice():
    with pytest.raises(ValueError, match="listed twice"):
        Exercise("x", "X", "glute_max", ("glute_max",))


# --- calibration staleness ----------------------------------------------------------------------------

def test_staleness_is_none_when_fresh_and_placement_unchanged():
    calibration = _calibration()
    assert calibration.staleness(T0 + timedelta(days=3), _placement(), 28) is None
    assert calibration.staleness(T0 + timedelta(days=27.9), None, 28) is None
    assert calibration.staleness(T0, _placement(location_note=" marker line "), 28) is None


def test_staleness_names_the_placement_change():
    calibration = _calibration()
    moved = calibration.staleness(T0, _placement(sensor_id="sim-glute_max-R"), 28)
    assert moved == "placement changed since calibration (sensor moved from sim-glute_max-L to sim-glute_max-R)"
    channel = calibration.staleness(T0, _placement(channel=1), 28)
    assert channel == "placement changed since calibration (channel changed from 0 to 1)"
    note = calibration.staleness(T0, _placement(location_note="2 cm higher"), 28)
    assert "location note changed from 'marker line' to '2 cm higher'" in note
    other_side = calibration.staleness(T0, _placement(side="R"), 28)
    assert "muscle changed from left glute max to right glute max" in other_side


def test_staleness_names_the_age_and_the_limit():
    calibration = _calibration()
    assert calibration.staleness(T0 + timedelta(days=40), _placement(), 28) == "calibrated 40 days ago (limit 28)"
    assert calibration.staleness(T0 + timedelta(days=28.5), None, 28) == "calibrated 28.5 days ago (limit 28)"
    both = calibration.staleness(T0 + timedelta(days=40), _placement(sensor_id="s9"), 28)
    assert both.startswith("placement changed since calibration (sensor moved") and both.endswith("(limit 28)")
    assert calibration.age_days(T0.astimezone(UTC) + timedelta(hours=12)) == pytest.approx(0.5)
    with pytest.raises(ValueError, match="max_age_days"):
        calibration.staleness(T0, None, 0)


def test_same_site():
    assert _placement().same_site(_placement())
    assert not _placement().same_site(_placement(sensor_id="other"))
    assert not _placement().same_site(_placement(channel=1))
    assert not _placement().same_site(_placement(location_note="elsewhere"))
    assert not _placement().same_site(_placement(side="R"))


# --- A/B test order -------------------------------------------------------------------------------

def _mean_positions(order):
    positions: dict[int, list[int]] = {}
    for position, variation in enumerate(order):
        positions.setdefault(variation, []).append(position)
    return {v: sum(p) / len(p) for v, p in positions.items()}


def test_two_variations_alternate_abba():
    assert counterbalanced_order(2) == (0, 1, 1, 0)
    assert counterbalanced_order(2, 4) == (0, 1, 1, 0, 0, 1, 1, 0)
    assert counterbalanced_order(2, 1) == (0, 1)


@pytest.mark.parametrize("n", [2, 3, 4])
@pytest.mark.parametrize("blocks", [1, 2, 3, 4, 6, 8])
def test_each_variation_appears_equally_often_once_per_block(n, blocks):
    order = counterbalanced_order(n, blocks)
    assert len(order) == n * blocks
    assert Counter(order) == {v: blocks for v in range(n)}
    for block in range(blocks):
        assert sorted(order[block * n:(block + 1) * n]) == list(range(n))


@pytest.mark.parametrize("n", [2, 3, 4])
@pytest.mark.parametrize("blocks", [2, 4, 6])
def test_an_even_number_of_blocks_cancels_linear_drift(n, blocks):
    means = _mean_positions(counterbalanced_order(n, blocks))
    assert len(set(means.values())) == 1


def test_three_variations_mirror_by_default():
    assert counterbalanced_order(3) == (0, 1, 2, 2, 1, 0)


@pytest.mark.parametrize(("n", "blocks", "pair_count"), [(3, 6, 2), (4, 4, 1)])
def test_a_whole_williams_design_balances_positions_and_first_order_carryover(n, blocks, pair_count):
    order = counterbalanced_order(n, blocks)
    rows = [order[b * n:(b + 1) * n] for b in range(blocks)]
    for position in range(n):
        assert Counter(row[position] for row in rows) == {v: blocks // n for v in range(n)}
    within = Counter(pair for row in rows for pair in pairwise(row))
    assert within == {(a, b): pair_count for a in range(n) for b in range(n) if a != b}


@pytest.mark.parametrize("n", [2, 3, 4])
@pytest.mark.parametrize("blocks", [1, 2, 3, 4, 5, 6, 7, 8])
def test_order_notes_are_empty_exactly_when_the_order_is_a_whole_williams_design(n, blocks):
    order = counterbalanced_order(n, blocks)
    rows = [order[b * n:(b + 1) * n] for b in range(blocks)]
    positions_balanced = all(len({Counter(row[p] for row in rows)[v] for v in range(n)}) == 1 for p in range(n))
    assert (order_notes(n, blocks) == ()) == (blocks > 1 and positions_balanced)


def test_order_notes_in_words():
    assert (williams_blocks(2), williams_blocks(3), williams_blocks(4)) == (2, 6, 4)
    assert order_notes(2, 1) == (
        "1 set per variation: drift between first and last sets cannot be checked — use 2 or more",)
    assert order_notes(2, 3) == ("3 sets per variation: an odd number leaves the order unbalanced by position, so a "
                                 "drift over the test can favour one variation — use 2 or 4",)
    assert order_notes(3, 2) == ("6 sets per variation give a fully balanced (Williams) order of 3 variations: each in "
                                 "every position and after every other equally often",)
    assert len(order_notes(4, 3)) == 2 and order_notes(4, 8) == order_notes(2, 4) == ()


def test_counterbalanced_order_refuses_nonsense():
    with pytest.raises(ValueError, match="n_variations"):
        counterbalanced_order(1)
    with pytest.raises(ValueError, match="blocks_per_variation"):
        counterbalanced_order(2, 0)


# --- ids ---------------------------------------------------------------------------------------------

def test_new_id_has_the_date_and_random_hex_and_sorts_by_date():
    client_id = new_id("c", datetime(2026, 11, 21, 23, 30, tzinfo=UTC))
    assert re.fullmatch(r"c-20261121-[0-9a-f]{6}", client_id)
    assert new_id("c", datetime(2026, 11, 22, 0, 30, tzinfo=CET)).startswith("c-20261121-")  # UTC date
    ids = [new_id("s", datetime(2026, month, 1, tzinfo=UTC)) for month in (11, 3, 7)]
    assert sorted(ids) == [ids[1], ids[2], ids[0]]
    assert len({new_id("c") for _ in range(200)}) == 200
    assert now_utc().tzinfo is not None
    with pytest.raises(ValueError, match="prefix"):
        new_id("C-")
