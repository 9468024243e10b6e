"""``coach analyze`` of a long file says how far it is on stderr when that is a terminal, and
clears the line when done; piped or redirected, stderr stays clean."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from coach_tui.cli import main

pytestmark = pytest.mark.usefixtures("isolated")


@pytest.mark.parametrize("terminal", [True, False])
def test_progress_on_a_terminal_only(capsys, tmp_path, monkeypatch, terminal):
    path = tmp_path / "long.npy"
    np.save(path, np.random.default_rng(3).normal(0, 50, (300_000, 2)))
    capsys.readouterr()
    monkeypatch.setattr(sys.stderr, "isatty", lambda: terminal)
    assert main(["analyze", str(path), "--fs", "2000", "--json"]) == 0
    out, err = capsys.readouterr()
    assert out.count("\n") == 1 and out.startswith("{")  # stdout is the JSON alone either way
    if not terminal:
        assert err == ""
        return
    assert "coach analyze: reading" in err and "filtering" in err and "%" in err and "measuring" in err
    assert err.endswith("\r\x1b[K")  # the line is cleared at the end
