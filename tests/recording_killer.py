"""Child process for the kill test in test_recordings.py.

``python recording_killer.py PREFIX SEED FLUSH_INTERVAL_S`` records the deterministic block stream
``intended_blocks(SEED)`` in real time until it is killed. It prints ``ready`` once the recording
is open, then ``<i> <time.monotonic()>`` after block ``i`` of the stream was handed to ``write``.
The parent regenerates the stream from the seed to check what survived.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from coach_tui.sources.block import Block
from coach_tui.store.recordings import RecordingWriter, SensorFormat

#: Three sensors with different rates, channel counts and dtypes.
SENSORS = [
    SensorFormat("emg_l", 1000.0, 1, "uV", 0.5, "int16", ("glute_max L",)),
    SensorFormat("emg_pair", 2000.0, 2, "mV", 0.001, "int32", ("vastus_lat R", "biceps_fem R")),
    SensorFormat("imu", 500.0, 3, "g", 1 / 64, "int8", ("x", "y", "z")),
]
#: Wall time each round of blocks (one per sensor) stands for.
ROUND_S = 0.01


def intended_blocks(seed: int) -> Iterator[Block]:
    """The endless block stream for ``seed``: a round of one 10 ms block per sensor, with
    occasional lost samples and resyncs; samples are random floats (so quantization rounds)."""
    rng = np.random.default_rng(seed)
    next_index = {s.sensor_id: int(rng.integers(0, 1000)) for s in SENSORS}
    round_no = 0
    while True:
        for s in SENSORS:
            n = round(s.fs_hz * ROUND_S)
            gap = int(rng.integers(1, 40)) if rng.random() < 0.05 else 0
            resync = bool(rng.random() < 0.02)
            first = next_index[s.sensor_id] + gap
            full = float(np.iinfo(s.dtype).max) * s.scale
            samples = (rng.standard_normal((n, s.channels)) * 0.3 * full).astype(np.float32)
            yield Block(s.sensor_id, first, samples, t_host=1000.0 + round_no * ROUND_S,
                        gap_before=gap, resync=resync)
            next_index[s.sensor_id] = first + n
        round_no += 1


def main() -> None:
    prefix, seed, flush_interval = Path(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
    writer = RecordingWriter(prefix, SENSORS, {"seed": seed}, flush_interval_s=flush_interval)
    print("ready", flush=True)
    t0 = time.monotonic()
    for i, block in enumerate(intended_blocks(seed)):
        writer.write(block)
        print(f"{i} {time.monotonic():.6f}", flush=True)
        if i % len(SENSORS) == len(SENSORS) - 1:  # pace the rounds in real time
            delay = t0 + (i // len(SENSORS) + 1) * ROUND_S - time.monotonic()
            if delay > 0:
                time.sleep(delay)


if __name__ == "__main__":
    main()
