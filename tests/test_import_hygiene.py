"""The core never imports the UI: domain, dsp and sources load without Textual."""

import subprocess
import sys

import pytest


@pytest.mark.parametrize("package", ["coach_tui.domain", "coach_tui.dsp", "coach_tui.sources", "coach_tui.store", "coach_tui.config"])
def test_core_package_does_not_import_textual(package):
    code = (
        f"import importlib, pkgutil, sys\n"
        f"pkg = importlib.import_module('{package}')\n"
        f"for m in getattr(pkg, '__path__', None) and pkgutil.walk_packages(pkg.__path__, '{package}.') or []:\n"
        f"    importlib.import_module(m.name)\n"
        f"bad = sorted(n for n in sys.modules if n.split('.')[0] in ('textual', 'tinydb'))\n"
        f"print(','.join(bad))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "", f"{package} imported {result.stdout.strip()}"


def test_dsp_import_defers_scipy_signal():
    code = "import sys, coach_tui.dsp; print('scipy.signal' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"
