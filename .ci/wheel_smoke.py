"""CI: test what users install. Builds the wheel, installs it into a fresh venv that cannot see the
source tree, and runs coach from an empty folder with an empty home, as `pipx install` would:

  coach --version; coach check --simulate --json; coach paths --json; a 3 s coach record --simulate;
  coach sessions --json; the console in a pseudo-terminal until the clients screen is painted.

Asserts: no Traceback anywhere, the data in the user data folder, the log in the user log folder,
nothing written under site-packages. Run from the repository root: python .ci/wheel_smoke.py
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def step(what: str) -> None:
    print(f"wheel smoke: {what}", flush=True)


def run(argv: list[str], *, env: dict[str, str], cwd: Path, ok=(0,), timeout: float = 120) -> str:
    result = subprocess.run(argv, env=env, cwd=cwd, capture_output=True, text=True, timeout=timeout)
    output = result.stdout + result.stderr
    if result.returncode not in ok or "Traceback" in output:
        sys.exit(f"wheel smoke: {' '.join(map(str, argv))} exited {result.returncode}:\n{output}")
    return result.stdout


def written_since(folder: Path, moment: float) -> list[Path]:
    """Files and folders under ``folder`` created or changed after ``moment``."""
    return [p for p in folder.rglob("*") if p.lstat().st_mtime > moment or p.lstat().st_ctime > moment]


def main() -> None:
    work = Path(tempfile.mkdtemp(prefix="coach-wheel-"))
    step(f"building the wheel in {work}")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(work / "dist"), str(REPO)],
                   check=True)
    [wheel] = (work / "dist").glob("coach_tui-*.whl")
    step(f"installing {wheel.name} into a fresh venv")
    subprocess.run([sys.executable, "-m", "venv", str(work / "venv")], check=True)
    python = work / "venv" / "bin" / "python"
    subprocess.run([str(python), "-m", "pip", "install", "-q", str(wheel)], check=True)
    coach = str(work / "venv" / "bin" / "coach")
    site = Path(subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                               capture_output=True, text=True, check=True).stdout.strip())
    installed = time.time()
    time.sleep(0.05)

    home, here = work / "home", work / "empty"
    home.mkdir()
    here.mkdir()
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("XDG_", "COACH_", "PYTHON", "VIRTUAL_ENV"))}
    env.update(HOME=str(home), PATH=f"{work / 'venv' / 'bin'}{os.pathsep}{env.get('PATH', '')}")

    version = run([coach, "--version"], env=env, cwd=here).strip()
    step(version)
    check = json.loads(run([coach, "check", "--simulate", "--seconds", "1", "--json"], env=env, cwd=here, ok=(0, 1)))
    assert check["sensors"], check
    paths = json.loads(run([coach, "paths", "--json"], env=env, cwd=here))
    data = home / ".local" / "share" / "coach-tui" / "sessions"
    assert paths["sessions"]["path"] == str(data), paths
    assert paths["config"]["path"].startswith("(none"), paths
    run([coach, "clients", "add", "Ana"], env=env, cwd=here)
    step("recording 3 s on the simulated kit")
    run([coach, "record", "--client", "Ana", "--simulate", "--seconds", "3"], env=env, cwd=here)
    [session] = json.loads(run([coach, "sessions", "--json"], env=env, cwd=here))
    assert session["status"] == "complete" and session["sets"][0]["duration_s"] > 2.5, session
    assert (data / "coach.json").is_file(), "no database in the user data folder"
    assert Path(paths["log"]["path"]).is_file(), "no log file in the user log folder"

    step("the console in a pseudo-terminal")
    sys.path.insert(0, str(REPO / "bench"))
    from console_paint import run_console

    painted, status, text = run_console([coach, "--simulate"], env={**env, "XDG_DATA_HOME": str(work / "console")},
                                        cwd=here)
    if status != 0 or "Traceback" in text:
        sys.exit(f"wheel smoke: the console exited {status}:\n{text[-3000:]}")
    step(f"the clients screen painted after {painted * 1e3:.0f} ms; quit cleanly")

    stray = [p for p in written_since(site, installed) if "__pycache__" not in p.parts]
    if stray:
        sys.exit("wheel smoke: written under site-packages: " + ", ".join(map(str, stray[:10])))
    assert not list(here.iterdir()), f"written into the working folder: {list(here.iterdir())}"
    shutil.rmtree(work)
    print("smoke: 1 passed, 0 failed")


if __name__ == "__main__":
    main()
