"""Every headless command can speak JSON for scripts: ``--json`` on each, one JSON document on
stdout and nothing else there."""

from __future__ import annotations

import argparse
import json

import numpy as np
import pytest
from test_store_commands import coach, write_config

from coach_tui.cli import _parser

pytestmark = pytest.mark.usefixtures("isolated")


def _subcommands(parser: argparse.ArgumentParser, prefix: tuple[str, ...] = ()):
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield prefix + (name,), sub
                yield from _subcommands(sub, prefix + (name,))


def test_every_command_has_json():
    commands = dict(_subcommands(_parser()))
    assert {"record", "sessions", "export", "analyze", "report", "restore-backup", "scan", "check", "clients",
            "paths"} <= {c[0] for c in commands}
    missing = [" ".join(c) for c, sub in commands.items() if "--json" not in sub._option_string_actions]
    assert missing == []


def test_each_prints_one_json_document(capsys, tmp_path):
    config = write_config(tmp_path)
    signal = tmp_path / "signal.csv"
    np.savetxt(signal, np.random.default_rng(2).normal(0, 50, (4000, 2)), delimiter=",", header="biceps L,biceps R",
               comments="")

    def run(*argv) -> object:
        rc, out, err = coach(capsys, "--config", config, *argv)
        assert rc in (0, 1), (argv, err)
        return json.loads(out)

    added = run("clients", "add", "Ana", "--json")
    assert added["name"] == "Ana"
    assert [c["name"] for c in run("clients", "--json")] == ["Ana"]
    recorded = run("record", "--client", "Ana", "--simulate", "--seconds", "3", "--json")
    assert recorded["session"]["client"] == "Ana" and isinstance(recorded["reps"], list)
    session = recorded["session"]["id"]
    assert [s["id"] for s in run("sessions", "--json")] == [session]
    files = run("export", session, "--format", "json", "--out", tmp_path / "out", "--json")
    assert files == [str(tmp_path / "out" / f"{session}.json")]
    assert run("report", "Ana", "--json")["text"].startswith("#")
    assert run("report", "Ana", "--out", tmp_path / "ana.html", "--json")["path"] == str(tmp_path / "ana.html")
    assert run("paths", "--json")["sessions"]["path"] == str(tmp_path / "data")
    assert run("analyze", signal, "--fs", "1000", "--json")["fs_hz"] == 1000
    assert run("check", "--simulate", "--seconds", "0.5", "--json")["sensors"]
    restored = run("restore-backup", "--json")
    assert restored["restored"].endswith("coach.json.bak") and "coach.json.corrupt-" in restored["damaged_file_kept_as"]
