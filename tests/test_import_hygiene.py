"""Each layer imports only what DESIGN.md allows it (the core never imports the UI)."""

import subprocess
import sys
from pathlib import Path

import pytest


#: DESIGN.md's "never imports" column, per package.
NEVER_IMPORTS = {
    "coach_tui.domain": ("textual", "bleak", "tinydb"),
    "coach_tui.dsp": ("textual", "bleak", "tinydb"),
    "coach_tui.sources": ("textual", "tinydb"),
    "coach_tui.store": ("textual", "bleak"),
    "coach_tui.config": ("textual", "bleak", "tinydb"),
    "coach_tui.statistics": ("textual", "bleak", "tinydb"),
    "coach_tui.reports": ("textual", "bleak"),
    "coach_tui.workflows": ("textual",),
}

#: The only modules at the package root: every other module belongs to a layer's package.
ROOT_MODULES = {"__init__.py", "__main__.py", "cli.py", "config.py"}


def test_no_module_at_the_package_root_but_the_entry_points_and_config():
    import coach_tui

    root = Path(coach_tui.__file__).parent
    assert {p.name for p in root.glob("*.py")} <= ROOT_MODULES


@pytest.mark.parametrize("package", sorted(NEVER_IMPORTS))
def test_core_package_does_not_import_what_its_layer_must_not(package):
    code = (
        f"import importlib, pkgutil, sys\n"
        f"pkg = importlib.import_module('{package}')\n"
        f"for m in getattr(pkg, '__path__', None) and pkgutil.walk_packages(pkg.__path__, '{package}.') or []:\n"
        f"    importlib.import_module(m.name)\n"
        f"bad = sorted(n for n in sys.modules if n.split('.')[0] in {NEVER_IMPORTS[package]!r})\n"
        f"print(','.join(bad))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "", f"{package} imported {result.stdout.strip()}"


def test_dsp_import_defers_scipy_signal():
    code = "import sys, coach_tui.dsp; print('scipy.signal' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"
