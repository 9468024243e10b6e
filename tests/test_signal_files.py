"""SignalFile file readers: generic text and NumPy formats, the UCI layouts, and every refusal."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pytest
from conftest import LOWER_LIMB, PHYSICAL_ACTION, needs_shared_data

from coach_tui.sources.signal_files import (
    LOWER_LIMB_HINTS,
    PHYSICAL_ACTION_HINTS,
    SignalFile,
    SignalFileError,
    load_signal_file,
)


def write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text.encode(encoding))
    return path


# --- generic text ----------------------------------------------------------------------------


def test_csv_with_header_names_columns(tmp_path):
    path = write(tmp_path / "a.csv", "# exported by X\nbiceps_L,biceps_R\n1,2\n3,4.5\n-5,6e1\n")
    rec = load_signal_file(path, fs_hz=500)
    assert rec.column_names == ["biceps_L", "biceps_R"]
    assert rec.samples.dtype == np.float64
    np.testing.assert_array_equal(rec.samples, [[1, 2], [3, 4.5], [-5, 60]])
    assert (rec.fs_hz, rec.units, rec.channels, rec.n_samples) == (500.0, "unknown", 2, 3)
    assert rec.duration_s == pytest.approx(3 / 500)
    assert rec.channel_hints is None and rec.clip_level is None and rec.aux == {}
    assert rec.source == str(path)


def test_whitespace_without_header(tmp_path):
    path = write(tmp_path / "a.txt", "1  2\t3\n 4 5   6 \n\n7 8 9\n")
    rec = load_signal_file(path, fs_hz=1000)
    assert rec.column_names is None
    np.testing.assert_array_equal(rec.samples, [[1, 2, 3], [4, 5, 6], [7, 8, 9]])


def test_semicolon_with_decimal_commas(tmp_path):
    path = write(tmp_path / "a.csv", "L;R\n1,5;-2,25\n3;4\n")
    rec = load_signal_file(path, fs_hz=100)
    assert rec.column_names == ["L", "R"]
    np.testing.assert_array_equal(rec.samples, [[1.5, -2.25], [3, 4]])


def test_gzip_tab_crlf_latin1_header(tmp_path):
    raw = "Gerät: Myo\r\nKanal A µV\tKanal B µV\r\n1\t2\r\n3\t4\r\n".encode("latin-1")
    path = tmp_path / "a.tsv.gz"
    path.write_bytes(gzip.compress(raw))
    rec = load_signal_file(path, fs_hz=2000)
    assert rec.column_names == ["Kanal A µV", "Kanal B µV"]
    assert rec.units == "µV"
    np.testing.assert_array_equal(rec.samples, [[1, 2], [3, 4]])


def test_trailing_delimiters_and_empty_tail_rows(tmp_path):
    path = write(tmp_path / "a.csv", "1,2,\n3,4,\n5,6,\n,,\n , ,\n\n")
    rec = load_signal_file(path, fs_hz=10)
    np.testing.assert_array_equal(rec.samples, [[1, 2], [3, 4], [5, 6]])


def test_time_column_gives_rate_and_is_kept_aside(tmp_path):
    rows = "\n".join(f"{i / 2000:.4f},{i},{-i}" for i in range(11))
    path = write(tmp_path / "a.csv", "time,rf (mV),bf (mV)\n" + rows + "\n")
    rec = load_signal_file(path)
    assert rec.fs_hz == pytest.approx(2000)
    assert rec.units == "mV" and rec.column_names == ["rf (mV)", "bf (mV)"]
    assert rec.samples.shape == (11, 2)
    np.testing.assert_allclose(rec.aux["time"], np.arange(11) / 2000)
    assert load_signal_file(path, fs_hz=1000).fs_hz == 1000  # explicit rate wins


def test_time_in_milliseconds(tmp_path):
    path = write(tmp_path / "a.csv", "time_ms,x\n0,1\n4,2\n8,3\n")
    assert load_signal_file(path).fs_hz == pytest.approx(250)


@pytest.mark.parametrize("fs", [990.0, 1000.0, 2000.0])
def test_an_even_time_column_gives_its_rate_at_any_rate(tmp_path, fs):
    rows = "\n".join(f"{i / fs:.6f},{i % 7}" for i in range(5000))
    assert load_signal_file(write(tmp_path / "a.csv", "time,x\n" + rows + "\n")).fs_hz == pytest.approx(fs, rel=1e-6)


def test_a_gap_in_the_time_column_is_refused_never_re_rated(tmp_path):
    # 10 s at 1 kHz with the samples of 4–5 s missing (header on line 1, t = 5 s on line 4002):
    # spread over the time, they would read 900 Hz.
    times = [i / 1000 for i in range(10_000) if not 4000 <= i < 5000]
    path = write(tmp_path / "gap.csv", "time,x\n" + "\n".join(f"{t:.3f},1" for t in times) + "\n")
    with pytest.raises(SignalFileError) as error:
        load_signal_file(path)
    message = str(error.value)
    assert "jumps from 3.999 s to 5 s at line 4002" in message and "about 1000 samples are missing" in message
    assert "--fs" in message and "\n" not in message
    assert load_signal_file(path, fs_hz=1000).fs_hz == 1000  # an explicit rate wins; the time is kept aside


def test_large_file_takes_the_fast_path_exactly(tmp_path):
    data = np.random.default_rng(0).normal(size=(200_000, 2)).round(3)
    path = tmp_path / "big.csv"
    np.savetxt(path, data, fmt="%.3f", delimiter=",", header="a,b", comments="")
    rec = load_signal_file(path, fs_hz=2000)
    np.testing.assert_array_equal(rec.samples, data)


# --- NumPy -----------------------------------------------------------------------------------


def test_npy_needs_a_rate(tmp_path):
    path = tmp_path / "a.npy"
    np.save(path, np.arange(12, dtype=np.int16).reshape(6, 2))
    with pytest.raises(SignalFileError, match=r"sample rate unknown: pass --fs HZ"):
        load_signal_file(path)
    rec = load_signal_file(path, fs_hz=1000)
    assert rec.samples.dtype == np.float64 and rec.samples.shape == (6, 2)


def test_npy_one_dimensional_is_one_channel(tmp_path):
    path = tmp_path / "a.npy"
    np.save(path, np.arange(5.0))
    assert load_signal_file(path, fs_hz=1).samples.shape == (5, 1)


def test_npy_channels_first_is_refused(tmp_path):
    path = tmp_path / "a.npy"
    np.save(path, np.zeros((2, 100)))
    with pytest.raises(SignalFileError, match=r"looks like \(channels, n\)"):
        load_signal_file(path, fs_hz=1000)


@pytest.mark.parametrize("key, rate_key",
                         [("samples", "fs"), ("emg", "fs_hz"), ("whatever", "fs")])
def test_npz_keys(tmp_path, key, rate_key):
    path = tmp_path / "a.npz"
    data = np.arange(8.0).reshape(4, 2)
    np.savez(path, **{key: data, rate_key: 1024.0})
    rec = load_signal_file(path)
    np.testing.assert_array_equal(rec.samples, data)
    assert rec.fs_hz == 1024.0
    assert load_signal_file(path, fs_hz=512).fs_hz == 512


def test_npz_units_and_names(tmp_path):
    path = tmp_path / "a.npz"
    names = np.array(["a", "b"])
    np.savez(path, samples=np.zeros((4, 2)), fs=1000, units="µV", column_names=names)
    rec = load_signal_file(path)
    assert rec.units == "µV" and rec.column_names == ["a", "b"]


def test_npz_without_samples_or_rate(tmp_path):
    path = tmp_path / "a.npz"
    np.savez(path, x=np.zeros((4, 2)), y=np.zeros((4, 2)))
    with pytest.raises(SignalFileError, match="no array named 'samples' or 'emg'"):
        load_signal_file(path, fs_hz=1)
    np.savez(path, samples=np.zeros((4, 2)))
    with pytest.raises(SignalFileError, match="pass --fs HZ"):
        load_signal_file(path)


# --- refusals --------------------------------------------------------------------------------


def test_missing_file(tmp_path):
    with pytest.raises(SignalFileError, match=r"nope\.csv: file not found"):
        load_signal_file(tmp_path / "nope.csv", fs_hz=1)


def test_empty_file(tmp_path):
    with pytest.raises(SignalFileError, match="a.csv: file is empty"):
        load_signal_file(write(tmp_path / "a.csv", "\n \n"), fs_hz=1)


def test_header_only(tmp_path):
    with pytest.raises(SignalFileError, match="no numeric data rows in the file"):
        load_signal_file(write(tmp_path / "a.csv", "a,b\nc,d\n"), fs_hz=1)


def test_text_needs_a_rate(tmp_path):
    with pytest.raises(SignalFileError, match=r"a.csv: sample rate unknown: pass --fs HZ"):
        load_signal_file(write(tmp_path / "a.csv", "1,2\n3,4\n"))


@pytest.mark.parametrize("bad", [0, -5, float("nan"), "fast"])
def test_bad_rate(tmp_path, bad):
    with pytest.raises(SignalFileError, match="sample rate must be a positive number"):
        load_signal_file(write(tmp_path / "a.csv", "1,2\n"), fs_hz=bad)


def test_column_count_change_names_the_line(tmp_path):
    path = write(tmp_path / "a.csv", "x,y\n1,2\n3,4\n5,6\n7,8,9\n")
    expected = r"a.csv: line 5 has 3 columns, the first data row \(line 2\) has 2"
    with pytest.raises(SignalFileError, match=expected):
        load_signal_file(path, fs_hz=1)


def test_non_numeric_cell_names_line_column_token(tmp_path):
    path = write(tmp_path / "a.txt", "1\t2\n3\t4\n5\t7.5V\n")
    with pytest.raises(SignalFileError, match=r"a.txt: line 3, column 2: '7.5V' is not a number"):
        load_signal_file(path, fs_hz=1)


def test_missing_values_name_column_and_time(tmp_path):
    rows = ["1,2"] * 100 + ["3,"] * 60 + ["4,5"] * 40
    path = write(tmp_path / "a.csv", "L,R\n" + "\n".join(rows) + "\n")
    with pytest.raises(SignalFileError, match=r"column 'R' has 60 missing value\(s\) from 0.100 s"):
        load_signal_file(path, fs_hz=1000)


def test_a_single_nan_is_refused_too(tmp_path):
    path = write(tmp_path / "a.txt", "1 2\n3 nan\n5 6\n")
    with pytest.raises(SignalFileError, match=r"column 2 has 1 missing value\(s\) from 0.500 s"):
        load_signal_file(path, fs_hz=2)


def test_error_messages_are_one_line(tmp_path):
    path = write(tmp_path / "a.csv", "1,2\n3,x\ny\n")
    with pytest.raises(SignalFileError) as info:
        load_signal_file(path, fs_hz=1)
    assert "\n" not in str(info.value)


# --- UCI layouts, synthetic copies ---------------------------------------------------------


def test_physical_action_layout_by_path(tmp_path):
    rows = "\n".join("\t".join(str(v) for v in range(i, i + 8)) for i in range(5))
    path = tmp_path / "sub07" / "Aggressive" / "Punching.txt.gz"
    path.parent.mkdir(parents=True)
    path.write_bytes(gzip.compress((rows + "\r\n\t\t\t\t\t\t\t\r\n").encode()))
    rec = load_signal_file(path)
    assert rec.samples.shape == (5, 8)
    assert (rec.fs_hz, rec.units, rec.clip_level) == (1000.0, "µV", 4000.0)
    assert rec.channel_hints == PHYSICAL_ACTION_HINTS
    assert rec.channel_hints[0] == ("biceps", "R") and rec.channel_hints[7] == ("hamstrings", "L")
    assert load_signal_file(path, fs_hz=2000).fs_hz == 2000


def test_physical_action_layout_wants_eight_columns(tmp_path):
    path = write(tmp_path / "sub01" / "Normal" / "Waving.txt", "1 2 3\n")
    with pytest.raises(SignalFileError, match="3 columns, the UCI physical-action layout has 8"):
        load_signal_file(path)


LOWER_LIMB_TEXT = (
    "File Name: 1Nmar.log\r\n"
    "Channel 1: 'RF', 4 values, engineering units: mV, no filters.\r\n"
    "Channel 5: 'FX', 1 values, engineering units: deg, no filters.\r\n"
    "\r\n"
    "0.1\t0.2\t0.3\t0.4\t10\t0\r\n"
    "0.5\t0.6\t0.7V\t0.8\t11\t0\r\n"
    "0.9\t1.0\t1.1\t1.2\t12\t0\r\n"
    "1.3\t1.4\t1.5\t1.6\t\t0\r\n"
    "\t\t\t\t7.5V\t0\r\n"
    "\t\t\t\t7.5\t0\r\n"
    "\t\t\t\t\t\r\n"
)


def test_lower_limb_layout_quirks(tmp_path):
    path = write(tmp_path / "N_TXT" / "1Nmar.txt", LOWER_LIMB_TEXT, encoding="latin-1")
    rec = load_signal_file(path)
    assert (rec.fs_hz, rec.units, rec.clip_level) == (1000.0, "mV", None)
    assert rec.channel_hints == LOWER_LIMB_HINTS
    np.testing.assert_allclose(rec.samples, [[0.1, 0.2, 0.3, 0.4], [0.5, 0.6, 0.7, 0.8],
                                             [0.9, 1.0, 1.1, 1.2], [1.3, 1.4, 1.5, 1.6]])
    np.testing.assert_allclose(rec.aux["angle"], [10, 11, 12, 12])


def test_lower_limb_gzipped_abnormal_folder(tmp_path):
    path = tmp_path / "A_TXT" / "3Asen.txt.gz"
    path.parent.mkdir()
    path.write_bytes(gzip.compress(LOWER_LIMB_TEXT.encode("latin-1")))
    assert load_signal_file(path).samples.shape == (4, 4)


def test_lower_limb_leniency_stays_in_its_layout(tmp_path):
    path = write(tmp_path / "elsewhere" / "1Nmar.txt", LOWER_LIMB_TEXT)
    with pytest.raises(SignalFileError, match=r"line 6, column 3: '0.7V' is not a number"):
        load_signal_file(path, fs_hz=1000)


def test_recording_checks_its_shape():
    with pytest.raises(ValueError, match="2-D"):
        SignalFile(samples=np.zeros(3), fs_hz=1, units="unknown", source="x")
    with pytest.raises(ValueError, match="column_names has 1 entries for 2 channels"):
        SignalFile(samples=np.zeros((3, 2)), fs_hz=1, units="?", source="x", column_names=["a"])


# --- the real recordings -------------------------------------------------------------------


def _files(folder: Path, pattern: str) -> list[Path]:
    return sorted(folder.glob(pattern)) if folder.exists() else []


@needs_shared_data
@pytest.mark.parametrize("path", _files(PHYSICAL_ACTION, "sub0[1-3]/*/*.txt.gz"),
                         ids=lambda p: f"{p.parts[-3]}-{p.stem}")
def test_real_physical_action(path):
    rec = load_signal_file(path)
    assert rec.samples.shape[1] == 8
    assert 9.0 <= rec.duration_s <= 16.0
    assert np.abs(rec.samples).max() <= 4000
    assert rec.channel_hints == PHYSICAL_ACTION_HINTS and rec.clip_level == 4000


@needs_shared_data
def test_real_physical_action_count_and_channel_order():
    assert len(_files(PHYSICAL_ACTION, "sub0[1-3]/*/*.txt.gz")) == 60
    rec = load_signal_file(PHYSICAL_ACTION / "sub01" / "Normal" / "Handshaking.txt.gz")
    rms = np.sqrt(np.mean(rec.samples**2, axis=0))
    assert rms[0] / rms[2] > 10  # right-hand handshake: right biceps (col 0) far above left (col 2)


@needs_shared_data
@pytest.mark.parametrize("path", _files(LOWER_LIMB, "[NA]_TXT/*.txt.gz"),
                         ids=lambda p: p.stem)
def test_real_lower_limb(path):
    rec = load_signal_file(path)
    assert rec.samples.shape[1] == 4 and rec.n_samples > 5000
    assert np.isfinite(rec.samples).all()
    assert rec.aux["angle"].shape == (rec.n_samples,) and np.isfinite(rec.aux["angle"]).all()
    assert rec.units == "mV" and rec.fs_hz == 1000


@needs_shared_data
def test_real_lower_limb_drops_the_gait_tail():
    rec = load_signal_file(LOWER_LIMB / "N_TXT" / "1Nmar.txt.gz")
    assert rec.n_samples == 5681  # as the header says; the 20 angle-only rows are gone
    assert len(_files(LOWER_LIMB, "[NA]_TXT/*.txt.gz")) == 48
