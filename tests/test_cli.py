"""The ``coach`` command line: ``coach analyze`` (JSON schema, reps, asymmetry, %MVC, chunking,
envelope export, channel specs, mains, every refusal) and ``coach check`` (exit codes, wall time).

Most runs call ``coach_tui.cli.main(argv)`` in-process (fast); a few run the real command in a
subprocess. Every test runs in an empty working folder with an empty ``XDG_CONFIG_HOME`` so the
packaged reference config is the one in force unless a test passes ``--config``.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from conftest import PHYSICAL_ACTION, needs_shared_data
from synthetic import MVC_UV, emg, random_rep_set

from coach_tui.cli import main

pytestmark = pytest.mark.usefixtures("isolated")

FS = 2000
REPS = 6
DEFICIT = 0.30
CHANNELS = "glute:L,glute:R,hamstrings:L,hamstrings:R"
HEADER = "glute L (µV),glute R (µV),hamstrings L (µV),hamstrings R (µV)"


# --- fixtures and helpers --------------------------------------------------------------------




def _subprocess_env(tmp_path: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["XDG_CONFIG_HOME"] = str(tmp_path / "xdg")
    env.pop("COACH_SESSIONS", None)
    return env


class SetRecording:
    """The synthetic 4-column recording and the truth it was built from."""

    def __init__(self, path: Path, reps, n: int):
        self.path = path
        self.reps = reps
        self.n = n

    @property
    def true_starts(self) -> np.ndarray:
        return np.array(self.reps.starts_s)

    @property
    def true_ends(self) -> np.ndarray:
        return np.array(self.reps.starts_s) + np.array(self.reps.durations_s)


@pytest.fixture(scope="module")
def rec(tmp_path_factory) -> SetRecording:
    """2 kHz, 4 columns: glute L/R with the left 30 % weaker over 6 reps, hamstrings L/R equal."""
    rng = np.random.default_rng(7)
    reps = random_rep_set(rng, FS, REPS, 40.0, 90.0)
    columns = [
        emg(reps.activation(1.0 - DEFICIT), FS, rng),
        emg(reps.activation(1.0), FS, rng),
        emg(reps.activation(0.5), FS, rng),
        emg(reps.activation(0.5), FS, rng),
    ]
    data = np.column_stack(columns)
    path = tmp_path_factory.mktemp("rec") / "set.csv"
    body = "\n".join(",".join(f"{v:.4f}" for v in row) for row in data)
    path.write_text(f"{HEADER}\n{body}\n", encoding="utf-8")
    return SetRecording(path, reps, data.shape[0])


@pytest.fixture(scope="module")
def mvc_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("mvc") / "mvc.json"
    keys = ["glute:L", "glute:R", "hamstrings:L", "hamstrings:R"]
    path.write_text(json.dumps({k: MVC_UV for k in keys}), encoding="utf-8")
    return path


def run(capsys, *argv) -> tuple[int, str, str]:
    rc = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return rc, out, err


def analyze_json(capsys, path, *extra, channels: str | None = CHANNELS, fs: float | None = FS) -> dict:
    argv = ["analyze", path, "--json", *extra]
    if channels is not None:
        argv += ["--channels", channels]
    if fs is not None:
        argv += ["--fs", fs]
    rc, out, err = run(capsys, *argv)
    assert rc == 0, err
    return parse_one_json_object(out)


def parse_one_json_object(out: str) -> dict:
    """stdout must be exactly one JSON object on one line and nothing else."""
    assert out.endswith("\n") and out.count("\n") == 1, out[:500]
    report = json.loads(out)
    assert isinstance(report, dict)
    check_report_schema(report)
    return report


# --- the --json schema ------------------------------------------------------------------------


def _is_float(value) -> bool:
    return isinstance(value, float) and math.isfinite(value)


def _keys(obj, keys: set[str], where: str) -> None:
    assert isinstance(obj, dict), f"{where} is {type(obj).__name__}, expected an object"
    assert set(obj) == keys, f"{where}: keys {sorted(obj)}, expected {sorted(keys)}"


def check_report_schema(report: dict) -> None:
    """Every key and type of the ``coach analyze --json`` schema in the issue, and its invariants."""
    optional = {"mvc", "mvc_trials"} & set(report)  # with --mvc or --mvc-trials
    _keys(report, {"source", "fs_hz", "duration_s", "mains_hz", "envelope", "channels", "pairs"} | optional, "report")
    if "mvc" in report:
        assert all(isinstance(k, str) and _is_float(v) and v > 0 for k, v in report["mvc"].items())
    if "mvc_trials" in report:
        assert set(report["mvc_trials"]) == set(report["mvc"])
        for key, trial in report["mvc_trials"].items():
            _keys(trial, {"trial_peaks", "message"}, "mvc_trials entry")
            assert max(trial["trial_peaks"]) == report["mvc"][key]  # the reference is the best trial's peak
    assert isinstance(report["source"], str) and report["source"]
    assert _is_float(report["fs_hz"]) and report["fs_hz"] > 0
    assert _is_float(report["duration_s"]) and report["duration_s"] > 0
    assert report["mains_hz"] is None or (_is_float(report["mains_hz"]) and report["mains_hz"] in (50.0, 60.0))
    _keys(report["envelope"], {"method", "window_ms"}, "envelope")
    assert isinstance(report["envelope"]["method"], str) and report["envelope"]["method"]
    assert _is_float(report["envelope"]["window_ms"]) and report["envelope"]["window_ms"] > 0

    assert isinstance(report["channels"], list) and report["channels"]
    columns = [ch["column"] for ch in report["channels"]]
    assert columns == sorted(set(columns))
    duration = report["duration_s"]
    for ch in report["channels"]:
        where = f"channel {ch.get('column')}"
        _keys(ch, {"column", "muscle", "side", "quality", "envelope_peak", "envelope_mean", "units",
                   "onsets_s", "offsets_s", "reps", "median_frequency_hz", "sustained_contractions",
                   "fatigue_unavailable"}, where)
        assert isinstance(ch["column"], int) and not isinstance(ch["column"], bool) and ch["column"] >= 0
        assert isinstance(ch["muscle"], str) and ch["muscle"]
        assert ch["side"] in ("L", "R", None)
        q = ch["quality"]
        _keys(q, {"status", "reasons", "noise_rms", "mains_fraction", "saturation_fraction", "reduced_bandwidth"},
              f"{where} quality")
        assert q["status"] in ("ok", "warn", "bad")
        assert isinstance(q["reasons"], list) and all(isinstance(r, str) and r for r in q["reasons"])
        assert (q["status"] == "ok") == (not q["reasons"]), f"{where}: status {q['status']} with {q['reasons']}"
        assert _is_float(q["noise_rms"]) and q["noise_rms"] >= 0
        assert _is_float(q["mains_fraction"]) and 0 <= q["mains_fraction"] <= 1
        assert _is_float(q["saturation_fraction"]) and 0 <= q["saturation_fraction"] <= 1
        assert isinstance(q["reduced_bandwidth"], bool)
        assert _is_float(ch["envelope_peak"]) and _is_float(ch["envelope_mean"])
        assert 0 <= ch["envelope_mean"] <= ch["envelope_peak"]
        assert isinstance(ch["units"], str) and ch["units"]
        for key in ("onsets_s", "offsets_s"):
            times = ch[key]
            assert isinstance(times, list) and all(_is_float(t) and 0 <= t <= duration for t in times), key
            assert times == sorted(times), key
        assert len(ch["offsets_s"]) <= len(ch["onsets_s"])
        assert isinstance(ch["reps"], list)
        previous_end = -1.0
        for rep in ch["reps"]:
            _keys(rep, {"start_s", "end_s", "peak", "mean"}, f"{where} rep")
            assert all(_is_float(rep[k]) for k in rep)
            assert previous_end <= rep["start_s"] < rep["end_s"] <= duration
            assert 0 <= rep["mean"] <= rep["peak"] <= ch["envelope_peak"] + 1e-9
            previous_end = rep["end_s"]
        assert ch["fatigue_unavailable"] is None or (isinstance(ch["fatigue_unavailable"], str)
                                                     and ch["median_frequency_hz"] is None)
        trends = [ch["median_frequency_hz"]] + [c["median_frequency_hz"] for c in ch["sustained_contractions"]]
        for contraction in ch["sustained_contractions"]:
            _keys(contraction, {"start_s", "end_s", "median_frequency_hz"}, f"{where} sustained contraction")
            assert contraction["end_s"] - contraction["start_s"] >= 10.0
        for mdf in trends:
            if mdf is None:
                continue
            _keys(mdf, {"start", "end", "slope_hz_per_min", "slope_ci_hz_per_min", "fatigue", "basis", "n"},
                  f"{where} median_frequency_hz")
            assert all(_is_float(mdf[k]) for k in ("start", "end", "slope_hz_per_min"))
            assert 0 < mdf["start"] < report["fs_hz"] / 2 and 0 < mdf["end"] < report["fs_hz"] / 2
            low, high = mdf["slope_ci_hz_per_min"]
            assert _is_float(low) and _is_float(high) and low <= mdf["slope_hz_per_min"] <= high
            assert mdf["fatigue"] is (high < 0)  # fatigue only when the interval excludes zero, falling
            assert mdf["basis"] in ("reps", "windows") and isinstance(mdf["n"], int) and mdf["n"] >= 3

    assert isinstance(report["pairs"], list)
    by_column = {ch["column"]: ch for ch in report["channels"]}
    for pair in report["pairs"]:
        _keys(pair, {"muscle", "left_column", "right_column", "asymmetry_pct", "weaker_side", "status"}, "pair")
        assert isinstance(pair["muscle"], str)
        left, right = by_column[pair["left_column"]], by_column[pair["right_column"]]
        assert (left["muscle"], left["side"]) == (pair["muscle"], "L")
        assert (right["muscle"], right["side"]) == (pair["muscle"], "R")
        assert pair["status"] in ("symmetric", "asymmetric", "inconclusive")
        assert pair["weaker_side"] in ("L", "R", None)
        if pair["status"] == "inconclusive":
            assert pair["asymmetry_pct"] is None and pair["weaker_side"] is None
        else:
            assert _is_float(pair["asymmetry_pct"]) and 0 <= pair["asymmetry_pct"] <= 100
            # A side is named exactly when there is a difference to name.
            assert (pair["weaker_side"] is None) == (pair["asymmetry_pct"] == 0)


def assert_same_numbers(a, b, where: str = "report") -> None:
    """Equal structure; floats equal to 1e-9."""
    if isinstance(a, dict):
        assert isinstance(b, dict) and set(a) == set(b), where
        for key in a:
            assert_same_numbers(a[key], b[key], f"{where}.{key}")
    elif isinstance(a, list):
        assert isinstance(b, list) and len(a) == len(b), f"{where}: {len(a)} vs {len(b) if isinstance(b, list) else b}"
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            assert_same_numbers(x, y, f"{where}[{i}]")
    elif isinstance(a, float) and isinstance(b, float):
        assert a == pytest.approx(b, rel=1e-9, abs=1e-9), where
    else:
        assert a == b, where


# --- coach analyze: what it finds ---------------------------------------------------------------


def test_json_report_has_the_schema_reps_and_asymmetry(capsys, rec):
    report = analyze_json(capsys, rec.path)
    assert report["source"] == str(rec.path)
    assert report["fs_hz"] == FS
    assert report["duration_s"] == pytest.approx(rec.n / FS)
    assert report["mains_hz"] is None  # no hum in the synthetic signal
    assert report["envelope"]["window_ms"] == pytest.approx(100.0)  # the reference config
    channels = report["channels"]
    assert [(c["column"], c["muscle"], c["side"]) for c in channels] == [
        (0, "glute", "L"), (1, "glute", "R"), (2, "hamstrings", "L"), (3, "hamstrings", "R"),
    ]
    assert {c["units"] for c in channels} == {"µV"}  # from the header's "(µV)"
    assert all(c["quality"]["status"] == "ok" for c in channels)
    assert all(not c["quality"]["reduced_bandwidth"] for c in channels)
    for ch in channels[:2]:
        assert len(ch["reps"]) == REPS, ch["muscle"] + ch["side"]
        for rep, start, end in zip(ch["reps"], rec.true_starts, rec.true_ends, strict=True):
            # a causal detector: the rep is found inside the true burst (plus the envelope's lag)
            assert start <= rep["start_s"] < rep["end_s"] <= end + 0.2
        assert len(ch["onsets_s"]) >= REPS
        assert ch["median_frequency_hz"] is not None
    # the left glute's envelope is ~30 % below the right one's
    left, right = channels[0], channels[1]
    assert left["envelope_peak"] < right["envelope_peak"]
    rep_ratio = np.mean([lr["peak"] / rr["peak"] for lr, rr in zip(left["reps"], right["reps"], strict=True)])
    assert rep_ratio == pytest.approx(1 - DEFICIT, abs=0.1)

    pairs = {p["muscle"]: p for p in report["pairs"]}
    assert set(pairs) == {"glute", "hamstrings"}
    glute = pairs["glute"]
    assert (glute["left_column"], glute["right_column"]) == (0, 1)
    assert glute["status"] == "asymmetric"
    assert glute["weaker_side"] == "L"
    assert glute["asymmetry_pct"] == pytest.approx(100 * DEFICIT, abs=7)
    hamstrings = pairs["hamstrings"]
    assert hamstrings["status"] == "symmetric"
    assert hamstrings["asymmetry_pct"] < 10


def test_text_output_summarises_the_same_findings(capsys, rec):
    rc, out, err = run(capsys, "analyze", rec.path, "--fs", FS, "--channels", CHANNELS)
    assert rc == 0, err
    assert f"at {FS} Hz" in out
    assert "left glute" in out and "right hamstrings" in out
    glute_line = next(line for line in out.splitlines() if line.strip().startswith("glute:"))
    assert "asymmetric" in glute_line and "left weaker" in glute_line
    with pytest.raises(json.JSONDecodeError):
        json.loads(out)


#: The true MVC level (µV RMS) of each column in the trials file.
TRIAL_LEVELS = (0.8 * MVC_UV, MVC_UV, 0.6 * MVC_UV, 0.6 * MVC_UV)


@pytest.fixture(scope="module")
def trials_file(tmp_path_factory) -> Path:
    """The console's MVC protocol recorded at 2 kHz in the recording's 4 columns: 3 s at rest, then
    3 trials of 5 s (0.5 s ramps, 4 s held at the column's MVC level) with 5 s rest between."""
    from coach_tui.sources.emg_synthesis import plateau

    rng = np.random.default_rng(11)
    n = 30 * FS
    columns = []
    for level in TRIAL_LEVELS:
        curve = np.max([plateau(n, FS, 3.0 + 10.0 * k, 4.0, level) for k in range(3)], axis=0)
        columns.append(emg(curve, FS, rng))
    path = tmp_path_factory.mktemp("trials") / "trials.csv"
    body = "\n".join(",".join(f"{v:.4f}" for v in row) for row in np.column_stack(columns))
    path.write_text(f"{HEADER}\n{body}\n", encoding="utf-8")
    return path


def test_mvc_trials_calibrate_with_the_protocol_and_normalise_the_recording(capsys, rec, trials_file, tmp_path):
    report = analyze_json(capsys, rec.path, "--mvc-trials", trials_file)
    references = report["mvc"]
    assert set(references) == {"glute:L", "glute:R", "hamstrings:L", "hamstrings:R"}
    for key, level in zip(references, TRIAL_LEVELS, strict=True):
        # the best 500 ms of ~25 noisy windows rides a few % above the held level (dsp.peak)
        assert level <= references[key] <= 1.15 * level, key
        assert "trials agree" in report["mvc_trials"][key]["message"]
    assert {c["units"] for c in report["channels"]} == {"%MVC"}
    # exactly what --mvc with those references gives
    refs = tmp_path / "refs.json"
    refs.write_text(json.dumps(references), encoding="utf-8")
    assert_same_numbers(report["channels"], analyze_json(capsys, rec.path, "--mvc", refs)["channels"])


def test_mvc_trials_analysed_against_themselves_read_100_percent_at_best(capsys, trials_file):
    report = analyze_json(capsys, trials_file, "--mvc-trials", trials_file)
    for ch in report["channels"]:
        assert len(ch["reps"]) == 3, ch["muscle"]
        # the same protocol code, pipeline and peak estimator: the best trial is the reference
        assert max(rep["peak"] for rep in ch["reps"]) == pytest.approx(100.0, rel=1e-9)
        assert all(85 <= rep["peak"] <= 100 + 1e-6 for rep in ch["reps"])


def test_mvc_trials_refusals(capsys, rec, trials_file, mvc_file, tmp_path):
    short = tmp_path / "short.csv"
    short.write_text("\n".join(trials_file.read_text(encoding="utf-8").splitlines()[: 20 * FS]) + "\n", encoding="utf-8")
    rc, _, err = run(capsys, "analyze", rec.path, "--fs", FS, "--channels", CHANNELS, "--mvc-trials", short)
    assert rc == 2 and "lasts 20.0 s" in err and "needs 28.0 s" in err and "3 s at rest" in err
    two = tmp_path / "two.csv"
    two.write_text("\n".join(",".join(line.split(",")[:2]) for line in trials_file.read_text(encoding="utf-8").splitlines()),
                   encoding="utf-8")
    rc, _, err = run(capsys, "analyze", rec.path, "--fs", FS, "--channels", CHANNELS, "--mvc-trials", two)
    assert rc == 2 and "2 columns" in err and "same channels" in err
    with pytest.raises(SystemExit):
        main(["analyze", str(rec.path), "--mvc", str(mvc_file), "--mvc-trials", str(trials_file)])
    capsys.readouterr()


def test_mvc_file_reports_percent_mvc(capsys, rec, mvc_file):
    raw = analyze_json(capsys, rec.path)
    pct = analyze_json(capsys, rec.path, "--mvc", mvc_file)
    for ch_raw, ch in zip(raw["channels"], pct["channels"], strict=True):
        assert ch["units"] == "%MVC"
        # %MVC is the input-unit envelope scaled by 100 / reference
        assert ch["envelope_peak"] == pytest.approx(ch_raw["envelope_peak"] * 100 / MVC_UV, rel=1e-9)
        assert ch["envelope_mean"] == pytest.approx(ch_raw["envelope_mean"] * 100 / MVC_UV, rel=1e-9)
    glute_r = pct["channels"][1]
    # reps peak at 40-90 %MVC on the right; the moving RMS of one rep scatters around that
    assert 40 <= glute_r["envelope_peak"] <= 130
    assert all(25 <= rep["peak"] <= 130 for rep in glute_r["reps"])
    glute_l = pct["channels"][0]
    assert 25 <= glute_l["envelope_peak"] <= 100
    assert len(glute_r["reps"]) == len(glute_l["reps"]) == REPS
    glute = next(p for p in pct["pairs"] if p["muscle"] == "glute")
    assert (glute["status"], glute["weaker_side"]) == ("asymmetric", "L")
    assert glute["asymmetry_pct"] == pytest.approx(100 * DEFICIT, abs=7)


def test_mvc_file_for_some_channels_keeps_input_units_for_the_others(capsys, rec, tmp_path):
    mvc = tmp_path / "glutes.json"
    mvc.write_text(json.dumps({"glute:L": MVC_UV, "glute:R": MVC_UV}), encoding="utf-8")
    report = analyze_json(capsys, rec.path, "--mvc", mvc)
    assert [c["units"] for c in report["channels"]] == ["%MVC", "%MVC", "µV", "µV"]


@pytest.mark.parametrize("chunk_ms", ["20", "7.5"])
def test_chunked_processing_gives_the_same_numbers(capsys, rec, chunk_ms):
    whole = analyze_json(capsys, rec.path)
    chunked = analyze_json(capsys, rec.path, "--chunk-ms", chunk_ms)
    assert_same_numbers(whole, chunked)


def test_envelope_out_and_skip(capsys, rec, tmp_path):
    out_csv = tmp_path / "env.csv"
    report = analyze_json(capsys, rec.path, "--envelope-out", out_csv, channels="glute:L,skip,hamstrings:L,hamstrings:R")
    assert [c["column"] for c in report["channels"]] == [0, 2, 3]
    assert [p["muscle"] for p in report["pairs"]] == ["hamstrings"]  # glute lost its right side

    lines = out_csv.read_text(encoding="utf-8").splitlines()
    assert lines[0] == "time_s,glute:L,hamstrings:L,hamstrings:R"
    table = np.loadtxt(out_csv, delimiter=",", skiprows=1, ndmin=2)
    assert table.shape == (rec.n, 4)
    np.testing.assert_allclose(table[:, 0], np.arange(rec.n) / FS, rtol=1e-5, atol=1e-9)
    # Peak and mean are measured once the filters have settled; the CSV holds every sample.
    from coach_tui.dsp import DspSettings, FilterSettings, Pipeline

    mains = f"{report['mains_hz']:g}" if report["mains_hz"] else "off"
    settled = Pipeline(FS, 1, DspSettings(FilterSettings(mains=mains))).settled_at
    from coach_tui.dsp.peak import peak

    for k, ch in enumerate(report["channels"], start=1):
        # The channel's peak is its highest rep peak (dsp.peak over the rep), from the same envelope.
        rep_peaks = [peak(table[round(r["start_s"] * FS) : round(r["end_s"] * FS), k], FS).value for r in ch["reps"]]
        assert ch["reps"] and max(rep_peaks) == pytest.approx(ch["envelope_peak"], rel=1e-5)
        assert table[settled:, k].mean() == pytest.approx(ch["envelope_mean"], rel=1e-4)
        assert (table[:, k] >= 0).all()


def test_channels_without_side_are_not_paired(capsys, rec):
    report = analyze_json(capsys, rec.path, channels="glute,glute_right:R,skip,hamstrings")
    assert [(c["column"], c["muscle"], c["side"]) for c in report["channels"]] == [
        (0, "glute", None), (1, "glute_right", "R"), (3, "hamstrings", None),
    ]
    assert report["pairs"] == []


def test_default_channels_come_from_the_header(capsys, rec):
    report = analyze_json(capsys, rec.path, channels=None)
    assert [c["muscle"] for c in report["channels"]] == HEADER.split(",")
    assert all(c["side"] is None for c in report["channels"])


def test_mains_60_is_reported(capsys, rec):
    assert analyze_json(capsys, rec.path, "--mains", "60")["mains_hz"] == 60
    assert analyze_json(capsys, rec.path, "--mains", "50")["mains_hz"] == 50


@pytest.fixture
def hum_at_rest(tmp_path) -> Path:
    """8 s at rest (3 µV noise floor) with 30 µV of 50 Hz hum on both columns."""
    rng = np.random.default_rng(3)
    n = 8 * FS
    t = np.arange(n) / FS
    data = np.column_stack([emg(np.zeros(n), FS, rng) + 30.0 * np.sin(2 * np.pi * 50 * t + phase) for phase in (0, 1)])
    path = tmp_path / "hum.csv"
    np.savetxt(path, data, delimiter=",", header="a,b", comments="", fmt="%.4f")
    return path


def test_mains_hum_at_rest_is_found_and_named(capsys, hum_at_rest):
    report = analyze_json(capsys, hum_at_rest, "--mains", "auto", channels="vastus:L,vastus:R")
    assert report["mains_hz"] == 50
    for ch in report["channels"]:
        q = ch["quality"]
        assert q["status"] != "ok"
        assert q["mains_fraction"] > 0.4
        assert any("hum" in r and "50 Hz" in r for r in q["reasons"]), q["reasons"]
    assert report["pairs"][0]["status"] == "inconclusive"  # hum only, no contraction


def test_hum_at_rest_gives_no_reps(capsys, hum_at_rest):
    report = analyze_json(capsys, hum_at_rest, channels="vastus:L,vastus:R")
    assert [ch["reps"] for ch in report["channels"]] == [[], []]
    assert [ch["onsets_s"] for ch in report["channels"]] == [[], []]


def test_a_pair_of_dead_channels_is_inconclusive(capsys, tmp_path):
    path = tmp_path / "flat.csv"
    np.savetxt(path, np.zeros((4 * FS, 2)), delimiter=",")
    report = analyze_json(capsys, path, channels="biceps:L,biceps:R")
    assert all(ch["quality"]["status"] == "bad" for ch in report["channels"])  # this part holds
    assert report["pairs"][0]["status"] == "inconclusive"
    assert report["pairs"][0]["weaker_side"] is None


def test_npy_with_fs_and_default_channel_names(capsys, tmp_path):
    path = tmp_path / "rest.npy"
    np.save(path, np.random.default_rng(0).normal(0.0, 3.0, (3000, 2)))
    report = analyze_json(capsys, path, channels=None, fs=1000)
    assert [c["muscle"] for c in report["channels"]] == ["ch1", "ch2"]
    assert report["duration_s"] == pytest.approx(3.0)
    assert {c["units"] for c in report["channels"]} == {"unknown"}


def test_config_option_picks_the_file(capsys, rec, tmp_path):
    config = tmp_path / "mine.toml"
    config.write_text('[envelope]\nwindow_ms = 50.0\n[filters]\nmains = "60"\n', encoding="utf-8")
    rc, out, err = run(capsys, "--config", config, "analyze", rec.path, "--fs", FS, "--channels", CHANNELS, "--json")
    assert rc == 0, err
    report = parse_one_json_object(out)
    assert report["envelope"]["window_ms"] == pytest.approx(50.0)
    assert report["mains_hz"] == 60  # the config's mains is the default for --mains


@pytest.mark.parametrize(
    ("toml", "phrases"),
    [
        ("[envelope]\nwindow_size = 50\n", ["envelope.window_size", "allowed", "window_ms"]),
        ('[filters]\nmains = "55"\n', ["filters.mains", "'55'", "50, 60"]),
    ],
)
def test_bad_config_is_one_line_naming_the_key(capsys, rec, tmp_path, toml, phrases):
    config = tmp_path / "bad.toml"
    config.write_text(toml, encoding="utf-8")
    rc, out, err = run(capsys, "--config", config, "analyze", rec.path, "--fs", FS, "--json")
    assert rc == 2 and out == ""
    assert len(err.strip().splitlines()) == 1
    assert str(config) in err
    for phrase in phrases:
        assert phrase in err


def test_missing_config_file_is_refused(capsys, rec, tmp_path):
    rc, out, err = run(capsys, "--config", tmp_path / "nope.toml", "analyze", rec.path, "--fs", FS)
    assert rc == 2 and out == ""
    assert "nope.toml" in err and "not found" in err


# --- coach analyze: refusals ------------------------------------------------------------------


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def _rest_csv(path: Path) -> Path:
    data = np.random.default_rng(1).normal(0.0, 3.0, (2 * FS, 3))
    np.savetxt(path, data, delimiter=",", header="a,b,c", comments="", fmt="%.4f")
    return path


def _npy(path: Path) -> Path:
    np.save(path, np.zeros((500, 2)))
    return path


def _binary(path: Path) -> Path:
    path.write_bytes(bytes(range(256)) * 4)
    return path


ERROR_CASES = {
    # name: (make the file in tmp_path, extra argv, phrases the one stderr line must contain)
    "missing file": (lambda d: d / "nope.csv", ["--fs", "1000"], ["nope.csv", "not found"]),
    "empty file": (lambda d: _write(d / "empty.csv", ""), ["--fs", "1000"], ["empty.csv", "empty"]),
    "unreadable format": (lambda d: _binary(d / "blob.bin"), ["--fs", "1000"], ["blob.bin", "no numeric data"]),
    "wrong column count": (
        lambda d: _write(d / "cols.csv", "a,b\n1,2\n3,4\n5,6\n7\n8,9\n"), ["--fs", "1000"],
        ["cols.csv", "line 5", "1 columns", "2"],
    ),
    "non-numeric cell": (
        lambda d: _write(d / "text.csv", "a,b\n1,2\n3,four\n5,6\n"), ["--fs", "1000"],
        ["text.csv", "line 3", "column 2", "'four'", "not a number"],
    ),
    "NaN run": (
        lambda d: _write(d / "nan.csv", "a,b\n1,2\n3,nan\n4,nan\n5,nan\n6,7\n"), ["--fs", "1000"],
        ["nan.csv", "'b'", "3 missing value"],
    ),
    "npy without --fs": (lambda d: _npy(d / "x.npy"), [], ["x.npy", "--fs"]),
    "text without --fs": (
        lambda d: _write(d / "notime.csv", "a,b\n1,2\n3,4\n"), [], ["notime.csv", "--fs"],
    ),
    "--fs zero": (lambda d: _rest_csv(d / "r.csv"), ["--fs", "0"], ["--fs", "positive"]),
    "--channels count": (
        lambda d: _rest_csv(d / "r.csv"), ["--fs", "1000", "--channels", "biceps:L,biceps:R"],
        ["--channels", "2", "3"],
    ),
    "--channels side": (
        lambda d: _rest_csv(d / "r.csv"), ["--fs", "1000", "--channels", "biceps:X,biceps:R,skip"],
        ["'biceps:X'", "muscle:L"],
    ),
    "--channels all skip": (
        lambda d: _rest_csv(d / "r.csv"), ["--fs", "1000", "--channels", "skip,skip,skip"], ["skip"],
    ),
    "--mvc not JSON": (
        lambda d: (_write(d / "mvc.json", "biceps:L = 300\n"), _rest_csv(d / "r.csv"))[1],
        ["--fs", "1000", "--channels", "biceps:L,biceps:R,skip", "--mvc", "mvc.json"],
        ["mvc.json", "not a JSON"],
    ),
    "--mvc missing": (
        lambda d: _rest_csv(d / "r.csv"),
        ["--fs", "1000", "--channels", "biceps:L,biceps:R,skip", "--mvc", "gone.json"], ["gone.json", "not found"],
    ),
    "--mvc not an object of positive numbers": (
        lambda d: (_write(d / "mvc.json", '{"biceps:L": -3}'), _rest_csv(d / "r.csv"))[1],
        ["--fs", "1000", "--channels", "biceps:L,biceps:R,skip", "--mvc", "mvc.json"], ["mvc.json", "positive"],
    ),
    "--mvc key matches no channel": (
        lambda d: (_write(d / "mvc.json", '{"biceps:L": 300, "triceps:L": 250}'), _rest_csv(d / "r.csv"))[1],
        ["--fs", "1000", "--channels", "biceps:L,biceps:R,skip", "--mvc", "mvc.json"],
        ["mvc.json", "'triceps:L'", "matches no channel", "biceps:L, biceps:R"],
    ),
    "--chunk-ms 0": (lambda d: _rest_csv(d / "r.csv"), ["--fs", "1000", "--chunk-ms", "0"], ["--chunk-ms", "positive"]),
    "--envelope-out unwritable": (
        lambda d: _rest_csv(d / "r.csv"), ["--fs", "1000", "--envelope-out", "no/such/dir/env.csv"],
        ["env.csv", "cannot write"],
    ),
}


@pytest.mark.parametrize("case", list(ERROR_CASES))
def test_bad_input_exits_2_with_one_line(capsys, isolated, case):
    make, extra, phrases = ERROR_CASES[case]
    path = make(isolated)
    rc, out, err = run(capsys, "analyze", path.name, "--json", *extra)
    assert rc == 2
    assert out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("coach analyze: ")
    for phrase in phrases:
        assert phrase in lines[0], f"{phrase!r} not in {lines[0]!r}"


def test_bad_option_value_is_an_argparse_error(capsys, rec):
    with pytest.raises(SystemExit) as exit_info:
        main(["analyze", str(rec.path), "--mains", "55"])
    assert exit_info.value.code == 2
    assert "--mains" in capsys.readouterr().err


# --- real subprocess runs ---------------------------------------------------------------------


def _coach(tmp_path: Path, *argv, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "coach_tui.cli", *map(str, argv)],
        capture_output=True, text=True, cwd=tmp_path / "work", env=_subprocess_env(tmp_path), timeout=timeout,
    )


def test_help_names_config_and_coach_sessions(tmp_path):
    coach = shutil.which("coach")
    commands = [[sys.executable, "-m", "coach_tui.cli", "--help"]] + ([[coach, "--help"]] if coach else [])
    for command in commands:
        result = subprocess.run(command, capture_output=True, text=True, cwd=tmp_path, timeout=60)
        assert result.returncode == 0, result.stderr
        assert "COACH_SESSIONS" in result.stdout
        assert "--config" in result.stdout
        assert "analyze" in result.stdout and "check" in result.stdout


def test_subprocess_analyze_prints_exactly_one_json_object(tmp_path, rec):
    result = _coach(tmp_path, "analyze", rec.path, "--fs", FS, "--channels", CHANNELS, "--json")
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    report = parse_one_json_object(result.stdout)
    assert [len(c["reps"]) for c in report["channels"][:2]] == [REPS, REPS]

    missing = _coach(tmp_path, "analyze", tmp_path / "nope.csv", "--fs", FS, "--json")
    assert missing.returncode == 2 and missing.stdout == ""
    assert len(missing.stderr.strip().splitlines()) == 1 and "not found" in missing.stderr


def test_subprocess_check_simulate_json_is_ok(tmp_path):
    # How long it takes (the target is 5 s whole) is measured by bench/import_time.py, not timed here.
    result = _coach(tmp_path, "check", "--simulate", "--json")
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("\n") == 1
    report = json.loads(result.stdout)
    assert report["status"] == "ok" and report["simulated"] is True
    assert report["seconds"] == 2.0  # the reference config's default
    assert len(report["sensors"]) == 4
    for sensor in report["sensors"]:
        assert sensor["streaming"] is True and sensor["status"] == "ok"
        assert sensor["measured_rate_hz"] == pytest.approx(sensor["nominal_rate_hz"], rel=0.02)
        assert sensor["channels"] and all(c["status"] == "ok" for c in sensor["channels"])
    assert {s["name"] for s in report["sensors"]} == {
        "left glute max", "right glute max", "left hamstrings", "right hamstrings",
    }


def test_subprocess_short_check_of_a_healthy_kit_is_ok(tmp_path):
    result = _coach(tmp_path, "check", "--simulate", "--seconds", "0.5", "--json")
    report = json.loads(result.stdout)
    assert [s["streaming"] for s in report["sensors"]] == [True] * 4
    assert result.returncode == 0


# --- coach check in-process -------------------------------------------------------------------


@pytest.mark.parametrize("seconds", ["0", "-1"])
def test_check_refuses_non_positive_seconds(capsys, seconds):
    rc, out, err = run(capsys, "check", "--simulate", "--seconds", seconds)
    assert rc == 2 and out == ""
    assert len(err.strip().splitlines()) == 1 and "--seconds" in err and "positive" in err


def test_check_text_table(capsys):
    rc, out, err = run(capsys, "check", "--simulate", "--seconds", "0.5")
    assert rc == 0, out + err
    assert "SIMULATED" in out
    for name in ("left glute max", "right glute max", "left hamstrings", "right hamstrings"):
        row = next(line for line in out.splitlines() if line.startswith(name))
        assert row.split()[len(name.split())] == "ok"
    assert "All sensors ready." in out


@pytest.mark.parametrize(
    ("battery", "expected_rc", "expected_status"),
    [("[100.0, 0.0]", 1, "warn"), ("[100.0, 100.0]", 2, "bad")],
)
def test_check_exit_code_follows_the_worst_sensor(capsys, tmp_path, battery, expected_rc, expected_status):
    # every simulated battery is at or below 100 %: the thresholds make the kit warn or bad
    config = tmp_path / "battery.toml"
    config.write_text(f"[quality]\nbattery_pct = {battery}\n[simulation]\nsensors = 2\n[check]\nseconds = 0.4\n")
    rc, out, err = run(capsys, "--config", config, "check", "--simulate", "--json")
    assert rc == expected_rc, err
    report = json.loads(out)
    assert report["status"] == expected_status
    assert report["seconds"] == pytest.approx(0.4)
    assert len(report["sensors"]) == 2
    assert all(s["status"] == expected_status for s in report["sensors"])
    assert all(any("battery" in r for c in s["channels"] for r in c["reasons"]) for s in report["sensors"])


BLUETOOTH_SENSORS = """
[[sensors]]
id = "hips"
profile = "coach_v1"
name = "coach-hips"
channels = ["glute_max:L"]
"""


def test_check_with_bluetooth_sensors_but_bluetooth_off_says_so_at_once(capsys, tmp_path, monkeypatch):
    from bleak.exc import BleakBluetoothNotAvailableError, BleakBluetoothNotAvailableReason
    from ble_peripherals import failing_scanner_backend

    from coach_tui.sources.ble import bluetooth_errors

    off = BleakBluetoothNotAvailableError("No powered adapters.", BleakBluetoothNotAvailableReason.POWERED_OFF)
    real_check = bluetooth_errors.check_bluetooth

    async def check_with_bluetooth_off(scanner_backend=None, seconds=0.1):
        return await real_check(failing_scanner_backend(off), seconds)

    monkeypatch.setattr(bluetooth_errors, "check_bluetooth", check_with_bluetooth_off)
    config = tmp_path / "ble.toml"
    config.write_text(BLUETOOTH_SENSORS, encoding="utf-8")
    started = time.monotonic()
    rc, out, err = run(capsys, "--config", config, "check", "--json")
    assert time.monotonic() - started < 5  # not the 20 s of waiting for sensors that never come
    assert (rc, out) == (2, "")
    assert err.startswith("coach check: Bluetooth is off — turn it on") and err.count("\n") == 1


def test_check_text_and_json_show_each_bluetooth_sensor_s_link():
    from coach_tui.commands.check import _check_json, _check_text
    from coach_tui.dsp.quality import ChannelQuality
    from coach_tui.workflows.sensor_check import CheckReport, SensorCheck
    from coach_tui.sources.block import SensorStatus

    linked = SensorStatus("hips", 1000.0, 1, connected=True, measured_rate_hz=998.0, samples_received=1940,
                          samples_lost=60, packets_lost=3, reconnects=1, host_drops=2, malformed=4,
                          state="streaming")
    gone = SensorStatus("hams", 1000.0, 1, state="not found — is it on and in range? (retrying in 0.5 s, attempt 2)")
    report = CheckReport([SensorCheck(linked, "left glute max", True, [ChannelQuality("ok", noise_rms=1.5)]),
                          SensorCheck(gone, "right hamstrings", False, [])], None, 2.0, simulated=False)
    lines = _check_text(report).splitlines()
    link = lines.index("link                   reconnects  host drops  packets lost  malformed")
    assert lines[link + 1 : link + 3] == [
        "left glute max                  1           2             3          4",
        "right hamstrings                0           0             0          0",
    ]
    assert max(len(line) for line in lines[link : link + 3]) <= 80
    sensors = _check_json(report)["sensors"]
    assert [(s["reconnects"], s["host_drops"], s["packets_lost"], s["malformed_packets"]) for s in sensors] == [
        (1, 2, 3, 4), (0, 0, 0, 0)
    ]


def test_check_text_of_the_simulated_kit_has_no_link_table(capsys):
    rc, out, _ = run(capsys, "check", "--simulate", "--seconds", "0.3")
    assert rc == 0 and "reconnects" not in out


# --- real recordings ---------------------------------------------------------------------------


@needs_shared_data
def test_physical_action_waving(capsys):
    path = PHYSICAL_ACTION / "sub01" / "Normal" / "Waving.txt.gz"
    report = analyze_json(capsys, path, channels=None, fs=None)
    assert report["fs_hz"] == 1000.0
    assert len(report["channels"]) == 8
    assert {c["units"] for c in report["channels"]} == {"µV"}
    assert [(c["muscle"], c["side"]) for c in report["channels"][:4]] == [
        ("biceps", "R"), ("triceps", "R"), ("biceps", "L"), ("triceps", "L"),
    ]
    pairs = {p["muscle"]: p for p in report["pairs"]}
    assert set(pairs) == {"biceps", "triceps", "quadriceps", "hamstrings"}
    biceps = pairs["biceps"]
    assert (biceps["left_column"], biceps["right_column"]) == (2, 0)
    assert biceps["status"] == "asymmetric"
    assert biceps["weaker_side"] == "L"
