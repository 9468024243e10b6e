"""Is every number a trainer acts on right on real people? One report of the measures against
truth the code did not write (issue 10): rep counts against the knee goniometer, %MVC bias and
spread by hold length, mains hum detection and false alarms, fatigue false alarms and power, and
onsets against NeuroKit2 where it is installed.

Each section is its own script (``validity_reps.py``, ``validity_mvc_fatigue.py``,
``validity_mains.py``), runnable alone with its own options; this runs them in turn with their
defaults (``--quick``: fewer simulated recordings where a section offers it). About 6 minutes on
two cores; a benchmark, not a test.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

SECTIONS = (
    ("reps against the knee goniometer", "validity_reps", []),
    ("%MVC, fatigue and onsets", "validity_mvc_fatigue", ["--seeds", "20"]),
    ("mains hum", "validity_mains", ["--quick"]),
)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer simulated recordings per cell")
    args = parser.parse_args(argv)
    for title, module, quick in SECTIONS:
        print(f"\n==== {title} ({module}.py) " + "=" * max(0, 60 - len(title) - len(module)), flush=True)
        started = time.perf_counter()
        __import__(module).main(quick if args.quick else [])
        print(f"({time.perf_counter() - started:.0f} s)", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
