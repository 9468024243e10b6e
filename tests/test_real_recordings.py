"""The same functions on real sEMG recorded by others (../shared/data; skipped when absent).

Constants are global: no rule here has a per-file exception.
"""

import numpy as np
import pytest

from coach_tui.domain.channels import ChannelAssignment
from coach_tui.dsp.mains import detect_mains
from coach_tui.dsp.signal_analysis import analyze_signal
from coach_tui.sources.signal_files import load_signal_file

from conftest import LOWER_LIMB, PHYSICAL_ACTION, needs_shared_data

SUBJECTS = ["sub01", "sub02", "sub03"]


def _analyze(path):
    recording = load_signal_file(path)
    channels = [ChannelAssignment(m, s) for m, s in recording.channel_hints]
    return recording, analyze_signal(
        recording.samples, recording.fs_hz, channels, source=str(path), units=recording.units,
        clip_level=recording.clip_level,
    ).report


def _pair(report, muscle):
    return next(p for p in report["pairs"] if p["muscle"] == muscle)


@needs_shared_data
@pytest.mark.parametrize("subject", SUBJECTS)
@pytest.mark.parametrize("action", ["Handshaking", "Waving"])
def test_one_arm_actions_flag_biceps_asymmetry_left_weaker(subject, action):
    _, report = _analyze(PHYSICAL_ACTION / subject / "Normal" / f"{action}.txt.gz")
    biceps = _pair(report, "biceps")
    assert biceps["status"] == "asymmetric"
    assert biceps["weaker_side"] == "L"
    assert biceps["asymmetry_pct"] >= 15


@needs_shared_data
@pytest.mark.parametrize("subject", SUBJECTS)
def test_seated_client_raises_no_biceps_asymmetry_alert(subject):
    _, report = _analyze(PHYSICAL_ACTION / subject / "Normal" / "Seating.txt.gz")
    biceps = _pair(report, "biceps")
    assert biceps["status"] == "inconclusive"
    assert biceps["asymmetry_pct"] is None and biceps["weaker_side"] is None


@needs_shared_data
def test_subject_2_mains_is_50_hz_and_no_one_elses_is_detected():
    """Subject 2 is unfiltered; its hum stands out where the muscles rest (Seating, Standing)."""
    for action in ("Seating", "Standing"):
        recording = load_signal_file(PHYSICAL_ACTION / "sub02" / "Normal" / f"{action}.txt.gz")
        assert detect_mains(recording.samples.T, recording.fs_hz) == 50.0, action
    for path in sorted(PHYSICAL_ACTION.glob("sub0*/*/*.txt.gz")):
        recording = load_signal_file(path)
        found = detect_mains(recording.samples.T, recording.fs_hz)
        assert found in ((None, 50.0) if "sub02" in str(path) else (None,)), path


@needs_shared_data
def test_files_with_one_percent_clipping_are_flagged():
    flagged = checked = 0
    for path in sorted(PHYSICAL_ACTION.glob("sub0*/Normal/*.txt.gz")):
        recording, report = _analyze(path)
        clipped = np.mean(np.abs(recording.samples) >= recording.clip_level, axis=0)
        for fraction, channel in zip(clipped, report["channels"], strict=True):
            quality = channel["quality"]
            assert quality["saturation_fraction"] == pytest.approx(fraction)
            if fraction >= 0.01:
                checked += 1
                assert quality["status"] in ("warn", "bad")
                assert any("clipping" in r for r in quality["reasons"])
                flagged += 1
    assert checked > 10 and flagged == checked


@needs_shared_data
@pytest.mark.parametrize("subject", range(1, 9))
def test_seated_leg_extension_gives_three_to_six_reps(subject):
    _, report = _analyze(LOWER_LIMB / "N_TXT" / f"{subject}Nsen.txt.gz")
    reps = {c["muscle"]: len(c["reps"]) for c in report["channels"]}
    assert 3 <= reps["rectus_femoris"] <= 6 or 3 <= reps["vastus_medialis"] <= 6, reps
    # One rep per knee extension (a cycle takes 2.5–4 s here): reps are not split in two.
    for channel in report["channels"]:
        if channel["muscle"] in ("rectus_femoris", "vastus_medialis"):
            starts = [rep["start_s"] for rep in channel["reps"]]
            assert np.all(np.diff(starts) > 1.5), (channel["muscle"], starts)


@needs_shared_data
def test_lower_limb_60_hz_mains_detected_where_present():
    recording = load_signal_file(LOWER_LIMB / "N_TXT" / "1Nsen.txt.gz")
    assert detect_mains(recording.samples.T, recording.fs_hz) == 60.0


# --- reps against the knee goniometer -------------------------------------------------------

#: The muscles that move the knee in each exercise: extension (sen) and flexion (pie).
AGONISTS = {"sen": ("rectus_femoris", "vastus_medialis"), "pie": ("biceps_femoris", "semitendinosus")}


def _rep_counts_against_the_knee():
    """(file, muscle, reps counted, knee cycles) for every agonist of every sen/pie file."""
    from goniometer import knee_cycles

    rows = []
    for group in ("N", "A"):
        for subject in range(1, 9):
            for exercise, muscles in AGONISTS.items():
                path = LOWER_LIMB / f"{group}_TXT" / f"{subject}{group}{exercise}.txt.gz"
                recording, report = _analyze(path)
                cycles = knee_cycles(recording.aux["angle"], recording.fs_hz)
                for channel in report["channels"]:
                    if channel["muscle"] in muscles:
                        rows.append((path.name, channel["muscle"], len(channel["reps"]), cycles))
    return rows


@needs_shared_data
def test_agonist_rep_counts_match_the_knee_angle_cycles():
    """Truth from the goniometer alone (tests/goniometer.py: a cycle moves the knee through 30 % of
    its range and back); the EMG detector never sees the angle. 16 files per exercise, two agonists
    each, one rule for all: exact on ≥ 90 % of the 64 channels, and off by more than one on at most
    one (a rectus femoris that also fires while the knee rests flexed — a hip flexor — gives
    about two bursts per knee cycle, which no envelope detector can tell from reps)."""
    rows = _rep_counts_against_the_knee()
    assert len(rows) == 64
    exact = [r for r in rows if r[2] == r[3]]
    far = [r for r in rows if abs(r[2] - r[3]) > 1]
    assert len(exact) >= 0.9 * len(rows), [r for r in rows if r[2] != r[3]]
    assert len(far) <= 1, far
