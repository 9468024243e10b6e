"""The commands that keep data: ``coach clients``, ``record``, ``sessions``, ``export`` and
``restore-backup`` — where data goes, what is stored, owner-only files, the writer lock, crash
recovery, damaged databases and a disk that fills up while recording.

Most runs call ``coach_tui.cli.main(argv)`` in-process with a config whose simulated kit runs as
fast as possible (``[simulation] realtime = false``); the writer-lock, kill -9 and ``--help``
tests run the real command in a subprocess, the first two at wall-clock speed (a few seconds).
"""

from __future__ import annotations

import csv
import errno
import io
import json
import os
import queue
import re
import signal
import stat
import subprocess
import sys
import threading
import time
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import numpy as np
import pytest
from conftest import ROOT

import coach_tui.commands.record as record_command
from coach_tui.cli import main
from coach_tui.store.reanalysis import reanalyze
from coach_tui.store import recording_writer
from coach_tui.store.database import Database
from coach_tui.reports.exports import REP_COLUMNS
from coach_tui.store.recordings import RecordingWriter, read_recording
from coach_tui.store.repository import Repository

pytestmark = pytest.mark.usefixtures("isolated")

FAST = "[simulation]\nrealtime = false\n"
LIVE = re.compile(r"^\s*(\d+\.\d) s  (.*)  (µV|%MVC|%MVC/µV)  reps (\d+)$")
REP = re.compile(r"^\s+rep (\d+): peak (\d+) ")


# --- helpers ---------------------------------------------------------------------------------
def write_config(folder: Path, sessions: str = "data", extra: str = FAST) -> Path:
    """``folder/config.toml`` with ``sessions_dir`` (relative to it) and ``extra`` sections."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "config.toml"
    path.write_text(f'sessions_dir = "{sessions}"\n{extra}', encoding="utf-8")
    return path


def coach(capsys, *argv: str) -> tuple[int, str, str]:
    """Run ``coach ARGV`` in-process; return (exit status, stdout, stderr)."""
    capsys.readouterr()
    rc = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return rc, out, err


def one_line(err: str) -> str:
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, f"expected one line on stderr, got:\n{err}"
    assert "Traceback" not in err
    return lines[0]


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def stored(sessions_dir: Path) -> Repository:
    """A read-only view of the database (no recovery, no lock, nothing written)."""
    return Repository(Database(sessions_dir, read_only=True))


def subprocess_env(tmp_path: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["XDG_CONFIG_HOME"] = str(tmp_path / "xdg")
    env.pop("COACH_SESSIONS", None)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    return env


def coach_subprocess(tmp_path: Path, *argv: str, timeout: float = 30) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "coach_tui.cli", *map(str, argv)], capture_output=True, check=False,
                          text=True, timeout=timeout, env=subprocess_env(tmp_path), cwd=tmp_path)


class Recorder:
    """``coach record --simulate`` (wall-clock speed) in a subprocess, its stdout read by a thread."""

    def __init__(self, tmp_path: Path, config: Path, client: str):
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "coach_tui.cli", "--config", str(config), "record", "--client", client, "--simulate"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=subprocess_env(tmp_path), cwd=tmp_path,
        )
        self.lines: list[str] = []
        self._queue: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self) -> None:
        for line in self.proc.stdout:
            self._queue.put(line.rstrip("\n"))
        self._queue.put(None)

    def wait_for(self, predicate, timeout: float = 20.0) -> str:
        """Read lines until one satisfies ``predicate``; return it."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                line = self._queue.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                self.stop()
                pytest.fail(f"no matching line within {timeout} s; got:\n" + "\n".join(self.lines))
            if line is None:
                err = self.proc.stderr.read()
                pytest.fail("the recorder ended early:\n" + "\n".join(self.lines) + "\n" + err)
            self.lines.append(line)
            if predicate(line):
                return line

    def drain(self) -> None:
        """After the process ended: collect the rest of its output."""
        while True:
            line = self._queue.get(timeout=10)
            if line is None:
                return
            self.lines.append(line)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


# --- a recorded 20 s set, shared by the read-only tests ---------------------------------------
@dataclass
class Recorded:
    config: Path
    sessions_dir: Path
    rc: int
    out: str
    err: str
    sessions: list[dict]


@pytest.fixture(scope="module")
def recorded(tmp_path_factory) -> Recorded:
    """Client Ana (dominant R) and one 20 s simulated hip-thrust set, with a live line per block."""
    root = tmp_path_factory.mktemp("recorded")
    config = write_config(root)
    out, err = io.StringIO(), io.StringIO()
    with pytest.MonkeyPatch.context() as mp:
        mp.delenv("COACH_SESSIONS", raising=False)
        mp.setattr(record_command, "LINE_EVERY_S", 0.01)  # live lines even though the kit is fast
        with redirect_stdout(out), redirect_stderr(err):
            assert main(["--config", str(config), "clients", "add", "Ana", "--dominant", "r"]) == 0
            rc = main(["--config", str(config), "record", "--client", "Ana", "--simulate", "--seconds", "20"])
        listing = io.StringIO()
        with redirect_stdout(listing), redirect_stderr(io.StringIO()):
            assert main(["--config", str(config), "sessions", "--json"]) == 0
    return Recorded(config, root / "data", rc, out.getvalue(), err.getvalue(), json.loads(listing.getvalue()))


# --- 1. clients ------------------------------------------------------------------------------
def test_clients_add_list_text_and_json(capsys, tmp_path):
    config = write_config(tmp_path)
    rc, out, _ = coach(capsys, "--config", config, "clients")
    assert rc == 0 and "coach clients add" in out

    rc, out, _ = coach(capsys, "--config", config, "clients", "add", "Ana", "--dominant", "r", "--notes", "left knee")
    assert rc == 0 and "Ana" in out
    rc, out, _ = coach(capsys, "--config", config, "clients", "add", "Bo")
    assert rc == 0

    rc, out, _ = coach(capsys, "--config", config, "clients")
    assert rc == 0
    ana = next(line for line in out.splitlines() if line.startswith("Ana"))
    assert " R " in ana and "0" in ana

    rc, out, _ = coach(capsys, "--config", config, "clients", "--json")
    assert rc == 0
    rows = {row["name"]: row for row in json.loads(out)}
    assert set(rows) == {"Ana", "Bo"}
    assert rows["Ana"]["dominant_side"] == "R" and rows["Ana"]["notes"] == "left knee"
    assert rows["Bo"]["dominant_side"] is None
    for row in rows.values():
        assert row["id"] and row["sessions"] == 0 and row["last_session"] is None and row["calibrated"] == []
        datetime.fromisoformat(row["created"])


def test_duplicate_client_name_is_refused_case_insensitively(capsys, tmp_path):
    config = write_config(tmp_path)
    assert coach(capsys, "--config", config, "clients", "add", "Ana")[0] == 0
    before = (tmp_path / "data" / "coach.json").read_bytes()
    rc, out, err = coach(capsys, "--config", config, "clients", "add", "  aNA ")
    assert rc == 2 and out == ""
    assert "already exists" in one_line(err)
    assert (tmp_path / "data" / "coach.json").read_bytes() == before


def test_bad_dominant_side_is_an_argparse_error(capsys, tmp_path):
    config = write_config(tmp_path)
    with pytest.raises(SystemExit) as exit_:
        main(["--config", str(config), "clients", "add", "Ana", "--dominant", "x"])
    assert exit_.value.code == 2
    assert "--dominant" in capsys.readouterr().err


# --- 2. record -------------------------------------------------------------------------------
def test_record_prints_live_lines_reps_and_a_summary(recorded):
    assert recorded.rc == 0, recorded.err
    lines = recorded.out.splitlines()
    live = [m for m in map(LIVE.match, lines) if m]
    assert live, recorded.out[:2000]
    assert all("glute max" in m.group(2) and "hamstrings" in m.group(2) and m.group(3) == "µV" for m in live)
    assert float(live[-1].group(1)) > 15.0
    reps = [m for m in map(REP.match, lines) if m]
    assert [int(m.group(1)) for m in reps] == list(range(1, len(reps) + 1))
    assert len(reps) >= 5
    summary = recorded.out[recorded.out.index("set saved in session"):]
    assert f"20.0 s, {len(reps)} reps" in summary
    table = [line.split() for line in summary.splitlines()[2:] if re.match(r"^\s*\d+\s+\d+\.\d\d ", line)]
    assert [int(row[0]) for row in table] == list(range(1, len(reps) + 1))
    assert [float(row[2]) for row in table] == pytest.approx([int(m.group(2)) for m in reps], abs=0.55)


def test_recorded_session_is_listed_complete(recorded):
    assert len(recorded.sessions) == 1
    session = recorded.sessions[0]
    assert {"id", "client", "started", "duration_s", "status", "sets"} <= set(session)
    assert session["client"] == "Ana" and session["status"] == "complete"
    assert session["duration_s"] == pytest.approx(20.0, abs=0.1)
    started = datetime.fromisoformat(session["started"])
    assert started.tzinfo is not None and abs((datetime.now(started.tzinfo) - started).total_seconds()) < 3600
    [set_] = session["sets"]
    assert set_["exercise"] == "hip_thrust" and set_["reps"] >= 5
    assert set_["duration_s"] == pytest.approx(20.0, abs=0.1)
    printed = len([line for line in recorded.out.splitlines() if REP.match(line)])
    assert set_["reps"] == printed


def test_record_another_exercise_uses_its_muscles(capsys, tmp_path):
    config = write_config(tmp_path, extra="[simulation]\nrealtime = false\nsensors = 6\n")
    assert coach(capsys, "--config", config, "clients", "add", "Ana")[0] == 0
    rc, out, err = coach(capsys, "--config", config, "record", "--client", "Ana", "--simulate", "--exercise", "biceps curl",
                         "--seconds", "8")
    assert rc == 0, err
    assert "Biceps curl" in out
    units = next(line for line in out.splitlines() if line.startswith("units:"))
    for muscle in ("biceps", "deltoid anterior", "triceps"):
        assert f"left {muscle} µV" in units and f"right {muscle} µV" in units
    assert "glute" not in out
    [session] = json.loads(coach(capsys, "--config", config, "sessions", "--json")[1])
    assert session["sets"][0]["exercise"] == "biceps_curl"


def test_unknown_exercise_suggests_a_name(capsys, tmp_path):
    config = write_config(tmp_path)
    assert coach(capsys, "--config", config, "clients", "add", "Ana")[0] == 0
    rc, out, err = coach(capsys, "--config", config, "record", "--client", "Ana", "--simulate", "--exercise", "hip thurst")
    assert rc == 2 and out == ""
    line = one_line(err)
    assert "did you mean" in line and "Hip thrust" in line
    assert json.loads(coach(capsys, "--config", config, "sessions", "--json")[1]) == []


def test_record_for_an_unknown_client_says_how_to_add_one(capsys, tmp_path):
    config = write_config(tmp_path)
    rc, out, err = coach(capsys, "--config", config, "record", "--client", "Nobody", "--simulate", "--seconds", "1")
    assert rc == 2 and out == ""
    line = one_line(err)
    assert "Nobody" in line and "coach clients add" in line
    assert not list((tmp_path / "data").glob("s-*"))


def test_record_rest_scenario_has_no_reps(capsys, tmp_path):
    config = write_config(tmp_path)
    assert coach(capsys, "--config", config, "clients", "add", "Ana")[0] == 0
    rc, out, err = coach(capsys, "--config", config, "record", "--client", "Ana", "--simulate", "rest", "--seconds", "6")
    assert rc == 0, err
    assert not [line for line in out.splitlines() if REP.match(line)]
    assert "6.0 s, 0 reps" in out
    [session] = json.loads(coach(capsys, "--config", config, "sessions", "--json")[1])
    assert session["status"] == "complete" and session["sets"][0]["reps"] == 0


@pytest.mark.parametrize("option", [["--seconds", "0"], ["--seconds", "-3"], ["--load", "-1"]])
def test_record_refuses_bad_numbers(capsys, tmp_path, option):
    config = write_config(tmp_path)
    assert coach(capsys, "--config", config, "clients", "add", "Ana")[0] == 0
    rc, out, err = coach(capsys, "--config", config, "record", "--client", "Ana", "--simulate", *option)
    assert rc == 2 and out == "" and option[0] in one_line(err)


def test_record_refuses_seconds_nan(capsys, tmp_path):
    config = write_config(tmp_path)
    assert coach(capsys, "--config", config, "clients", "add", "Ana")[0] == 0
    rc, out, err = coach(capsys, "--config", config, "record", "--client", "Ana", "--simulate", "--seconds", "nan")
    assert rc == 2 and out == "" and "--seconds" in one_line(err)
    assert json.loads(coach(capsys, "--config", config, "sessions", "--json")[1]) == []


# --- 3. live equals stored -------------------------------------------------------------------
def test_stored_reps_equal_a_reanalysis_of_the_stored_samples(recorded):
    repo = stored(recorded.sessions_dir)
    [session] = repo.sessions()
    [record] = repo.sets(session.id)
    assert len(record.reps) >= 5
    again = reanalyze(recorded.sessions_dir / session.folder / record.recording)
    assert again.complete
    assert again.reps == list(record.reps)
    assert again.analyzer.samples_aligned / again.plan.fs_hz == record.duration_s


# --- 4. sessions -----------------------------------------------------------------------------
def test_sessions_client_filter_and_unknown_client(capsys, tmp_path):
    config = write_config(tmp_path)
    rc, out, _ = coach(capsys, "--config", config, "sessions")
    assert rc == 0 and "coach record" in out
    for name in ("Ana", "Bo"):
        assert coach(capsys, "--config", config, "clients", "add", name)[0] == 0
    for name, seconds in (("Ana", "3"), ("Bo", "2"), ("Ana", "2")):
        assert coach(capsys, "--config", config, "record", "--client", name, "--simulate", "rest", "--seconds", seconds)[0] == 0

    everything = json.loads(coach(capsys, "--config", config, "sessions", "--json")[1])
    assert [s["client"] for s in everything] == ["Ana", "Bo"]  # Ana's two sets are one visit
    assert [s["started"] for s in everything] == sorted(s["started"] for s in everything)
    [ana] = json.loads(coach(capsys, "--config", config, "sessions", "--client", "ana", "--json")[1])
    assert [s["duration_s"] for s in ana["sets"]] == pytest.approx([3.0, 2.0])
    assert ana["client"] == "Ana" and ana["status"] == "complete"
    rc, out, _ = coach(capsys, "--config", config, "sessions", "--client", "Bo")
    assert rc == 0 and "Bo" in out and "Ana" not in out and "complete" in out

    rc, out, err = coach(capsys, "--config", config, "sessions", "--client", "Zed")
    assert rc == 2 and out == ""
    assert "Zed" in one_line(err) and "coach clients add" in err


# --- 5. export -------------------------------------------------------------------------------
def test_export_csv(capsys, recorded, tmp_path):
    repo = stored(recorded.sessions_dir)
    [session] = repo.sessions()
    [record] = repo.sets(session.id)
    rc, out, err = coach(capsys, "--config", recorded.config, "export", session.id, "--format", "csv", "--out", tmp_path / "out")
    assert rc == 0, err
    written = [Path(line) for line in out.splitlines()]
    assert sorted(p.name for p in written) == sorted([f"{session.id}-reps.csv", f"{session.id}-set-01-envelope.csv"])
    for path in written:
        assert mode(path) == 0o600
    assert mode(tmp_path / "out") == 0o700

    with open(tmp_path / "out" / f"{session.id}-reps.csv", newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    assert rows[0] == REP_COLUMNS
    assert len(rows) - 1 == len(record.reps)
    for row, rep in zip(rows[1:], record.reps):
        values = dict(zip(REP_COLUMNS, row))
        assert int(values["rep"]) == rep.index and values["exercise"] == "hip_thrust" and values["units"] == "µV"
        assert float(values["peak"]) == pytest.approx(rep.peak, rel=1e-5)
        assert float(values["start_s"]) == pytest.approx(rep.start_s, abs=1e-4)

    envelope = tmp_path / "out" / f"{session.id}-set-01-envelope.csv"
    header = envelope.read_text(encoding="utf-8").splitlines()[0].split(",")
    assert header == ["time_s", "glute_max L (µV)", "glute_max R (µV)", "hamstrings L (µV)", "hamstrings R (µV)"]
    data = np.loadtxt(envelope, delimiter=",", skiprows=1)
    assert data.shape == (40000, 5)
    assert data[-1, 0] == pytest.approx(39999 / 2000)
    assert np.all(data[:, 1:] >= 0) and data[:, 1:].max() > 100  # envelopes in µV


def test_export_edf_round_trips_with_edfio(capsys, recorded, tmp_path):
    import edfio

    repo = stored(recorded.sessions_dir)
    [session] = repo.sessions()
    [record] = repo.sets(session.id)
    rc, out, err = coach(capsys, "--config", recorded.config, "export", session.id, "--format", "edf", "--out", tmp_path / "out")
    assert rc == 0, err
    [path] = [Path(line) for line in out.splitlines()]
    assert path.suffix == ".edf" and mode(path) == 0o600

    edf = edfio.read_edf(path)
    recording = read_recording(recorded.sessions_dir / session.folder / record.recording)
    expected = [(fmt, c, label) for fmt in recording.sensors for c, label in enumerate(fmt.labels)]
    assert [s.label for s in edf.signals] == [label for _, _, label in expected]
    assert {s.label for s in edf.signals} == {"glute_max L", "glute_max R", "hamstrings L", "hamstrings R"}
    for signal_, (fmt, c, _) in zip(edf.signals, expected):
        assert signal_.sampling_frequency == 2000
        assert signal_.physical_dimension == "uV"
        samples = recording.samples(fmt.sensor_id)[:, c].astype(np.float64)
        assert len(samples) == 40000
        assert len(signal_.data) == int(np.ceil(len(samples) / fmt.fs_hz) * fmt.fs_hz)  # whole seconds
        np.testing.assert_allclose(signal_.data[: len(samples)], samples, rtol=0, atol=1e-6)
        assert not np.any(signal_.data[len(samples):])
    reps = [a for a in edf.annotations if a.text.startswith("rep ")]
    assert [a.text for a in reps] == [f"rep {r.index}" for r in record.reps]
    assert [a.onset for a in reps] == pytest.approx([r.start_s for r in record.reps], abs=1e-3)


def test_export_json_provenance(capsys, recorded, tmp_path):
    import coach_tui

    [session] = stored(recorded.sessions_dir).sessions()
    rc, out, err = coach(capsys, "--config", recorded.config, "export", session.id, "--format", "json", "--out", tmp_path / "out")
    assert rc == 0, err
    [path] = [Path(line) for line in out.splitlines()]
    assert mode(path) == 0o600
    doc = json.loads(path.read_text(encoding="utf-8"))
    assert coach_tui.__version__ in doc["software"]
    assert doc["session"]["id"] == session.id and doc["session"]["status"] == "complete"
    [set_] = doc["sets"]
    assert len(set_["devices"]) == 4
    for device in set_["devices"]:
        assert device["sample_rate_hz"] == 2000 and device["units"] == "µV"
        assert "simulated" in device["source"] and device["resolution"]
    assert set_["placements"] == {
        "sim-glute_max-L": [["glute_max", "L"]], "sim-glute_max-R": [["glute_max", "R"]],
        "sim-hamstrings-L": [["hamstrings", "L"]], "sim-hamstrings-R": [["hamstrings", "R"]],
    }
    assert set_["analysis_settings"]["filters"]["band_hz"] == [20.0, 450.0]
    assert set_["analysis_settings"]["envelope"]["window_ms"] == 100.0
    assert set_["calibrations_used"] == [] and doc["calibrations"] == [] and set_["mvc_references"] == {}
    assert set_["recording"] == {"complete": True, "recovered": False}


def test_export_unknown_session(capsys, recorded, tmp_path):
    rc, out, err = coach(capsys, "--config", recorded.config, "export", "s-nope", "--format", "csv", "--out", tmp_path / "out")
    assert rc == 2 and out == ""
    assert "s-nope" in one_line(err) and "coach sessions" in err
    assert not (tmp_path / "out").exists()


def test_export_into_an_unusable_folder(capsys, recorded, tmp_path):
    [session] = stored(recorded.sessions_dir).sessions()
    (tmp_path / "file.txt").write_text("not a folder")
    for fmt in ("csv", "edf", "json"):
        rc, out, err = coach(capsys, "--config", recorded.config, "export", session.id, "--format", fmt,
                             "--out", tmp_path / "file.txt" / "sub")
        assert rc == 2 and out == ""
        assert "file.txt" in one_line(err)


# --- 6. permissions --------------------------------------------------------------------------
def test_everything_stored_is_owner_only(capsys, tmp_path):
    old = os.umask(0)  # owner-only must not depend on the umask
    try:
        config = write_config(tmp_path)
        assert coach(capsys, "--config", config, "clients", "add", "Ana")[0] == 0
        assert coach(capsys, "--config", config, "record", "--client", "Ana", "--simulate", "rest", "--seconds", "2")[0] == 0
        assert coach(capsys, "--config", config, "clients")[0] == 0  # a writer's load makes the backup
        [session] = json.loads(coach(capsys, "--config", config, "sessions", "--json")[1])
    finally:
        os.umask(old)
    data = tmp_path / "data"
    assert mode(data) == 0o700
    assert mode(data / "coach.json") == 0o600
    assert mode(data / "coach.json.bak") == 0o600
    folder = data / session["id"]
    assert mode(folder) == 0o700
    files = sorted(folder.iterdir())
    assert [p.name for p in files] == ["set-01.json", "set-01.raw"]
    assert all(mode(p) == 0o600 for p in files)
    assert not (data / "coach.lock").exists()  # released


# --- 7. second writer ------------------------------------------------------------------------
def test_second_writer_is_refused_naming_the_holder_and_readers_still_work(tmp_path):
    config = write_config(tmp_path / "cfg", extra="")  # realtime kit
    assert coach_subprocess(tmp_path, "--config", config, "clients", "add", "Ana").returncode == 0
    recorder = Recorder(tmp_path, config, "Ana")
    try:
        recorder.wait_for(LIVE.match)
        writer = coach_subprocess(tmp_path, "--config", config, "clients", "add", "Bo")
        assert writer.returncode == 2 and writer.stdout == ""
        line = one_line(writer.stderr)
        assert "in use" in line and f"pid {recorder.proc.pid}" in line and "coach record" in line

        reader = coach_subprocess(tmp_path, "--config", config, "clients", "--json")
        assert reader.returncode == 0, reader.stderr
        assert [c["name"] for c in json.loads(reader.stdout)] == ["Ana"]
        sessions = coach_subprocess(tmp_path, "--config", config, "sessions", "--json")
        assert sessions.returncode == 0 and "recovered" not in sessions.stderr
        assert [s["status"] for s in json.loads(sessions.stdout)] == ["recording"]

        recorder.proc.send_signal(signal.SIGINT)
        assert recorder.proc.wait(timeout=15) == 0
        recorder.drain()
    finally:
        recorder.stop()
    assert "set saved in session" in "\n".join(recorder.lines)
    [session] = json.loads(coach_subprocess(tmp_path, "--config", config, "sessions", "--json").stdout)
    assert session["status"] == "complete" and session["duration_s"] > 0.5
    assert coach_subprocess(tmp_path, "--config", config, "clients", "add", "Bo").returncode == 0


# --- 8. kill -9 ------------------------------------------------------------------------------
def test_kill_9_loses_at_most_about_a_second_and_is_recovered_on_next_start(capsys, tmp_path):
    config = write_config(tmp_path / "cfg", extra="")  # realtime kit
    assert coach(capsys, "--config", config, "clients", "add", "Ana")[0] == 0
    recorder = Recorder(tmp_path, config, "Ana")
    try:
        shown = float(LIVE.match(recorder.wait_for(lambda line: bool(LIVE.match(line)) and
                                                   float(LIVE.match(line).group(1)) >= 5.0)).group(1))
        time.sleep(0.5)
        recorder.proc.send_signal(signal.SIGKILL)
        recorder.proc.wait(timeout=10)
    finally:
        recorder.stop()
    # reps shown before the stream reached shown − 1 s were computed from data that must have survived
    safe_reps = []
    for line in recorder.lines:
        live = LIVE.match(line)
        if live and float(live.group(1)) >= shown - 1.0:
            break
        if REP.match(line):
            safe_reps.append(REP.match(line))
    assert safe_reps, "\n".join(recorder.lines)
    data = tmp_path / "cfg" / "data"
    assert [s.status for s in stored(data).sessions()] == ["recording"]

    rc, out, err = coach(capsys, "--config", config, "sessions", "--json")
    assert rc == 0
    assert "recovered session" in err and "Ana" in err
    assert "took over a stale lock" in err and f"pid {recorder.proc.pid}" in err
    [session] = json.loads(out)
    assert session["status"] == "recovered"
    assert shown - 1.0 <= session["duration_s"] <= shown + 1.0
    [set_] = session["sets"]
    assert set_["duration_s"] == pytest.approx(session["duration_s"], abs=0.01)
    assert set_["reps"] >= len(safe_reps)

    repo = stored(data)
    [record] = repo.sets(session["id"])
    assert [round(r.peak) for r in record.reps[: len(safe_reps)]] == [int(m.group(2)) for m in safe_reps]
    recording = read_recording(data / session["id"] / record.recording)
    assert recording.complete and recording.recovered
    assert reanalyze(data / session["id"] / record.recording).reps == list(record.reps)

    rc, _, err = coach(capsys, "--config", config, "sessions")
    assert rc == 0 and "recovered session" not in err and "stale" not in err  # only once


# --- 9. damaged coach.json -------------------------------------------------------------------
def test_corrupt_database_is_never_overwritten_and_restore_backup_brings_it_back(capsys, tmp_path):
    config = write_config(tmp_path)
    data = tmp_path / "data"
    rc, out, err = coach(capsys, "--config", config, "restore-backup")
    assert rc == 2 and "no backup" in one_line(err)

    for name in ("Ana", "Bo"):
        assert coach(capsys, "--config", config, "clients", "add", name)[0] == 0
    assert coach(capsys, "--config", config, "clients")[0] == 0  # the backup now holds both
    good = json.loads((data / "coach.json").read_text(encoding="utf-8"))

    garbage = b'{"clients": {"c-1": {"id": "c-1", "name": "Ana"'  # cut short by a hand edit
    (data / "coach.json").write_bytes(garbage)
    for argv in (["clients"], ["clients", "add", "Cy"], ["sessions", "--json"],
                 ["record", "--client", "Ana", "--simulate", "--seconds", "1"]):
        rc, out, err = coach(capsys, "--config", config, *argv)
        assert rc == 2 and out == "", argv
        line = one_line(err)
        assert "coach.json" in line and "invalid JSON" in line and "restore-backup" in line
        assert (data / "coach.json").read_bytes() == garbage
    assert not list(data.glob("s-*"))

    rc, out, err = coach(capsys, "--config", config, "restore-backup")
    assert rc == 0, err
    assert "restored" in out
    [aside] = data.glob("coach.json.corrupt-*")
    assert aside.read_bytes() == garbage and mode(aside) == 0o600
    assert json.loads((data / "coach.json").read_text(encoding="utf-8")) == good
    rc, out, _ = coach(capsys, "--config", config, "clients", "--json")
    assert rc == 0 and [c["name"] for c in json.loads(out)] == ["Ana", "Bo"]
    assert coach(capsys, "--config", config, "clients", "add", "Cy")[0] == 0


def test_database_of_the_wrong_shape_is_named(capsys, tmp_path):
    config = write_config(tmp_path)
    data = tmp_path / "data"
    data.mkdir(mode=0o700)
    (data / "coach.json").write_text('{"clients": {"c-1": {"id": "c-2", "name": "Ana"}}}')
    rc, _, err = coach(capsys, "--config", config, "clients")
    assert rc == 2
    line = one_line(err)
    assert "does not match its key" in line and "there is no backup" in line
    rc, _, err = coach(capsys, "--config", config, "restore-backup")
    assert rc == 2 and "no backup" in one_line(err)


# --- 10. where data goes ---------------------------------------------------------------------
def test_help_names_coach_sessions_and_sessions_dir(tmp_path):
    result = coach_subprocess(tmp_path, "--help")
    assert result.returncode == 0
    assert "COACH_SESSIONS" in result.stdout and "sessions_dir" in result.stdout and "--config" in result.stdout


def test_sessions_dir_is_relative_to_the_config_file(capsys, tmp_path, isolated):
    config = write_config(tmp_path / "elsewhere", sessions="store/here")
    assert coach(capsys, "--config", config, "clients", "add", "Ana")[0] == 0
    assert (tmp_path / "elsewhere" / "store" / "here" / "coach.json").exists()
    assert not list(isolated.iterdir())  # nothing in the working folder


def test_coach_sessions_overrides_the_config(capsys, tmp_path, isolated, monkeypatch):
    config = write_config(tmp_path / "cfg")
    monkeypatch.setenv("COACH_SESSIONS", str(tmp_path / "override"))
    assert coach(capsys, "--config", config, "clients", "add", "Ana")[0] == 0
    assert coach(capsys, "--config", config, "record", "--client", "Ana", "--simulate", "rest", "--seconds", "1")[0] == 0
    assert (tmp_path / "override" / "coach.json").exists()
    assert len(list((tmp_path / "override").glob("s-*/set-01.raw"))) == 1
    assert not (tmp_path / "cfg" / "data").exists()
    monkeypatch.delenv("COACH_SESSIONS")
    assert json.loads(coach(capsys, "--config", config, "clients", "--json")[1]) == []


def test_working_config_keeps_data_where_it_says_else_in_the_user_data_folder(capsys, isolated, user_folders):
    (isolated / "config.toml").write_text('sessions_dir = "sessions"\n' + FAST, encoding="utf-8")
    assert coach(capsys, "clients", "add", "Ana")[0] == 0
    assert (isolated / "sessions" / "coach.json").exists()
    (isolated / "config.toml").write_text(FAST, encoding="utf-8")  # no sessions_dir
    assert coach(capsys, "clients", "add", "Bo")[0] == 0
    assert (user_folders / "data" / "coach-tui" / "sessions" / "coach.json").exists()
    assert sorted(p.name for p in isolated.iterdir()) == ["config.toml", "sessions"]


def test_unusable_sessions_folder_refuses_writers_with_one_line(capsys, tmp_path, monkeypatch):
    config = write_config(tmp_path)
    (tmp_path / "file.txt").write_text("not a folder")
    monkeypatch.setenv("COACH_SESSIONS", str(tmp_path / "file.txt" / "sub"))
    for argv in (["clients", "add", "Ana"], ["record", "--client", "Ana", "--simulate", "--seconds", "1"]):
        rc, out, err = coach(capsys, "--config", config, *argv)
        assert rc == 2 and out == ""
        assert "file.txt" in one_line(err)


@pytest.mark.parametrize("argv", [["clients"], ["sessions"], ["export", "s-1", "--format", "csv", "--out", "out"]])
def test_unusable_sessions_folder_refuses_readers_with_one_line(capsys, tmp_path, monkeypatch, argv):
    config = write_config(tmp_path)
    (tmp_path / "file.txt").write_text("not a folder")
    monkeypatch.setenv("COACH_SESSIONS", str(tmp_path / "file.txt" / "sub"))
    rc, out, err = coach(capsys, "--config", config, *argv)
    assert rc == 2 and out == ""
    assert "file.txt" in one_line(err)


# --- disk full -------------------------------------------------------------------------------
class _DiskFills:
    """Stands in for ``os`` in coach_tui.store.recording_writer: ``write`` fails with ENOSPC once
    ``allowed`` calls have succeeded (or, with ``on_close``, from the final flush on)."""

    def __init__(self, allowed: int | None):
        self.allowed = allowed
        self.calls = 0
        self.closing = False

    def __getattr__(self, name):
        return getattr(os, name)

    def write(self, fd, data):
        self.calls += 1
        if (self.allowed is not None and self.calls > self.allowed) or self.closing:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return os.write(fd, data)


def _assert_disk_full_kept(capsys, config: Path, rc: int, err: str):
    assert rc == 1
    assert "Traceback" not in err
    assert re.search(r"disk full|no space", err, re.IGNORECASE), err
    data = config.parent / "data"
    [session] = stored(data).sessions()  # as the record command left it, before any recovery
    assert session.status == "recovered"
    [record] = stored(data).sets(session.id)
    assert record.duration_s > 0
    recording = read_recording(data / session.folder / record.recording)
    assert recording.complete and recording.recovered and recording.truncated_bytes == 0
    assert record.duration_s == pytest.approx(min(recording.seconds(s.sensor_id) for s in recording.sensors), abs=0.05)
    assert reanalyze(data / session.folder / record.recording).reps == list(record.reps)
    rc, out, err = coach(capsys, "--config", config, "sessions", "--json")
    assert rc == 0 and "recovered session" not in err
    [listed] = json.loads(out)
    assert listed["status"] == "recovered" and listed["sets"][0]["duration_s"] == record.duration_s
    return record


def test_disk_full_while_recording_stops_cleanly_and_keeps_what_was_written(capsys, tmp_path):
    config = write_config(tmp_path)
    assert coach(capsys, "--config", config, "clients", "add", "Ana")[0] == 0
    fake = _DiskFills(allowed=40)
    with pytest.MonkeyPatch.context() as patch:
        # flush every write (deterministic), and let the disk fill after 40 writes (1 s of 4 sensors: the
        # console processes each sensor in 100 ms batches)
        patch.setitem(RecordingWriter.__init__.__kwdefaults__, "flush_interval_s", 0.0)
        patch.setattr(recording_writer, "os", fake)
        rc, out, err = coach(capsys, "--config", config, "record", "--client", "Ana", "--simulate", "--seconds", "10")
    assert fake.calls == 41
    record = _assert_disk_full_kept(capsys, config, rc, err)
    # 40 writes hold 10 batches of 100 ms of each of the 4 sensors when they interleave evenly (as the
    # kit's tasks happen to be scheduled, up to a batch or two apart): about 1 s kept, said as stored
    assert 0.7 <= record.duration_s <= 1.05
    assert f"{record.duration_s:.1f} s" in err and "kept" in err
    assert "set saved in session" in out


def test_disk_full_in_the_last_flush_also_stops_cleanly(capsys, tmp_path):
    config = write_config(tmp_path)
    assert coach(capsys, "--config", config, "clients", "add", "Ana")[0] == 0
    fake = _DiskFills(allowed=None)
    original_close = RecordingWriter.close

    def close(self):
        fake.closing = True
        return original_close(self)

    with pytest.MonkeyPatch.context() as patch:
        # flush every ~15 kB only, so the final flush in close() has data left to write; the disk fills then
        patch.setitem(RecordingWriter.__init__.__kwdefaults__, "flush_interval_s", 1e9)
        patch.setitem(RecordingWriter.__init__.__kwdefaults__, "max_buffer_bytes", 15000)
        patch.setattr(recording_writer, "os", fake)
        patch.setattr(RecordingWriter, "close", close)
        rc, _out, err = coach(capsys, "--config", config, "record", "--client", "Ana", "--simulate", "--seconds", "10")
    _assert_disk_full_kept(capsys, config, rc, err)


def test_a_client_without_a_name_is_refused_in_words(capsys, tmp_path):
    config = write_config(tmp_path)
    rc, out, err = coach(capsys, "--config", config, "clients", "add", "  ")
    assert rc == 2 and out == "" and one_line(err) == 'coach clients: give the client a name: coach clients add "Ana Díaz"'


def test_a_client_name_typed_without_its_accents_is_suggested(capsys, tmp_path):
    config = write_config(tmp_path)
    for name in ("Zoë Ørsted", "Ana"):
        assert coach(capsys, "--config", config, "clients", "add", name)[0] == 0
    rc, out, err = coach(capsys, "--config", config, "record", "--client", "zoe", "--simulate", "--seconds", "1")
    assert rc == 2 and out == ""
    line = one_line(err)
    assert "did you mean 'Zoë Ørsted'?" in line and "Ana" not in line
