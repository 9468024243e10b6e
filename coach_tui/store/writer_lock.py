"""One writer per sessions directory: ``<sessions>/coach.lock``.

Commands that change ``sessions/`` (recording, editing clients, restoring a backup) hold the
lock for as long as they run; read-only commands never take it.

How it works
------------
The lock file is created owner-only (0600) and, while held, carries JSON
``{"pid", "host", "command", "started"}`` so a second command can say *who* holds it.
Liveness is decided by the kernel, not by guessing from the pid: the holder keeps an exclusive
``flock`` on the open file for as long as it runs, and the kernel drops it when the process
exits or is killed (``kill -9``, crash, power cut). So:

* the file exists and its flock is taken → held: :class:`LockHeld` names the holder;
* the file exists but nobody holds its flock → the previous holder died without releasing:
  the lock is taken over and :attr:`WriterLock.took_over` says whose it was (this also covers
  an empty or garbled file, and a recycled pid, which a ``kill(pid, 0)`` test would mistake
  for a live holder);
* the file names another host → held (its flock may not be visible over a network file
  system): the message names the host and says how to clear it by hand.

Where the file system refuses ``flock``, the check falls back to ``os.kill(pid, 0)`` on the
recorded pid (``PermissionError`` counts as alive).

Release removes the file only if it is still ours (same inode we locked), unlinking it
before dropping the flock, so a waiter that opened the old file notices and retries.
"""

from __future__ import annotations

import errno
import json
import os
import socket
from datetime import datetime
from pathlib import Path
from typing import Self

from coach_tui.store.private_files import FILE_MODE, fsync_dir, private_dirs

try:  # POSIX; on platforms without fcntl the pid check is used
    import fcntl
except ImportError:  # pragma: no cover - not on Linux/macOS
    fcntl = None  # type: ignore[assignment]

LOCK_NAME = "coach.lock"

__all__ = ["LOCK_NAME", "LockHeld", "WriterLock"]


class LockHeld(RuntimeError):
    """Another process is writing to the sessions directory.

    ``holder`` is the parsed lock file (``pid``, ``host``, ``command``, ``started``; any may be
    missing when the holder is just starting), ``path`` the lock file.
    """

    def __init__(self, message: str, *, holder: dict, path: Path):
        super().__init__(message)
        self.holder = holder
        self.path = path


def _host() -> str:
    return socket.gethostname()


def _pid_alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, belongs to someone else
        return True
    except OSError:
        return False
    return True


def _parse(raw: bytes) -> dict | None:
    """The holder record, or ``None`` when the file is empty or not a lock record."""
    try:
        info = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return None
    if not isinstance(info, dict):
        return None
    pid = info.get("pid")
    if not isinstance(pid, int) or isinstance(pid, bool):
        return None
    return info


def _since(started: object) -> str:
    """``12:04`` for today, ``2024-05-01 12:04`` otherwise, ``?`` when unreadable."""
    if not isinstance(started, str):
        return "?"
    try:
        when = datetime.fromisoformat(started)
    except ValueError:
        return started
    now = datetime.now(when.tzinfo)
    if when.date() == now.date():
        return when.strftime("%H:%M")
    return when.strftime("%Y-%m-%d %H:%M")


def _describe(info: dict) -> str:
    """For example: `coach record` (pid 1234, since 12:04)."""
    command = info.get("command") or "another coach command"
    return (
        f"`{command}` (pid {info.get('pid', '?')}, since {_since(info.get('started'))})"
    )


def _read_fd(fd: int) -> bytes:
    os.lseek(fd, 0, os.SEEK_SET)
    chunks = []
    while True:
        chunk = os.read(fd, 65536)
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)


class WriterLock:
    """Exclusive writer lock on ``sessions_dir``; a context manager.

    >>> with WriterLock(Path("sessions"), "coach record") as lock:
    ...     if lock.took_over:
    ...         print(lock.took_over)
    """

    def __init__(self, sessions_dir: Path, command: str):
        self.sessions_dir = Path(sessions_dir)
        self.path = self.sessions_dir / LOCK_NAME
        self.command = command
        #: After :meth:`acquire`: a sentence for the trainer when a stale lock was taken over.
        self.took_over: str | None = None
        self._fd: int | None = None
        self._inode: tuple[int, int] | None = None

    # -- public --------------------------------------------------------------------------
    @property
    def held(self) -> bool:
        return self._fd is not None

    def acquire(self) -> Self:
        """Take the lock or raise :class:`LockHeld`. Creates ``sessions_dir`` (0700) if needed."""
        if self._fd is not None:
            raise RuntimeError(f"{self.path} is already held by this WriterLock")
        private_dirs(self.sessions_dir)
        self.took_over = None
        for _ in range(50):  # retries only when a holder releases between our steps
            if self._try_acquire():
                return self
        raise LockHeld(
            f"{self._where()} keeps changing hands; try again",
            holder={},
            path=self.path,
        )

    def release(self) -> None:
        """Drop the lock; remove the file if it is still the one we locked."""
        fd, self._fd = self._fd, None
        if fd is None:
            return
        try:
            try:
                st = os.stat(self.path)
                if (st.st_dev, st.st_ino) == self._inode:
                    os.unlink(self.path)
                    fsync_dir(self.sessions_dir)
            except FileNotFoundError:
                pass
        finally:
            self._inode = None
            os.close(fd)  # drops the flock

    def __enter__(self) -> Self:
        return self.acquire()

    def __exit__(self, *exc) -> None:
        self.release()

    # -- internals -----------------------------------------------------------------------
    def _where(self) -> str:
        return f"{self.sessions_dir}/"

    def _record(self) -> bytes:
        info = {
            "pid": os.getpid(),
            "host": _host(),
            "command": self.command,
            "started": datetime.now().astimezone().isoformat(timespec="seconds"),
        }
        return (json.dumps(info, sort_keys=True) + "\n").encode("utf-8")

    def _held_message(self, info: dict | None) -> str:
        if info is None:
            return (
                f"{self._where()} is in use by another coach command that is just starting "
                f"— stop it first, or use a read-only command"
            )
        if info.get("host") not in (None, _host()):
            return (
                f"{self._where()} is in use by {_describe(info)} on host {info['host']!r} "
                f"— stop it there first, or use a read-only command; if it is no longer "
                f"running there, delete {self.path}"
            )
        return (
            f"{self._where()} is in use by {_describe(info)} "
            f"— stop it first, or use a read-only command"
        )

    def _stale_note(self, raw: bytes, info: dict | None) -> str | None:
        if info is not None:
            return f"took over a stale lock left by {_describe(info)}, which is no longer running"
        what = "an unreadable" if raw.strip() else "an empty"
        return (
            f"took over {what} lock file ({self.path}) left by a coach command "
            f"that is no longer running"
        )

    def _try_acquire(self) -> bool:
        """One attempt: True when held, False to retry, LockHeld when someone else has it."""
        flags = os.O_RDWR | getattr(os, "O_CLOEXEC", 0)
        try:
            fd = os.open(self.path, flags | os.O_CREAT | os.O_EXCL, FILE_MODE)
            created = True
        except FileExistsError:
            try:
                fd = os.open(self.path, flags)
            except FileNotFoundError:
                return False  # released in between
            created = False
        try:
            locked = self._flock(fd)
            if locked is False:  # someone holds it
                info = _parse(_read_fd(fd))
                raise LockHeld(
                    self._held_message(info), holder=info or {}, path=self.path
                )
            st = os.fstat(fd)
            try:
                now = os.stat(self.path)
            except FileNotFoundError:
                return False  # the holder released (unlinked) it after we opened it
            if (now.st_dev, now.st_ino) != (st.st_dev, st.st_ino):
                return False  # replaced after we opened it
            note = None
            if not created:
                raw = _read_fd(fd)
                info = _parse(raw)
                if info is not None and info.get("host") not in (None, _host()):
                    raise LockHeld(
                        self._held_message(info), holder=info, path=self.path
                    )
                if (
                    locked is None  # no flock here: fall back to the pid
                    and info is not None
                    and info["pid"] != os.getpid()
                    and _pid_alive(info["pid"])
                ):
                    raise LockHeld(
                        self._held_message(info), holder=info, path=self.path
                    )
                note = self._stale_note(raw, info)
            os.fchmod(fd, FILE_MODE)
            os.ftruncate(fd, 0)
            os.lseek(fd, 0, os.SEEK_SET)
            os.write(fd, self._record())
            os.fsync(fd)
            fsync_dir(self.sessions_dir)
        except BaseException:
            os.close(fd)
            raise
        self._fd = fd
        self._inode = (st.st_dev, st.st_ino)
        self.took_over = note
        return True

    @staticmethod
    def _flock(fd: int) -> bool | None:
        """True: locked; False: someone else holds it; None: flock unavailable here."""
        if fcntl is None:
            return None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        except OSError as exc:
            if exc.errno in (errno.EAGAIN, errno.EACCES):
                return False
            return None  # ENOLCK / EOPNOTSUPP / EINVAL: file system without flock
        return True
