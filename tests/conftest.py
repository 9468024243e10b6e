"""Shared test helpers: where the real recordings live and how to skip when they are absent."""

from __future__ import annotations

from pathlib import Path

import pytest

#: Project root (/work/main) and the read-only real recordings next to it (../shared/data).
ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"
PHYSICAL_ACTION = DATA / "uci_emg_physical_action"
LOWER_LIMB = DATA / "uci_lower_limb_emg"


def needs_shared_data(test):
    """Decorator for tests (or classes) reading ../shared/data: marked ``shared_data`` and skipped
    with a clear reason when the folder is absent."""
    skip = pytest.mark.skipif(not DATA.exists(), reason="../shared/data absent")
    return pytest.mark.shared_data(skip(test))


@pytest.fixture(autouse=True)
def user_folders(tmp_path_factory, monkeypatch):
    """Every test gets its own user config, data and log folders (platformdirs reads the XDG
    variables on Linux), so nothing a test runs reads or writes the real home folder."""
    home = tmp_path_factory.mktemp("user")
    for variable, name in (("XDG_CONFIG_HOME", "config"), ("XDG_DATA_HOME", "data"), ("XDG_STATE_HOME", "state")):
        monkeypatch.setenv(variable, str(home / name))
    return home


@pytest.fixture
def isolated(tmp_path, monkeypatch):
    """An empty working folder, an empty user config dir and no COACH_SESSIONS, so the packaged
    reference config applies unless a test writes one."""
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    monkeypatch.delenv("COACH_SESSIONS", raising=False)
    return work
