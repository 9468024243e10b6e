"""Raw recordings: exact round trip, crash safety (truncated tails, recovery, real SIGKILL),
owner-only files, flush timing, disk errors and the disk cost of an hour."""

from __future__ import annotations

import errno
import json
import os
import random
import signal
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from recording_killer import SENSORS as KILL_SENSORS
from recording_killer import intended_blocks

from coach_tui.sources.block import Block
from coach_tui.store import recording_writer, recordings
from coach_tui.store.recordings import (
    HEADER_SIZE,
    RecordingError,
    RecordingWriter,
    SensorFormat,
    bytes_per_hour,
    read_recording,
    recover,
)

HERE = Path(__file__).resolve().parent


class FakeClock:
    def __init__(self, t: float = 0.0) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


def mixed_sensors() -> list[SensorFormat]:
    return [
        SensorFormat("glute_l", 2000.0, 1, "uV", 0.25, "int16", ("glute_max L",)),
        SensorFormat("quad_r", 1000.0, 2, "mV", 1e-4, "int32", ("vastus_lat R", "rect_fem R")),
        SensorFormat("imu", 148.148, 3, "g", 1 / 64, "int8", ("x", "y", "z")),
    ]


def stream(sensors, rounds, seed=0, block_s=0.02):
    """Interleaved blocks of every sensor with random gaps/resyncs and some clipping values."""
    rng = np.random.default_rng(seed)
    index = {s.sensor_id: 10 * k for k, s in enumerate(sensors)}
    out = []
    for r in range(rounds):
        for s in sensors:
            n = max(1, round(s.fs_hz * block_s) + int(rng.integers(-2, 3)))
            gap = int(rng.integers(1, 30)) if rng.random() < 0.15 else 0
            resync = bool(rng.random() < 0.1)
            full = float(np.iinfo(s.dtype).max) * s.scale
            x = (rng.standard_normal((n, s.channels)) * 0.5 * full).astype(np.float32)
            first = index[s.sensor_id] + gap
            out.append(Block(s.sensor_id, first, x, t_host=50.0 + r * block_s + 1e-3 * len(out),
                             gap_before=gap, resync=resync))
            index[s.sensor_id] = first + n
    return out


def write_all(prefix, sensors, blocks, **kw):
    clock = kw.pop("clock", FakeClock())
    w = RecordingWriter(prefix, sensors, {"client": "c1", "set": 3}, clock=clock, **kw)
    stored = [w.write(b) for b in blocks]
    w.close()
    return w, stored


def expand(blocks_and_values):
    """Per-row device indices and values of (first_index, values) pairs."""
    idx = [np.arange(f, f + v.shape[0]) for f, v in blocks_and_values]
    return (np.concatenate(idx) if idx else np.zeros(0, int),
            np.concatenate([v for _, v in blocks_and_values]) if blocks_and_values else None)


# ------------------------------------------------------------------------------- formats
def test_quantize_rounds_clips_and_counts():
    f = SensorFormat("s", 1000, 1, "uV", 1.0, "int8", ("a",))
    counts, clipped = f.quantize(np.array([[-200.0], [-128.4], [0.5], [1.5], [127.4], [127.6],
                                           [np.nan], [np.inf], [-3.2]]))
    assert counts.dtype == np.dtype("<i1")
    assert counts[:, 0].tolist() == [-128, -128, 0, 2, 127, 127, 0, 127, -3]
    assert clipped == 4  # -200, 127.6, nan, inf
    f16 = SensorFormat("s", 1000, 2, "mV", 0.001, "int16", ("a", "b"))
    counts, clipped = f16.quantize(np.array([[40.0, -40.0], [0.0015, 1.0]]))
    assert counts.tolist() == [[32767, -32768], [2, 1000]]
    assert clipped == 2


def test_dequantize_is_the_one_conversion_and_representable_is_stable():
    rng = np.random.default_rng(1)
    for f in mixed_sensors():
        x = (rng.standard_normal((500, f.channels)) * 100).astype(np.float32)
        counts, _ = f.quantize(x)
        expected = counts.astype(np.float32) * np.float32(f.scale)
        got = f.dequantize(counts)
        assert got.dtype == np.float32 and np.array_equal(got.view(np.uint32), expected.view(np.uint32))
        rep = f.representable(x)
        assert np.array_equal(rep, expected)
        if f.dtype != "int32":  # float32 holds every int8/int16 count exactly: storing is idempotent
            assert np.array_equal(f.representable(rep), rep)


def test_sensor_format_validation():
    with pytest.raises(ValueError, match="labels"):
        SensorFormat("s", 1000, 2, "uV", 1.0, "int16", ("a",))
    with pytest.raises(ValueError, match="dtype"):
        SensorFormat("s", 1000, 1, "uV", 1.0, "float32", ("a",))
    with pytest.raises(ValueError, match="scale"):
        SensorFormat("s", 1000, 1, "uV", 0.0, "int16", ("a",))


# ----------------------------------------------------------------------------- round trip
@pytest.mark.parametrize("coalesce", [True, False])
def test_round_trip_exact_interleaved_sensors(tmp_path, coalesce):
    sensors = mixed_sensors()
    blocks = stream(sensors, 120)
    clock = FakeClock()
    w = RecordingWriter(tmp_path / "set1", sensors, {"client": "c1", "set": 3}, clock=clock,
                        coalesce=coalesce)
    stored = []
    for k, b in enumerate(blocks):
        clock.t = 0.007 * k  # several flushes along the way
        stored.append(w.write(b))
    w.close()

    rec = read_recording(tmp_path / "set1")
    assert rec.complete and not rec.recovered and rec.truncated_bytes == 0
    assert rec.meta == {"client": "c1", "set": 3}
    assert rec.sensors == tuple(sensors)
    assert rec.header["clipped"] == w.clipped and rec.header["raw_bytes"] == rec.raw_size

    for s in sensors:
        mine = [(b, v) for b, v in zip(blocks, stored) if b.sensor_id == s.sensor_id]
        back = list(rec.blocks(s.sensor_id))
        # the same rows, indices and float32 bits as write() returned
        i_w, v_w = expand([(b.first_index, v) for b, v in mine])
        i_r, v_r = expand([(b.first_index, b.samples) for b in back])
        assert np.array_equal(i_w, i_r)
        assert v_r.dtype == np.float32 and np.array_equal(v_w.view(np.uint32), v_r.view(np.uint32))
        # the counts are the quantized input
        counts = np.concatenate([r.counts for r in rec.records(s.sensor_id)])
        assert np.array_equal(counts, np.concatenate([s.quantize(b.samples)[0] for b, _ in mine]))
        # every stored block starts where a written block started, with its gap, resync and t_host
        starts = {b.first_index: b for b, _ in mine}
        for b in back:
            src = starts[b.first_index]
            assert (b.gap_before, b.resync, b.t_host) == (src.gap_before, src.resync, src.t_host)
        # and every written gap or resync starts a stored block
        back_starts = {b.first_index for b in back}
        assert all(b.first_index in back_starts for b, _ in mine if b.gap_before or b.resync)
        if not coalesce:
            assert [(b.first_index, b.gap_before, b.resync, b.t_host) for b in back] == \
                [(b.first_index, b.gap_before, b.resync, b.t_host) for b, _ in mine]
        else:
            assert len(back) < len(mine)

        # samples(): zeros in the gaps, exactly the written values elsewhere
        full = rec.samples(s.sensor_id)
        first = mine[0][0].first_index
        assert full.shape == (mine[-1][0].end_index - first, s.channels)
        for b, v in mine:
            assert np.array_equal(full[b.first_index - first:b.end_index - first], v)
        gaps = rec.gaps(s.sensor_id)
        assert [(g.first_index, g.length) for g in gaps if g.length] == \
            [(b.first_index - b.gap_before, b.gap_before) for b, _ in mine[1:] if b.gap_before]
        for g in gaps:
            assert not full[g.row:g.row + g.length].any()
        assert rec.n_samples(s.sensor_id) == sum(b.n_samples for b, _ in mine)
        assert rec.seconds(s.sensor_id) == pytest.approx(rec.n_samples(s.sensor_id) / s.fs_hz)

    # file order across sensors is preserved too
    order = [b.sensor_id for b in rec.blocks()]
    assert order[0] == blocks[0].sensor_id and set(order) == {s.sensor_id for s in sensors}


def test_write_returns_representable_and_accepts_1d_single_channel(tmp_path):
    f = SensorFormat("glute_l", 2000.0, 1, "uV", 0.25, "int16", ("glute_max L",))
    w = RecordingWriter(tmp_path / "r", [f], {})
    x = np.linspace(-5000, 5000, 40, dtype=np.float32)
    out = w.write(Block("glute_l", 0, x, 0.0))
    assert out.shape == (40, 1) and np.array_equal(out, f.representable(x.reshape(-1, 1)))
    with pytest.raises(ValueError, match="not in this recording"):
        w.write(Block("nope", 0, x.reshape(-1, 1), 0.0))
    with pytest.raises(ValueError, match="shape"):
        w.write(Block("glute_l", 40, np.zeros((4, 2), np.float32), 0.0))
    w.close()
    w.close()  # idempotent
    assert read_recording(tmp_path / "r").n_samples("glute_l") == 40


def test_refuses_to_overwrite(tmp_path):
    f = mixed_sensors()[:1]
    RecordingWriter(tmp_path / "r", f, {}).close()
    with pytest.raises(FileExistsError):
        RecordingWriter(tmp_path / "r", f, {})


# --------------------------------------------------------------------------- permissions
def test_files_are_owner_only_and_new_dirs_0700(tmp_path):
    os.chmod(tmp_path, 0o755)
    prefix = tmp_path / "sessions" / "client1" / "set1"
    write_all(prefix, mixed_sensors(), stream(mixed_sensors(), 5))
    for p in (prefix.with_name("set1.json"), prefix.with_name("set1.raw")):
        assert stat.S_IMODE(p.stat().st_mode) == 0o600, p
    for d in (tmp_path / "sessions", tmp_path / "sessions" / "client1"):
        assert stat.S_IMODE(d.stat().st_mode) == 0o700, d
    assert stat.S_IMODE(tmp_path.stat().st_mode) == 0o755  # an existing folder is left alone
    assert not [p for p in prefix.parent.iterdir() if p.name.startswith(".")]  # no temp files left


# ------------------------------------------------------------------------------- flushing
def test_flush_interval_puts_data_on_disk_while_open(tmp_path):
    f = SensorFormat("glute_l", 2000.0, 1, "uV", 0.25, "int16", ("glute_max L",))
    clock = FakeClock(100.0)
    w = RecordingWriter(tmp_path / "r", [f], {}, clock=clock)  # flush_interval_s=1.0
    rng = np.random.default_rng(3)
    for k in range(50):  # 0.00 .. 0.98 s: nothing due yet
        clock.t = 100.0 + 0.02 * k
        w.write(Block("glute_l", 40 * k, rng.standard_normal((40, 1)).astype(np.float32), clock.t))
    assert read_recording(tmp_path / "r").n_samples("glute_l") == 0
    clock.t = 101.0
    w.write(Block("glute_l", 40 * 50, np.ones((40, 1), np.float32), clock.t))  # flushes in the background
    w.wait_flushed()
    rec = read_recording(tmp_path / "r")  # writer still open
    assert not rec.complete
    assert rec.n_samples("glute_l") == 51 * 40
    assert len(list(rec.blocks("glute_l"))) == 1  # 51 contiguous blocks coalesced in one record
    assert rec.raw_size == HEADER_SIZE + 51 * 40 * 2
    # nothing more is flushed until another second has passed
    clock.t = 101.5
    w.write(Block("glute_l", 40 * 51, np.ones((40, 1), np.float32), clock.t))
    assert read_recording(tmp_path / "r").n_samples("glute_l") == 51 * 40
    clock.t = 102.0
    assert w.flush_if_due()
    assert read_recording(tmp_path / "r").n_samples("glute_l") == 52 * 40
    w.close()
    assert read_recording(tmp_path / "r").complete


# ------------------------------------------------------------------------- damaged files
def _small_recording(tmp_path, name="r", *, unfinished=True):
    """A recording of mixed sensors, one record per block. ``unfinished``: as a crash leaves it,
    every record flushed but the header never marked complete (only such a recording may have a
    torn tail; a complete one must match its header, see test_a_complete_recording_*)."""
    sensors = mixed_sensors()
    clock = FakeClock()
    w = RecordingWriter(tmp_path / name, sensors, {}, clock=clock, coalesce=False)
    header_while_recording = w.header_path.read_bytes()
    blocks = stream(sensors, 6, seed=7, block_s=0.005)
    stored = [w.write(b) for b in blocks]
    w.close()
    if unfinished:
        w.header_path.write_bytes(header_while_recording)
    return tmp_path / name, blocks, stored


def test_truncated_tail_at_every_byte_of_the_last_record(tmp_path):
    prefix, blocks, stored = _small_recording(tmp_path)
    raw = prefix.with_name("r.raw")
    data = raw.read_bytes()
    rec = read_recording(prefix)
    last = list(rec.records())[-1].offset
    n_before = len(list(rec.records())) - 1
    expected = [(b.sensor_id, b.first_index, v) for b, v in zip(blocks[:-1], stored[:-1])]
    assert len(data) - last > HEADER_SIZE
    for cut in range(last + 1, len(data)):
        raw.write_bytes(data[:cut])
        rec = read_recording(prefix)
        assert rec.truncated_bytes == cut - last > 0
        assert rec.truncation_reason
        got = [(b.sensor_id, b.first_index, b.samples) for b in rec.blocks()]
        assert len(got) == n_before
        assert all(g[:2] == e[:2] and np.array_equal(g[2], e[2]) for g, e in zip(got, expected))


def test_bad_checksum_at_end_dropped_in_middle_is_an_error(tmp_path):
    prefix, blocks, _ = _small_recording(tmp_path)
    raw = prefix.with_name("r.raw")
    data = bytearray(raw.read_bytes())
    offsets = [r.offset for r in read_recording(prefix).records()]

    bad_end = bytearray(data)
    bad_end[-1] ^= 0xFF
    raw.write_bytes(bad_end)
    rec = read_recording(prefix)
    assert rec.truncated_bytes == len(data) - offsets[-1]
    assert "checksum" in rec.truncation_reason
    assert len(list(rec.blocks())) == len(blocks) - 1

    raw.write_bytes(bytes(data) + bytes(300))  # a torn write left zeros behind
    assert read_recording(prefix).truncated_bytes == 300

    bad_mid = bytearray(data)
    bad_mid[offsets[3] + HEADER_SIZE] ^= 0x01  # payload of the 4th record
    raw.write_bytes(bad_mid)
    with pytest.raises(RecordingError, match=f"byte offset {offsets[3]}"):
        read_recording(prefix)

    bad_len = bytearray(data)
    bad_len[offsets[2] + 9] ^= 0x40  # n samples of the 3rd record: header checksum catches it
    raw.write_bytes(bad_len)
    with pytest.raises(RecordingError, match=f"byte offset {offsets[2]}.*header checksum"):
        read_recording(prefix)


def test_a_complete_recording_cut_short_is_an_error_naming_the_lost_span(tmp_path):
    prefix, blocks, _ = _small_recording(tmp_path, unfinished=False)
    raw = prefix.with_name("r.raw")
    data = raw.read_bytes()
    rec = read_recording(prefix)
    assert rec.complete and rec.truncated_bytes == 0
    last = list(rec.records())[-1]
    fmt = rec.sensor(last.sensor_id)
    n = rec.n_samples(last.sensor_id)
    span = f"{last.counts.shape[0] / fmt.fs_hz:.1f} s lost (from {(n - last.counts.shape[0]) / fmt.fs_hz:.1f} s"
    for cut in (len(data) - 1, last.offset + HEADER_SIZE + 1, last.offset + 3, last.offset):  # an interrupted copy
        raw.write_bytes(data[:cut])
        with pytest.raises(RecordingError, match="damaged") as info:
            read_recording(prefix)
        message = str(info.value)
        assert f"{last.sensor_id}: {span}" in message, message
        assert f"{cut} of the {len(data)} bytes" in message or "unreadable" in message
        assert "\n" not in message
    with pytest.raises(RecordingError, match="damaged"):
        recover(prefix)  # nothing is "recovered" out of a damaged complete recording
    assert raw.read_bytes() == data[:last.offset]


def test_a_complete_recording_with_a_flipped_bit_in_its_last_record_is_an_error(tmp_path):
    prefix, _, _ = _small_recording(tmp_path, unfinished=False)
    raw = prefix.with_name("r.raw")
    data = bytearray(raw.read_bytes())
    last = list(read_recording(prefix).records())[-1]
    data[-1] ^= 0x10
    raw.write_bytes(data)
    with pytest.raises(RecordingError, match=f"record at byte {last.offset} is unreadable .*checksum.*s lost"):
        read_recording(prefix)


def test_a_complete_recording_without_its_samples_file_is_an_error(tmp_path):
    prefix, _, _ = _small_recording(tmp_path, unfinished=False)
    prefix.with_name("r.raw").unlink()
    with pytest.raises(RecordingError, match="samples file is missing"):
        read_recording(prefix)


def test_unknown_version_and_missing_header(tmp_path):
    prefix, _, _ = _small_recording(tmp_path)
    header_path = prefix.with_name("r.json")
    header = json.loads(header_path.read_text())
    header["version"] = 99
    header_path.write_text(json.dumps(header))
    with pytest.raises(RecordingError, match="version 99 is not supported"):
        read_recording(prefix)
    with pytest.raises(RecordingError, match="not found"):
        read_recording(tmp_path / "absent")


# ------------------------------------------------------------------------------- recovery
def test_recover_is_idempotent(tmp_path):
    sensors = mixed_sensors()
    prefix = tmp_path / "r"
    w = RecordingWriter(prefix, sensors, {"x": 1}, clock=FakeClock())
    blocks = stream(sensors, 30, seed=2)
    stored = [w.write(b) for b in blocks]
    w.flush()
    w._file.close()  # the process "dies": no close(), no completion marker
    raw = prefix.with_name("r.raw")
    good = raw.stat().st_size
    with open(raw, "ab") as f:  # and a record was half written
        f.write(recordings.MAGIC + b"\x01\x00" + bytes(50))

    assert not read_recording(prefix).complete
    result = recover(prefix)
    assert not result.already_complete and result.bytes_dropped == 56 and result.bytes_kept == good
    for s in sensors:
        n = sum(b.n_samples for b in blocks if b.sensor_id == s.sensor_id)
        assert result.samples[s.sensor_id] == n
        assert result.seconds[s.sensor_id] == pytest.approx(n / s.fs_hz)
    assert raw.stat().st_size == good and stat.S_IMODE(raw.stat().st_mode) == 0o600
    rec = read_recording(prefix)
    assert rec.complete and rec.recovered and rec.truncated_bytes == 0 and rec.meta == {"x": 1}
    i_w, v_w = expand([(b.first_index, v) for b, v in zip(blocks, stored) if b.sensor_id == "imu"])
    i_r, v_r = expand([(b.first_index, b.samples) for b in rec.blocks("imu")])
    assert np.array_equal(i_w, i_r) and np.array_equal(v_w, v_r)

    header_before = prefix.with_name("r.json").read_bytes()
    again = recover(prefix)
    assert again.already_complete and again.bytes_dropped == 0 and again.samples == result.samples
    assert prefix.with_name("r.json").read_bytes() == header_before
    assert raw.stat().st_size == good


def test_recover_header_only(tmp_path):
    prefix = tmp_path / "r"
    RecordingWriter(prefix, mixed_sensors(), {})._file.close()
    prefix.with_name("r.raw").unlink()  # died between the header and the raw file
    result = recover(prefix)
    assert result.bytes_kept == 0 and all(v == 0 for v in result.seconds.values())
    assert read_recording(prefix).complete
    assert stat.S_IMODE(prefix.with_name("r.raw").stat().st_mode) == 0o600


# ----------------------------------------------------------------------------- disk errors
@pytest.mark.parametrize("failing", ["write", "fsync"])
def test_disk_full_raises_and_keeps_what_was_flushed(tmp_path, monkeypatch, failing):
    sensors = mixed_sensors()
    prefix = tmp_path / "r"
    w = RecordingWriter(prefix, sensors, {}, clock=FakeClock())
    blocks = stream(sensors, 20, seed=4)
    for b in blocks[:30]:
        w.write(b)
    w.flush()
    flushed = w.bytes_on_disk
    real_write, real_fsync = os.write, os.fsync

    def full_write(fd, data):
        if fd == w._fd:
            real_write(fd, bytes(data[: len(data) // 2]))  # part of it reaches the disk
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_write(fd, data)

    def full_fsync(fd):
        if fd == w._fd:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_fsync(fd)

    if failing == "write":
        monkeypatch.setattr(recording_writer.os, "write", full_write)
    else:
        monkeypatch.setattr(recording_writer.os, "fsync", full_fsync)
    for b in blocks[30:40]:
        w.write(b)
    with pytest.raises(RecordingError, match="disk full") as info:
        w.flush()
    assert isinstance(info.value, OSError) and info.value.errno == errno.ENOSPC
    assert "not saved" in str(info.value)
    monkeypatch.undo()
    with pytest.raises(RecordingError, match="earlier error"):
        w.write(blocks[40])
    w.close()  # releases the file, does not claim the recording is complete

    rec = read_recording(prefix)
    assert not rec.complete and rec.raw_size == flushed and rec.truncated_bytes == 0
    assert sum(b.n_samples for b in rec.blocks()) == sum(b.n_samples for b in blocks[:30])
    assert recover(prefix).bytes_dropped == 0


@pytest.mark.parametrize("raised_by", ["write", "close"])
def test_disk_full_in_a_background_flush_is_raised_by_the_next_call(tmp_path, monkeypatch, raised_by):
    sensors = mixed_sensors()
    prefix = tmp_path / "r"
    clock = FakeClock()
    w = RecordingWriter(prefix, sensors, {}, clock=clock)
    blocks = stream(sensors, 20, seed=4)
    for b in blocks[:30]:
        w.write(b)
    w.flush()
    flushed = w.bytes_on_disk
    real_write = os.write

    def full_write(fd, data):
        if fd == w._fd:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_write(fd, data)

    monkeypatch.setattr(recording_writer.os, "write", full_write)
    w.write(blocks[30])
    clock.t += w.flush_interval_s
    w.write(blocks[31])  # due: the flush goes to the background and fails there, this write does not
    deadline = time.monotonic() + 5.0
    while w.error is None and time.monotonic() < deadline:  # the background thread hits the full disk
        time.sleep(0.001)
    assert w.error is not None
    with pytest.raises(RecordingError, match="could not write recording .*disk full"):
        if raised_by == "write":
            w.write(blocks[32])
        else:
            w.close()
    monkeypatch.undo()
    w.close()
    rec = read_recording(prefix)
    assert not rec.complete and rec.raw_size == flushed
    assert sum(b.n_samples for b in rec.blocks()) == sum(b.n_samples for b in blocks[:30])


# ------------------------------------------------------------------------------ disk cost
def test_disk_cost_per_hour_eight_sensors_2khz_int16(tmp_path):
    sensors = [SensorFormat(f"s{k}", 2000.0, 1, "uV", 0.5, "int16", (f"m{k}",)) for k in range(8)]
    clock = FakeClock()
    prefix = tmp_path / "hour"
    w = RecordingWriter(prefix, sensors, {"note": "disk cost"}, clock=clock)
    rng = np.random.default_rng(5)
    seconds, block = 60, 40  # 20 ms blocks
    for r in range(seconds * 2000 // block):
        clock.t = r * 0.02
        counts = rng.integers(-32768, 32768, size=(8, block, 1))
        for k, s in enumerate(sensors):
            w.write(Block(s.sensor_id, r * block, counts[k] * 0.5, clock.t))
    w.close()
    size = prefix.with_name("hour.raw").stat().st_size + prefix.with_name("hour.json").stat().st_size
    per_hour = size * 3600 / seconds
    estimate = bytes_per_hour(sensors)
    message = f"measured {per_hour / 1e6:.2f} MB/hour (estimate {estimate / 1e6:.2f} MB/hour)"
    print(message)
    assert per_hour <= 120e6, message
    assert abs(per_hour - estimate) / estimate < 0.01, message
    rec = read_recording(prefix)
    assert all(rec.n_samples(s.sensor_id) == seconds * 2000 for s in sensors)


# ------------------------------------------------------------------------------ real kill
FLUSH_S = 0.2
MARGIN_S = 0.3


def _read_progress(proc, lines):
    for line in proc.stdout:
        lines.append(line.split())


def _check_prefix(prefix, seed, progress, t_kill):
    rec = read_recording(prefix)
    assert not rec.complete
    result = recover(prefix)
    rec = read_recording(prefix)
    assert rec.complete and rec.recovered and rec.truncated_bytes == 0
    assert result.bytes_kept == rec.raw_size

    written = [(int(i), float(t)) for i, t in (p for p in progress if p[0] != "ready")]
    safe = sum(1 for _, t in written if t <= t_kill - FLUSH_S - MARGIN_S)  # blocks that must survive
    n_written = len(written)
    assert 0 < safe <= n_written

    intended = []
    gen = intended_blocks(seed)
    for _ in range(n_written + 1):
        intended.append(next(gen))
    formats = {s.sensor_id: s for s in KILL_SENSORS}
    for s in KILL_SENSORS:
        mine = [b for b in intended if b.sensor_id == s.sensor_id]
        back = list(rec.blocks(s.sensor_id))
        rows = sum(b.n_samples for b in back)
        must = sum(b.n_samples for b in intended[:safe] if b.sensor_id == s.sensor_id)
        assert rows >= must, f"{s.sensor_id}: kept {rows} rows, {must} were older than the flush interval"
        # whole blocks only, and exactly the first ones intended
        kept, total = [], 0
        for b in mine:
            if total == rows:
                break
            kept.append(b)
            total += b.n_samples
        assert total == rows, f"{s.sensor_id}: a partial block was returned"
        i_w, v_w = expand([(b.first_index, formats[s.sensor_id].representable(b.samples)) for b in kept])
        i_r, v_r = expand([(b.first_index, b.samples) for b in back])
        assert np.array_equal(i_w, i_r)
        assert np.array_equal(v_w, v_r)
        starts = {b.first_index: b for b in kept}
        for b in back:
            assert (b.gap_before, b.resync, b.t_host) == (starts[b.first_index].gap_before,
                                                         starts[b.first_index].resync,
                                                         starts[b.first_index].t_host)
    return safe, n_written, sum(result.samples.values())


@pytest.mark.serial
def test_sigkill_while_recording_loses_at_most_the_flush_interval(tmp_path):
    rng = random.Random()
    kills = sorted(rng.uniform(1.0, 2.0) for _ in range(5))
    env = dict(os.environ, PYTHONPATH=str(HERE.parent))
    children = []
    for k, delay in enumerate(kills):
        prefix = tmp_path / f"kill{k}"
        proc = subprocess.Popen(
            [sys.executable, str(HERE / "recording_killer.py"), str(prefix), str(100 + k), str(FLUSH_S)],
            stdout=subprocess.PIPE, text=True, env=env,
        )
        lines: list[list[str]] = []
        reader = threading.Thread(target=_read_progress, args=(proc, lines), daemon=True)
        reader.start()
        children.append({"prefix": prefix, "seed": 100 + k, "proc": proc, "lines": lines,
                         "reader": reader, "delay": delay})
    try:
        deadline = time.monotonic() + 15
        for c in children:
            while not c["lines"] and time.monotonic() < deadline:
                time.sleep(0.005)
            assert c["lines"] and c["lines"][0] == ["ready"], "child did not start"
            c["t_ready"] = time.monotonic()
        for c in sorted(children, key=lambda c: c["t_ready"] + c["delay"]):
            time.sleep(max(0.0, c["t_ready"] + c["delay"] - time.monotonic()))
            c["t_kill"] = time.monotonic()
            os.kill(c["proc"].pid, signal.SIGKILL)
    finally:
        for c in children:
            if c["proc"].poll() is None and "t_kill" not in c:
                c["proc"].kill()
            c["proc"].wait(timeout=10)
            c["reader"].join(timeout=10)
    report = []
    for c in children:
        assert c["proc"].returncode == -signal.SIGKILL
        safe, n, rows = _check_prefix(c["prefix"], c["seed"], c["lines"], c["t_kill"])
        report.append(f"killed after {c['delay']:.2f}s: {n} blocks written, the first >= {safe} "
                      f"required, {rows} rows recovered")
    print("\n".join(report))


def test_a_lost_stretch_written_across_a_flush_reads_as_one_gap(tmp_path):
    # A lost sensor is padded piece by piece (blocks that only mark lost samples); a flush that falls
    # inside the stretch splits it into two records, but the reader gives the trainer one gap.
    s = SensorFormat("glute_l", 1000.0, 1, "uV", 0.25, "int16", ("glute_max L",))
    x = np.ones((100, 1), np.float32)
    with RecordingWriter(tmp_path / "set", [s], {}, clock=FakeClock()) as w:
        w.write(Block("glute_l", 0, x, t_host=0.0))
        first = 100
        for piece in range(6):
            w.write(Block("glute_l", first + 50, np.zeros((0, 1), np.float32), t_host=0.1 + piece, gap_before=50))
            first += 50
            if piece in (1, 3):
                w.flush()
        w.write(Block("glute_l", first, x, t_host=7.0))
    rec = read_recording(tmp_path / "set")
    assert [(g.row, g.first_index, g.length, g.resync) for g in rec.gaps("glute_l")] == [(100, 100, 300, False)]
    assert rec.samples("glute_l").shape == (500, 1)
    assert not rec.samples("glute_l")[100:400].any() and rec.samples("glute_l")[400:].all()
