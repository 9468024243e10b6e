"""A recording read a piece at a time gives what it gives read whole: the same samples, rate, units
and names (``signal_stream``), the same ``coach analyze`` report however it is chunked, and the
same errors where a file is wrong."""

from __future__ import annotations

import gzip
import json

import numpy as np
import pytest

import coach_tui.sources.signal_stream as signal_stream
from coach_tui.domain.channels import ChannelAssignment
from coach_tui.dsp.signal_analysis import analyze_chunks, analyze_signal
from coach_tui.sources.signal_files import SignalFileError, load_signal_file
from coach_tui.sources.signal_stream import open_signal_stream

from synthetic import emg, random_rep_set

RNG = np.random.default_rng(0)
X = RNG.standard_normal((5003, 3)) * 50
T = np.arange(5003) / 1000

TEXTS = {
    "plain.csv": "a,b,c\n" + "\n".join(",".join(f"{v:.3f}" for v in row) for row in X) + "\n",
    "timed.csv": "time,a µV,b µV,c µV\n" + "\n".join(f"{t:.4f}," + ",".join(f"{v:.3f}" for v in row)
                                                      for t, row in zip(T, X, strict=True)) + "\n",
    "decimal_commas.txt": "# exported\nx;y;z\n" + "\n".join(";".join(f"{v:.3f}".replace(".", ",") for v in row)
                                                            for row in X) + "\n",
    "trailing.csv": "\n".join(",".join(f"{v:.3f}" for v in row) + "," for row in X) + "\n,,,\n,,,\n",
    "crlf.csv": "\r\n".join(",".join(f"{v:.3f}" for v in row) for row in X) + "\r\n",
}


@pytest.fixture
def in_pieces(monkeypatch):
    """Every text file streamed, however small."""
    monkeypatch.setattr(signal_stream, "STREAM_BYTES", 0)


@pytest.mark.parametrize("name", TEXTS)
@pytest.mark.parametrize("gzipped", [False, True])
def test_a_text_file_read_in_pieces_gives_what_it_gives_read_whole(tmp_path, in_pieces, name, gzipped):
    path = tmp_path / (name + (".gz" if gzipped else ""))
    data = TEXTS[name].encode("utf-8")
    path.write_bytes(gzip.compress(data) if gzipped else data)
    fs = None if name.startswith("timed") else 1000.0
    whole = load_signal_file(path, fs)
    for piece in (100, 1000, 7777, 1 << 20):
        stream = open_signal_stream(path, fs, chunk_bytes=piece)
        assert np.array_equal(np.concatenate(list(stream.chunks())), whole.samples)
        assert (stream.fs_hz, stream.units, stream.column_names, stream.channels) == (
            whole.fs_hz, whole.units, whole.column_names, whole.channels)


def test_errors_in_a_streamed_file_name_the_line_and_the_time(tmp_path, in_pieces):
    rows = [",".join(f"{v:.3f}" for v in row) for row in X]
    bad = tmp_path / "bad.csv"
    bad.write_text("\n".join(rows[:3000] + ["1.0,oops,2.0"] + rows[3000:]) + "\n", encoding="utf-8")
    with pytest.raises(SignalFileError, match="line 3001, column 2: 'oops' is not a number"):
        list(open_signal_stream(bad, 1000.0, chunk_bytes=5000).chunks())
    gap = tmp_path / "gap.csv"
    gap.write_text("\n".join(rows[:4000] + ["1.0,,2.0", "1.0,,2.0"] + rows[4000:]) + "\n", encoding="utf-8")
    with pytest.raises(SignalFileError, match=r"column 2 has 2 missing value\(s\) from 4.000 s \(sample 4000\)"):
        list(open_signal_stream(gap, 1000.0, chunk_bytes=5000).chunks())
    huge = tmp_path / "huge.csv"
    huge.write_text("\n".join(rows[:4500] + ["1.0,1e300,2.0"] + rows[4500:]) + "\n", encoding="utf-8")
    with pytest.raises(SignalFileError, match=r"column 2 holds 1e\+300 at 4.500 s \(sample 4500\)"):
        list(open_signal_stream(huge, 1000.0, chunk_bytes=5000).chunks())
    nul = tmp_path / "nul.csv"
    nul.write_bytes(("\n".join(rows[:3500]) + "\n").encode() + b"1.0,\x002.0,3.0\n")
    with pytest.raises(SignalFileError, match="NUL bytes \\(first on line 3501\\)"):
        list(open_signal_stream(nul, 1000.0, chunk_bytes=5000).chunks())

    def timed(name, times):
        path = tmp_path / name
        path.write_text("time,a,b,c\n" + "\n".join(f"{t:.6f}," + ",".join(f"{v:.3f}" for v in row)
                                                  for t, row in zip(times, X, strict=True)) + "\n", encoding="utf-8")
        return path

    jumping = timed("jump.csv", np.concatenate([np.arange(3000) / 1000, 3.5 + np.arange(2003) / 1000]))
    with pytest.raises(SignalFileError, match="jumps from 2.999 s to 3.5 s at line 3002"):
        list(open_signal_stream(jumping, None, chunk_bytes=5000).chunks())
    steps = np.linspace(1.0, 1.3, X.shape[0] - 1) / 1000  # no gap, but the rate slides from 1000 to 770 Hz
    drifting = timed("drift.csv", np.concatenate([[0.0], np.cumsum(steps)]))
    with pytest.raises(SignalFileError, match="rate drifts"):
        list(open_signal_stream(drifting, None, chunk_bytes=5000).chunks())


def _recording(seconds: float = 40.0) -> np.ndarray:
    rng = np.random.default_rng(4)
    fs = 2000
    reps = random_rep_set(rng, fs, 8, 30, 90)
    n = min(round(seconds * fs), reps.n)
    columns = [emg(reps.activation(scale)[:n], fs, rng) for scale in (1.0, 0.8, 0.5, 0.45)]
    hum = 30.0 * np.sin(2 * np.pi * 50 * np.arange(n) / fs)
    return np.column_stack(columns) + hum[:, None]


CHANNELS = [ChannelAssignment("glute_max", "L"), ChannelAssignment("glute_max", "R"),
            ChannelAssignment("hamstrings", "L"), ChannelAssignment("hamstrings", "R")]


def test_the_analysis_is_the_same_however_the_recording_arrives():
    """One array, irregular chunks and a 7 ms pipeline chunk give one report (and the same envelope)."""
    x = _recording()
    options = dict(source="x", units="µV", settings=None, mvc={"glute_max:L": 400.0, "glute_max:R": 400.0})
    whole_envelope, pieces_envelope = [], []
    whole = analyze_signal(x, 2000.0, CHANNELS, envelope_out=whole_envelope.append, **options).report
    cuts = np.cumsum(np.random.default_rng(1).integers(1, 9000, 40))
    cuts = [0, *[c for c in cuts if c < x.shape[0]], x.shape[0]]
    pieces = analyze_chunks(lambda: (x[a:b] for a, b in zip(cuts, cuts[1:])), 2000.0, CHANNELS,
                            chunk_samples=14, envelope_out=pieces_envelope.append, **options).report
    assert json.dumps(pieces) == json.dumps(whole)
    assert np.array_equal(np.concatenate(whole_envelope), np.concatenate(pieces_envelope))
    assert whole["mains_hz"] == 50.0 and all(len(c["reps"]) == 8 for c in whole["channels"][:2])


def test_coach_analyze_streams_a_large_text_file_to_the_same_report(tmp_path, capsys, monkeypatch):
    from coach_tui.cli import main

    x = _recording(20.0)
    path = tmp_path / "long.csv"
    np.savetxt(path, np.column_stack([np.arange(x.shape[0]) / 2000, x]), delimiter=",", fmt="%.6f",
               header="time_s,glute L,glute R,hams L,hams R", comments="")
    args = ["analyze", str(path), "--channels", "glute_max:L,glute_max:R,hamstrings:L,hamstrings:R", "--json"]
    monkeypatch.setattr(signal_stream, "STREAM_BYTES", 1 << 40)  # read whole
    assert main(args) == 0
    whole = json.loads(capsys.readouterr().out)
    monkeypatch.setattr(signal_stream, "STREAM_BYTES", 0)
    monkeypatch.setattr(signal_stream, "CHUNK_BYTES", 100_000)  # ~20 pieces
    assert main(args) == 0
    assert json.loads(capsys.readouterr().out) == whole
