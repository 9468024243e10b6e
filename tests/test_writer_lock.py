"""WriterLock: one writer per sessions directory, named when busy, taken over when its holder died."""

from __future__ import annotations

import json
import os
import signal
import socket
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from coach_tui.store.writer_lock import LOCK_NAME, LockHeld, WriterLock

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent


def start_holder(sessions: Path, command: str = "coach record") -> subprocess.Popen:
    env = dict(
        os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")
    )
    proc = subprocess.Popen(
        [sys.executable, str(HERE / "lock_holder.py"), str(sessions), command],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    line = proc.stdout.readline()
    if not line.startswith("locked"):
        proc.kill()
        raise AssertionError(f"holder did not start: {line!r} {proc.stderr.read()}")
    return proc


def kill9(proc: subprocess.Popen) -> None:
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)
    proc.stdout.close()
    proc.stderr.close()


def write_lock(sessions: Path, content: bytes) -> Path:
    sessions.mkdir(parents=True, exist_ok=True)
    path = sessions / LOCK_NAME
    path.write_bytes(content)
    return path


def test_acquire_writes_owner_only_record_and_release_removes_it(tmp_path):
    sessions = tmp_path / "sessions"
    lock = WriterLock(sessions, "coach record")
    lock.acquire()
    path = sessions / LOCK_NAME
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(sessions.stat().st_mode) == 0o700
    info = json.loads(path.read_text())
    assert info["pid"] == os.getpid()
    assert info["host"] == socket.gethostname()
    assert info["command"] == "coach record"
    assert "T" in info["started"]
    assert lock.took_over is None
    lock.release()
    assert not path.exists()
    lock.release()  # idempotent


def test_context_manager(tmp_path):
    with WriterLock(tmp_path, "coach edit") as lock:
        assert lock.held
        assert (tmp_path / LOCK_NAME).exists()
    assert not lock.held
    assert not (tmp_path / LOCK_NAME).exists()


def test_second_lock_in_same_process_is_refused(tmp_path):
    with WriterLock(tmp_path, "coach record"), pytest.raises(LockHeld) as info:
        WriterLock(tmp_path, "coach edit").acquire()
    assert f"pid {os.getpid()}" in str(info.value)
    assert "`coach record`" in str(info.value)


def test_live_holder_is_named_then_kill9_is_taken_over(tmp_path):
    sessions = tmp_path / "sessions"
    holder = start_holder(sessions, "coach record")
    try:
        with pytest.raises(LockHeld) as info:
            WriterLock(sessions, "coach edit").acquire()
        message = str(info.value)
        assert f"pid {holder.pid}" in message
        assert "`coach record`" in message
        assert f"{sessions}/ is in use by" in message
        assert "stop it first, or use a read-only command" in message
        assert info.value.holder["pid"] == holder.pid
        assert ", since " in message and "?" not in message
    finally:
        kill9(holder)

    lock = WriterLock(sessions, "coach edit")
    lock.acquire()
    try:
        assert lock.took_over is not None
        assert f"pid {holder.pid}" in lock.took_over
        assert "`coach record`" in lock.took_over
        assert "no longer running" in lock.took_over
        info = json.loads((sessions / LOCK_NAME).read_text())
        assert info["pid"] == os.getpid() and info["command"] == "coach edit"
        assert stat.S_IMODE((sessions / LOCK_NAME).stat().st_mode) == 0o600
    finally:
        lock.release()
    assert not (sessions / LOCK_NAME).exists()


@pytest.mark.parametrize(
    "content", [b"", b"{not json", b"\x00\x00\x00", b"[1, 2]", b'{"pid": "x"}']
)
def test_garbled_or_empty_lock_file_is_taken_over(tmp_path, content):
    path = write_lock(tmp_path, content)
    os.chmod(path, 0o644)
    with WriterLock(tmp_path, "coach record") as lock:
        assert lock.took_over is not None
        assert str(path) in lock.took_over
        assert json.loads(path.read_text())["pid"] == os.getpid()
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert not path.exists()


def test_stale_record_of_dead_pid_is_taken_over(tmp_path):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    record = {
        "pid": dead.pid,
        "host": socket.gethostname(),
        "command": "coach record",
        "started": "2024-05-01T12:04:00+00:00",
    }
    write_lock(tmp_path, json.dumps(record).encode())
    with WriterLock(tmp_path, "coach edit") as lock:
        assert lock.took_over == (
            f"took over a stale lock left by `coach record` (pid {dead.pid}, since 2024-05-01 12:04), "
            f"which is no longer running"
        )


def test_recycled_pid_without_flock_is_stale(tmp_path):
    # The recorded pid is alive (it is us), but nobody holds the file's flock: the holder died
    # and its pid was reused. A kill(pid, 0) test would wrongly call this held.
    record = {
        "pid": os.getppid(),
        "host": socket.gethostname(),
        "command": "coach record",
        "started": "2024-05-01T12:04:00",
    }
    write_lock(tmp_path, json.dumps(record).encode())
    with WriterLock(tmp_path, "coach edit") as lock:
        assert lock.took_over and f"pid {os.getppid()}" in lock.took_over


def test_lock_from_another_host_is_held_and_names_the_host(tmp_path):
    record = {
        "pid": 4242,
        "host": "gym-laptop",
        "command": "coach record",
        "started": "2024-05-01T12:04:00",
    }
    path = write_lock(tmp_path, json.dumps(record).encode())
    before = path.read_bytes()
    with pytest.raises(LockHeld) as info:
        WriterLock(tmp_path, "coach edit").acquire()
    message = str(info.value)
    assert (
        "'gym-laptop'" in message
        and "pid 4242" in message
        and "`coach record`" in message
    )
    assert str(path) in message  # how to clear it by hand
    assert path.read_bytes() == before


def test_release_leaves_a_lock_that_is_no_longer_ours(tmp_path):
    lock = WriterLock(tmp_path, "coach record")
    lock.acquire()
    path = tmp_path / LOCK_NAME
    path.unlink()  # someone removed it by hand and another process made a new one
    path.write_text('{"pid": 1, "host": "x", "command": "other"}')
    lock.release()
    assert path.read_text() == '{"pid": 1, "host": "x", "command": "other"}'


def test_reacquire_after_release(tmp_path):
    lock = WriterLock(tmp_path, "coach record")
    for _ in range(3):
        lock.acquire()
        assert lock.took_over is None
        lock.release()
    with pytest.raises(RuntimeError):
        lock.acquire()
        lock.acquire()
    lock.release()


def test_holder_killed_by_sigterm_is_taken_over(tmp_path):
    holder = start_holder(tmp_path)
    # default action of SIGTERM: dies without releasing → a stale file
    holder.send_signal(signal.SIGTERM)
    holder.wait(timeout=10)
    holder.stdout.close()
    holder.stderr.close()
    assert (tmp_path / LOCK_NAME).exists()
    with WriterLock(tmp_path, "coach edit") as lock:
        assert lock.took_over and f"pid {holder.pid}" in lock.took_over


def test_racing_takeovers_of_a_stale_lock_leave_exactly_one_holder(tmp_path):
    write_lock(tmp_path, b"garbled")
    code = (
        "import sys, time\n"
        "from pathlib import Path\n"
        "from coach_tui.store.writer_lock import WriterLock, LockHeld\n"
        "lock = WriterLock(Path(sys.argv[1]), 'coach race')\n"
        "while time.time() < float(sys.argv[2]): pass\n"
        "try:\n"
        "    lock.acquire()\n"
        "except LockHeld:\n"
        "    print('held', flush=True)\n"
        "else:\n"
        "    print('got', flush=True)\n"
        "    time.sleep(1)\n"
    )
    env = dict(
        os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")
    )
    start = time.time() + 1.0
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", code, str(tmp_path), str(start)],
            stdout=subprocess.PIPE,
            text=True,
            env=env,
        )
        for _ in range(6)
    ]
    results = [p.communicate(timeout=20)[0].strip() for p in procs]
    assert sorted(results) == ["got"] + ["held"] * 5, results
