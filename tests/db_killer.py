"""Test helper: insert numbered records into <sessions>/coach.json until killed.

Usage: python tests/db_killer.py SESSIONS_DIR START

Prints each id *after* ``Database.insert`` returned (so it is committed), one per line, flushed.
The parent SIGKILLs this process at a random moment and checks the file (test_database.py).
"""

import sys
from pathlib import Path

from coach_tui.store.database import Database


def main() -> None:
    sessions, n = Path(sys.argv[1]), int(sys.argv[2])
    db = Database(sessions)
    print("ready", flush=True)
    while True:
        record_id = f"r{n:07d}"
        db.insert(
            "records",
            {"id": record_id, "n": n, "payload": "ü" * 40, "nested": {"k": [n, n]}},
        )
        print(record_id, flush=True)
        n += 1


if __name__ == "__main__":
    main()
