"""A trainer's first hour with a new client, on the real ``coach`` in tmux: new client, placement and
its check, calibration, three sets with a load (a sensor lost during the second), an A/B test,
history and the report — at 80×24 in 16 colours and at 120×40 without colour. Slow (real time,
about three minutes a size): ``-m "not slow"`` leaves it out."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time

import pytest
from conftest import ROOT

from coach_tui.store.database import Database
from coach_tui.store.repository import Repository

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("isolated"),
              pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")]


class Tmux:
    """The console in a detached tmux session of its own tmux server (``-L``): keys in, the screen's
    text out. A server of its own, so no other session (the other walkthrough, the user's own tmux)
    can resize its window; its size is checked before the first key."""

    def __init__(self, name: str, width: int, height: int, folder, env: dict[str, str]):
        self.name = name
        variables = " ".join(f"{k}={v}" for k, v in env.items())
        command = f"cd {folder} && env {variables} {sys.executable} -m coach_tui.cli --config config.toml"
        self._tmux("kill-server", check=False)
        self._tmux("new-session", "-d", "-s", name, "-x", str(width), "-y", str(height), command)
        size = self._tmux("display-message", "-p", "-t", name, "#{window_width}x#{window_height}").stdout.strip()
        assert size == f"{width}x{height}", f"tmux made a {size} window, not {width}x{height}"

    def _tmux(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        return subprocess.run(["tmux", "-L", self.name, "-f", "/dev/null", *args], capture_output=True, text=True,
                              check=check)

    def keys(self, *keys: str) -> None:
        for key in keys:
            self._tmux("send-keys", "-t", self.name, key)
            time.sleep(0.15)  # a person's pace: each key is taken before the next

    def type(self, text: str) -> None:
        self._tmux("send-keys", "-t", self.name, "-l", text)

    def screen(self) -> str:
        return self._tmux("capture-pane", "-t", self.name, "-p", check=False).stdout

    def wait_for(self, what, timeout: float = 30.0) -> str:
        """The screen once ``what`` (text, or a predicate of the screen) shows; fails with the screen."""
        deadline = time.monotonic() + timeout
        while True:
            shown = self.screen()
            if (what in shown) if isinstance(what, str) else what(shown):
                return shown
            if time.monotonic() > deadline:
                pytest.fail(f"{what!r} not shown within {timeout} s; the screen:\n{shown}")
            time.sleep(0.2)

    def running(self) -> bool:
        return self._tmux("has-session", "-t", self.name, check=False).returncode == 0

    def close(self) -> None:
        self._tmux("kill-server", check=False)


def _rec_seconds(screen: str) -> int:
    return int(re.search(r"REC\s+(\d+) s", screen).group(1))


def _reps(screen: str) -> int:
    found = re.search(r"reps: (\d+)", screen)
    return int(found.group(1)) if found else 0


@pytest.mark.parametrize("width, height, colours", [(80, 24, {"TERM": "screen"}), (120, 40, {"NO_COLOR": "1"})])
def test_a_trainers_first_hour(tmp_path, width, height, colours):
    folder = tmp_path / "rack"
    folder.mkdir()
    config = (ROOT / "config.toml").read_text(encoding="utf-8")
    config = config.replace("reps_per_set = 6", "reps_per_set = 3").replace("rest_seconds = 90.0", "rest_seconds = 0.0")
    (folder / "config.toml").write_text(config, encoding="utf-8")
    data = folder / "data"
    env = {"COACH_SESSIONS": str(data), "PYTHONPATH": str(ROOT), "HOME": str(tmp_path), "XDG_CONFIG_HOME": str(tmp_path),
           **colours}
    tmux = Tmux(f"coach-walk-{os.getpid()}-{width}", width, height, folder, env)
    try:
        tmux.wait_for("Clients")
        # a new client
        tmux.keys("n")
        tmux.wait_for("New client")
        tmux.type("Zoë Ørsted")
        tmux.keys("Enter")
        tmux.wait_for("Zoë Ørsted   ")

        # placement and its check: every sensor streams, graded ok
        tmux.keys("p")
        screen = tmux.wait_for(lambda s: s.count("● ok") == 4, timeout=20)
        assert all(f"{side} {muscle}" in screen for side in ("left", "right") for muscle in ("glute max", "hamstrings"))
        tmux.keys("Escape")

        # calibration of the glutes: the rest baseline, three trials, saved
        tmux.keys("c")
        tmux.wait_for("Calibrate which muscle")
        tmux.keys("Enter")
        tmux.wait_for("rest baseline — relax completely")
        tmux.wait_for("done — a saves", timeout=60)
        tmux.keys("a")
        tmux.wait_for("saved ✓")
        tmux.keys("Escape")
        tmux.wait_for("glute max LR")

        # three sets with a load; a sensor lost during the second
        tmux.keys("Enter")
        tmux.wait_for("○ ready")
        tmux.keys("k")
        tmux.wait_for("Load for the next sets")
        tmux.type("62.5")
        tmux.keys("Enter")
        tmux.wait_for("62.5 kg")
        for n, rating in ((1, "7"), (2, "8"), (3, "6")):
            tmux.keys("Space")
            tmux.wait_for(lambda s: "● REC" in s and _reps(s) >= 1, timeout=20)
            if n == 2:
                tmux.keys("F9")
                lost = tmux.wait_for("lost — reconnecting")
                clock = _rec_seconds(lost)
                time.sleep(3.0)
                away = tmux.wait_for("lost — reconnecting")
                assert _rec_seconds(away) >= clock + 2  # the set's clock goes on while the sensor is away
                assert "incomplete: sensor lost" in tmux.wait_for("incomplete: sensor lost", timeout=15)
                tmux.keys("F9")
                tmux.wait_for("sensor back — watching the link")
                tmux.wait_for(lambda s: "lost — reconnecting" not in s and "sensor back" not in s, timeout=15)
            tmux.wait_for(lambda s: _reps(s) >= 3, timeout=30)
            tmux.keys("Space")
            # the rating asked and the set said saved, on one screen (the toast may draw a frame later)
            tmux.wait_for(lambda s, n=n: "How hard did the client feel" in s and f"set {n} saved" in s)
            tmux.keys(rating)
            tmux.wait_for("○ ready")

        # an A/B test: hip thrust against cable pull-through, three reps a set, A B B A
        tmux.keys("a")
        tmux.wait_for("New A/B test")
        tmux.keys("Space", "Down", "Down", "Space")
        tmux.wait_for("order: A B B A")
        assert "✓" in tmux.screen()  # picked variations read without colour
        tmux.keys("Tab", "Enter")
        screen = tmux.wait_for("next: set 1 of 4")
        for n, letter in zip((1, 2, 3, 4), "ABBA"):
            tmux.keys("Space")
            tmux.wait_for(f"A/B set {n} of 4 (variation {letter})")
            tmux.wait_for("○ ready")
            tmux.keys("Space")
            tmux.wait_for("How hard did the client feel", timeout=40)  # it stops itself at 3 reps
            tmux.keys("7")
            tmux.wait_for("A/B test —")
            tmux.wait_for(f"next: set {n + 1} of 4" if n < 4 else "all 4 sets done")  # the set is saved
        screen = tmux.wait_for("all 4 sets done", timeout=30)
        assert "se²" not in screen and "Satterthwaite" not in screen  # formulas are in ? help
        tmux.keys("?")
        help_screen = tmux.wait_for("Keys — A/B test")
        tmux.keys("Escape")

        # history: one session for the visit; every set with its load
        tmux.keys("h")
        screen = tmux.wait_for(lambda s: "1 session" in s and "Perceived vs measured" in s)  # the list is there
        tmux.keys("Up")  # the last entry: every set
        screen = tmux.wait_for("62.5 kg")
        assert screen.count("62.5 kg") >= min(7, height - 8)
        tmux.keys("r")
        tmux.wait_for("report written")
        tmux.keys("q")
        deadline = time.monotonic() + 15
        while tmux.running() and time.monotonic() < deadline:
            time.sleep(0.2)
    finally:
        tmux.close()
    assert "Hedges" in help_screen or "Welch" in help_screen or "How the numbers" in help_screen

    with Database(data, read_only=True) as database:
        repo = Repository(database)
        (client,) = [c for c in repo.clients() if c.name == "Zoë Ørsted"]
        (session,) = repo.sessions(client.id)
        sets = repo.sets(session.id)
        (test,) = repo.abtests(client.id)
    assert session.status == "complete"
    assert [s.index for s in sets] == list(range(1, 8)) and all(s.load_kg == 62.5 for s in sets)
    assert [s.perceived_activation for s in sets[:3]] == [7, 8, 6]
    assert any(r.incomplete for r in sets[1].reps) and not any(r.incomplete for s in (sets[0], sets[2]) for r in s.reps)
    assert test.next_position is None and test.verdict
    (report,) = (data / "reports").iterdir()
    assert report.name.startswith("zoe-orsted-")
