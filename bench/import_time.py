"""Start-up cost: import time of coach_tui.dsp, of the `coach` command, and of scipy.signal alone;
`coach --version` and `coach --help`; the console's first paint; a whole `coach check --simulate`.

Each figure is the wall time of a fresh ``python -c ...`` subprocess (or command), best of N, minus
the best of ``python -c pass`` (interpreter start-up) measured in the same run, plus the cumulative
time ``-X importtime`` reports for the top-level module of that statement. The console's first
paint is ``coach --simulate`` in a pseudo-terminal until the clients screen shows
(``bench/console_paint.py``), reported whole and minus the interpreter start-up.

Run from the repository root: ``python bench/import_time.py [--runs 5]``. Targets (issue 11):
``coach --help`` and ``coach --version`` within 0.2 s, the first paint within 0.8 s (whole), and
``coach check --simulate --json`` (it listens 2 s) within 5 s whole.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def _env() -> dict[str, str]:
    """Make the checkout importable even without `pip install -e .`."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), env.get("PYTHONPATH", "")) if p)
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # let .pyc caches exist, as on a user's machine
    return env


def best_wall(cmd: list[str], runs: int) -> tuple[float | None, str]:
    """Best wall time (s) of ``cmd`` over ``runs``; None and the error text when it fails."""
    best = None
    for _ in range(runs + 1):  # the first run also compiles .pyc files: not counted
        start = time.perf_counter()
        proc = subprocess.run(cmd, cwd=REPO, env=_env(), capture_output=True, text=True)
        wall = time.perf_counter() - start
        if proc.returncode != 0:
            last = (proc.stderr.strip().splitlines() or [f"exit code {proc.returncode}"])[-1]
            return None, last
        if _ > 0:
            best = wall if best is None else min(best, wall)
    return best, ""


def importtime_cumulative(statement: str, module: str) -> float | None:
    """Cumulative µs that ``-X importtime`` reports for ``module`` (min over 3 runs)."""
    values = []
    for _ in range(3):
        proc = subprocess.run(
            [sys.executable, "-X", "importtime", "-c", statement], cwd=REPO, env=_env(), capture_output=True, text=True
        )
        if proc.returncode != 0:
            return None
        for line in proc.stderr.splitlines():
            m = re.match(r"import time:\s+\d+\s+\|\s+(\d+)\s+\|\s?(\s*)(\S+)$", line)
            if m and m.group(3) == module and m.group(2) == "":
                values.append(int(m.group(1)))
    return min(values) if values else None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5, help="subprocess runs per figure, best taken (default 5)")
    args = parser.parse_args()
    py = sys.executable

    baseline, _ = best_wall([py, "-c", "pass"], args.runs)
    print(f"Python {sys.version.split()[0]} at {py}; interpreter start-up (python -c pass): {baseline * 1e3:.1f} ms")
    print(f"Each row: best of {args.runs} fresh processes, start-up subtracted; -X importtime cumulative of the module.")
    print()

    cli_found = importlib.util.find_spec("coach_tui") is not None and (REPO / "coach_tui" / "cli.py").exists()
    beside = Path(sys.executable).with_name("coach")  # this interpreter's own, else the one on PATH
    coach_exe = str(beside) if beside.exists() else shutil.which("coach")
    rows: list[tuple[str, str, str, str]] = []

    def measure(label: str, statement: str, module: str | None, cmd: list[str] | None = None) -> None:
        wall, err = best_wall(cmd or [py, "-c", statement], args.runs)
        if wall is None:
            rows.append((label, "", "", f"failed: {err}"))
            return
        it = importtime_cumulative(statement, module) if module else None
        rows.append((label, f"{(wall - baseline) * 1e3:8.1f}", f"{it / 1e3:8.1f}" if it else "", ""))

    measure("import numpy", "import numpy", "numpy")
    measure("import scipy.signal", "import scipy.signal", "scipy.signal")
    measure("import coach_tui.dsp", "import coach_tui.dsp", "coach_tui.dsp")
    measure(
        "import coach_tui.dsp + first Pipeline()",
        "from coach_tui.dsp import Pipeline; Pipeline(2000, 8)",
        "coach_tui.dsp",
    )
    if cli_found:
        measure("import coach_tui.cli", "import coach_tui.cli", "coach_tui.cli")
    else:
        rows.append(("import coach_tui.cli", "", "", "not available (no coach_tui/cli.py yet)"))
    if coach_exe:
        measure(f"coach --version ({coach_exe})", "", None, cmd=[coach_exe, "--version"])
        measure(f"coach --help ({coach_exe})", "", None, cmd=[coach_exe, "--help"])
        measure(f"coach check --simulate --json ({coach_exe})", "", None,
                cmd=[coach_exe, "--config", str(REPO / "config.toml"), "check", "--simulate", "--json"])
    elif cli_found:
        measure(
            "coach --help (via coach_tui.cli.main)",
            "import sys; from coach_tui.cli import main; sys.argv = ['coach', '--help']; main()",
            None,
        )
        rows[-1] = (*rows[-1][:3], rows[-1][3] or "console script not installed (pip install -e .)")
    else:
        rows.append(("coach --help", "", "", "not available (console script not installed, no coach_tui.cli)"))

    paint = None
    if coach_exe:
        sys.path.insert(0, str(Path(__file__).parent))
        from console_paint import run_console, throwaway_setup

        times = []
        for n in range(args.runs + 1):  # the first run writes .pyc files: not counted
            work, env = throwaway_setup()
            try:
                painted, status, text = run_console([coach_exe, "--simulate"], env=env, cwd=work)
            finally:
                shutil.rmtree(work, ignore_errors=True)
            if status != 0 or "Traceback" in text:
                rows.append(("console first paint", "", "", f"failed: exit {status}"))
                break
            if n:
                times.append(painted)
        else:
            paint = min(times)
            rows.append(("console first paint (pty, whole)", f"{(paint - baseline) * 1e3:8.1f}", "",
                         f"whole: {paint * 1e3:.0f} ms"))

    headers = ("", "wall ms", "importtime ms", "")
    widths = [max(len(r[i].strip()) if i else len(r[i]) for r in [*rows, headers]) for i in range(4)]
    widths[1], widths[2] = max(widths[1], 8), max(widths[2], 8)

    def render(r):
        cells = [r[0].ljust(widths[0]), r[1].strip().rjust(widths[1]), r[2].strip().rjust(widths[2]), r[3]]
        return "  ".join(cells).rstrip()

    print(render(headers))
    print("  ".join("-" * w for w in widths[:3]))
    for r in rows:
        print(render(r))
    print()
    print("wall ms: what a user waits for beyond bare Python. importtime ms: the import alone, in-process.")
    if coach_exe:
        whole = {label.split(" (")[0]: float(w) + baseline * 1e3 for label, w, _, _ in rows if w.strip()}
        for name, limit in (("coach --version", 200), ("coach --help", 200), ("coach check --simulate --json", 5000)):
            if name in whole:
                print(f"{name}: {whole[name]:.0f} ms whole — {'PASS' if whole[name] <= limit else 'FAIL'} (target {limit} ms)")
        if paint is not None:
            print(f"console first paint: {paint * 1e3:.0f} ms whole — {'PASS' if paint <= 0.8 else 'FAIL'} (target 800 ms)")
    print("coach_tui.dsp imports scipy.signal lazily, on the first Pipeline(); the third and fourth rows show both.")


if __name__ == "__main__":
    main()
