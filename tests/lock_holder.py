"""Test helper: hold the sessions WriterLock until killed.

Usage: python tests/lock_holder.py SESSIONS_DIR COMMAND

Prints ``locked <pid>`` once the lock is held (flushed), then sleeps.
"""

import os
import sys
import time
from pathlib import Path

from coach_tui.store.writer_lock import WriterLock


def main() -> None:
    lock = WriterLock(Path(sys.argv[1]), sys.argv[2])
    lock.acquire()
    print(f"locked {os.getpid()}", flush=True)
    while True:
        time.sleep(60)


if __name__ == "__main__":
    main()
