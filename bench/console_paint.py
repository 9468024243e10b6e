"""The console's first paint, measured as a trainer meets it: ``coach`` started in a pseudo-terminal
(stdlib ``pty``, no tmux), timed from the spawn to the first output that shows the clients screen;
then ``q`` quits it. Used by ``bench/import_time.py`` (best of N) and by ``.ci/run``'s smoke test
of the installed wheel (once: no Traceback, a clean exit).

Run: ``python bench/console_paint.py [--coach PATH] [--runs 5] [--size 100x30]`` — it makes a
throw-away config and sessions folder, and prints the best and median times.
"""

from __future__ import annotations

import argparse
import fcntl
import os
import pty
import re
import select
import shutil
import statistics
import struct
import sys
import tempfile
import termios
import time
from pathlib import Path

#: Text on the clients screen once it is painted (the client seeded on first run).
MARKER = "Demo client"
_ESCAPES = re.compile(rb"\x1b(\[[0-9;?<>=]*[ -/]*[@-~]|\][^\x07\x1b]*(\x07|\x1b\\)|[()][0-9A-Za-z]|[=>78DEHMNOPZc])")


def screen_text(raw: bytes) -> str:
    """What a terminal shows of ``raw``, escape sequences removed (good enough to find words)."""
    return _ESCAPES.sub(b"", raw).decode("utf-8", "replace")


def run_console(argv: list[str], *, env: dict[str, str] | None = None, cwd: str | None = None,
                size: tuple[int, int] = (100, 30), timeout: float = 60.0) -> tuple[float, int, str]:
    """Start ``argv`` in a pseudo-terminal of ``size`` (columns, rows); once the clients screen is
    painted, press q. Returns (seconds to the first paint, exit status, everything it printed)."""
    pid, fd = pty.fork()
    if pid == 0:  # the child: the console
        try:
            if cwd:
                os.chdir(cwd)
            child_env = {**os.environ, **(env or {}), "TERM": "xterm-256color"}
            child_env.pop("PYTHONDONTWRITEBYTECODE", None)  # .pyc files, as on a user's machine
            os.execvpe(argv[0], argv, child_env)
        finally:
            os._exit(127)
    start = time.perf_counter()
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", size[1], size[0], 0, 0))
    output = bytearray()
    painted = None
    deadline = start + timeout
    quit_sent = False
    status = None
    while time.perf_counter() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.05)
        if ready:
            try:
                chunk = os.read(fd, 65536)
            except OSError:  # the child closed the terminal
                chunk = b""
            if not chunk:
                break
            output += chunk
            if painted is None and MARKER in screen_text(bytes(output)):
                painted = time.perf_counter() - start
        if painted is not None and not quit_sent and time.perf_counter() - start > painted + 0.3:
            os.write(fd, b"q")
            quit_sent = True
        done, raw_status = os.waitpid(pid, os.WNOHANG)
        if done:
            status = os.waitstatus_to_exitcode(raw_status)
            break
    if status is None:
        os.kill(pid, 9)
        status = os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])
    try:
        while chunk := os.read(fd, 65536):
            output += chunk
    except OSError:
        pass
    os.close(fd)
    if painted is None:
        raise RuntimeError(f"the clients screen never appeared within {timeout:g} s; the console printed:\n"
                           + screen_text(bytes(output))[-3000:])
    return painted, status, screen_text(bytes(output))


def throwaway_setup() -> tuple[str, dict[str, str]]:
    """A working folder with a config of its own and user folders of its own (nothing real touched)."""
    work = tempfile.mkdtemp(prefix="coach-paint-")
    Path(work, "config.toml").write_text('sessions_dir = "sessions"\n', encoding="utf-8")
    env = {name: str(Path(work, folder)) for name, folder in
           (("XDG_CONFIG_HOME", "config"), ("XDG_DATA_HOME", "data"), ("XDG_STATE_HOME", "state"))}
    env.pop("COACH_SESSIONS", None)
    return work, env


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--coach", default=shutil.which("coach") or "coach", help="the coach executable")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--size", default="100x30", help="terminal COLUMNSxROWS")
    args = parser.parse_args()
    columns, rows = (int(v) for v in args.size.split("x"))
    times = []
    for n in range(args.runs + 1):  # the first run also writes .pyc files: not counted
        work, env = throwaway_setup()
        try:
            painted, status, text = run_console([args.coach, "--simulate"], env=env, cwd=work, size=(columns, rows))
        finally:
            shutil.rmtree(work, ignore_errors=True)
        if status != 0 or "Traceback" in text:
            sys.exit(f"the console exited {status}:\n{text[-3000:]}")
        if n:
            times.append(painted)
    print(f"console first paint ({args.coach}, {columns}x{rows}): best {min(times) * 1e3:.0f} ms, "
          f"median {statistics.median(times) * 1e3:.0f} ms over {len(times)} runs")


if __name__ == "__main__":
    main()
