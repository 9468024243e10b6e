"""Bad input to ``coach analyze``, one row each: every one gets exactly one line on stderr naming
the problem and a non-zero exit — no Traceback, no wrong answer with exit 0, no hang. The rows are
the ones fault injection found escaping (issue 11) plus their close relatives."""

from __future__ import annotations

import gzip
import io
import json
import os
import zipfile
from pathlib import Path

import numpy as np
import pytest

from coach_tui.cli import main
from coach_tui.sources import signal_file_limits

pytestmark = pytest.mark.usefixtures("isolated")

FS = 1000
SMALL_LIMIT = 1 << 20  # the size limit during these tests, so a "bomb" is quick to make and to refuse


def _rows(n: int = 3000, columns: int = 2, seed: int = 1) -> np.ndarray:
    return np.random.default_rng(seed).normal(0, 50, (n, columns))


def _csv(rows: np.ndarray, header: str | None = "biceps_L,biceps_R", delimiter: str = ",") -> str:
    body = "\n".join(delimiter.join(f"{v:.3f}" for v in row) for row in rows)
    return (header + "\n" if header else "") + body + "\n"


def text(content: str, name: str = "rec.csv", encoding: str = "utf-8"):
    def make(folder: Path) -> Path:
        path = folder / name
        path.write_bytes(content.encode(encoding))
        return path
    return make


def raw(content: bytes, name: str):
    def make(folder: Path) -> Path:
        path = folder / name
        path.write_bytes(content)
        return path
    return make


def _gzip_damaged(how: str) -> bytes:
    data = bytearray(gzip.compress(_csv(_rows()).encode()))
    if how == "crc":
        data[-6] ^= 0xFF  # the stored CRC
    elif how == "stream":
        data[12:20] = b"\xff" * 8  # the deflate data itself
    else:
        data = data[: len(data) // 2]  # cut short
    return bytes(data)


def _gzip_bomb() -> bytes:
    buffer = io.BytesIO()
    with gzip.GzipFile(fileobj=buffer, mode="wb", compresslevel=9) as f:
        f.write(b"1,2\n")
        for _ in range(4 * SMALL_LIMIT // (1 << 16)):
            f.write(b"0" * (1 << 16))
    return buffer.getvalue()


def _npz_bomb(folder: Path) -> Path:
    path = folder / "bomb.npz"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as z:
        with z.open("samples.npy", "w") as member:
            np.lib.format.write_array(member, np.zeros((SMALL_LIMIT // 8, 2)))
    return path


def _npz(**arrays):
    def make(folder: Path) -> Path:
        path = folder / "rec.npz"
        np.savez(path, **arrays)
        return path
    return make


def _fifo(folder: Path) -> Path:
    path = folder / "live.csv"
    os.mkfifo(path)
    return path


def _folder(folder: Path) -> Path:
    path = folder / "recordings"
    path.mkdir()
    return path


def _mvc(content: str):
    def make(folder: Path) -> Path:
        (folder / "mvc.json").write_text(content, encoding="utf-8")
        return text(_csv(_rows()))(folder)
    return make


def _mvc_fifo(folder: Path) -> Path:
    os.mkfifo(folder / "mvc.json")
    return text(_csv(_rows()))(folder)


OK = text(_csv(_rows()))
NUL_ROWS = _csv(_rows()).replace("\n", "\n\0", 1)
MISSING = _csv(_rows()).replace("\n", "\n,1.0\n", 1)

#: id, the file, the arguments after it, what the one line must say.
BAD = [
    ("gzip with a bad checksum", raw(_gzip_damaged("crc"), "rec.csv.gz"), ["--fs", FS], "damaged"),
    ("gzip with a corrupt stream", raw(_gzip_damaged("stream"), "rec.csv.gz"), ["--fs", FS], "damaged"),
    ("gzip cut short", raw(_gzip_damaged("cut"), "rec.csv.gz"), ["--fs", FS], "damaged"),
    ("gzip bomb", raw(_gzip_bomb(), "rec.csv.gz"), ["--fs", FS], "decompresses to more than 1 MiB"),
    ("file larger than the limit", text(_csv(_rows(100_000))), ["--fs", FS], "more than the 1 MiB"),
    (".npz that is not a zip", raw(b"PK\x03\x04" + b"garbage" * 20, "rec.npz"), ["--fs", FS], "not a readable NumPy file"),
    (".npz bomb", _npz_bomb, ["--fs", FS], "unpacks to"),
    (".npz with an infinite rate", _npz(samples=_rows(), fs=np.inf), [], "must be a positive rate"),
    (".npz with a rate of 1e308", _npz(samples=_rows(), fs=1e308), [], "must be a positive rate"),
    ("1e308 cells, --json", text(_csv(np.where(_rows() > 0, 1e308, 1.0))), ["--fs", FS, "--json"], "not a signal value"),
    ("--fs 1e308", OK, ["--fs", "1e308"], "sample rate must be"),
    ("--fs nan", OK, ["--fs", "nan"], "sample rate must be"),
    ("--fs inf", OK, ["--fs", "inf"], "sample rate must be"),
    ("--fs 0", OK, ["--fs", "0"], "sample rate must be"),
    ("--fs -1000", OK, ["--fs", "-1000"], "sample rate must be"),
    ("--fs too low for sEMG", OK, ["--fs", "10"], "must be above 40 Hz"),
    ("--chunk-ms nan", OK, ["--fs", FS, "--chunk-ms", "nan"], "--chunk-ms nan"),
    ("--chunk-ms inf", OK, ["--fs", FS, "--chunk-ms", "inf"], "--chunk-ms inf"),
    ("--chunk-ms 0", OK, ["--fs", FS, "--chunk-ms", "0"], "--chunk-ms 0"),
    ("decimal commas in a comma-separated file", text(_csv(_rows()).replace(".", ",").replace("biceps,", "biceps.")),
     ["--fs", FS], "the header names 2 columns but the data rows have 4"),
    ("a header of 3 names over 2 columns", text(_csv(_rows(), header="a,b,c")), ["--fs", FS], "header names 3 columns"),
    ("--mvc Infinity", _mvc('{"biceps_L": Infinity, "biceps_R": 100}'), ["--fs", FS, "--mvc", "{dir}/mvc.json"], "finite"),
    ("--mvc NaN", _mvc('{"biceps_L": NaN, "biceps_R": 100}'), ["--fs", FS, "--mvc", "{dir}/mvc.json"], "finite"),
    ("--mvc 0", _mvc('{"biceps_L": 0, "biceps_R": 100}'), ["--fs", FS, "--mvc", "{dir}/mvc.json"], "positive"),
    ("--mvc not JSON", _mvc("biceps_L = 100"), ["--fs", FS, "--mvc", "{dir}/mvc.json"], "not a JSON MVC file"),
    ("--mvc from a pipe", _mvc_fifo, ["--fs", FS, "--mvc", "{dir}/mvc.json"], "not a regular file"),
    ("NUL bytes in the data", text(NUL_ROWS), ["--fs", FS], "NUL bytes (first on line 2)"),
    ("UTF-16 text", text(_csv(_rows()), encoding="utf-16"), ["--fs", FS], "NUL bytes"),
    ("--channels biceps:L twice", OK, ["--fs", FS, "--channels", "biceps:L,biceps:L"], "both 'biceps:L'"),
    ("one name on two columns", text(_csv(_rows(), header="emg,emg")), ["--fs", FS], "both 'emg'"),
    ("--channels of the wrong length", OK, ["--fs", FS, "--channels", "biceps:L"], "names 1 columns"),
    ("a pipe", _fifo, ["--fs", FS], "not a regular file"),
    ("a folder", _folder, ["--fs", FS], "is a folder"),
    ("a missing file", lambda folder: folder / "absent.csv", ["--fs", FS], "file not found"),
    ("an empty file", text(""), ["--fs", FS], "empty"),
    ("a missing value", text(MISSING), ["--fs", FS], "1 missing value(s) from 0.000 s"),
    ("no rate anywhere", OK, [], "pass --fs HZ"),
]


@pytest.fixture(autouse=True)
def small_limit(monkeypatch):
    monkeypatch.setattr(signal_file_limits, "MAX_FILE_BYTES", SMALL_LIMIT)


@pytest.mark.parametrize("make, args, said", [row[1:] for row in BAD], ids=[row[0] for row in BAD])
def test_bad_input_gets_one_clear_line_and_a_non_zero_exit(capsys, tmp_path, make, args, said):
    path = make(tmp_path)
    capsys.readouterr()
    rc = main(["analyze", str(path), *(str(a).replace("{dir}", str(tmp_path)) for a in args)])
    out, err = capsys.readouterr()
    lines = [line for line in err.splitlines() if line.strip()]
    assert rc == 2 and out == "", (rc, out, err)
    assert len(lines) == 1 and "Traceback" not in err and "unexpected error" not in err, err
    assert said in lines[0], lines[0]


def test_a_utf8_byte_order_mark_is_not_part_of_the_first_name(capsys, tmp_path):
    path = text(_csv(_rows()), encoding="utf-8-sig")(tmp_path)
    assert path.read_bytes().startswith(b"\xef\xbb\xbf")
    capsys.readouterr()
    assert main(["analyze", str(path), "--fs", str(FS), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert [c["muscle"] for c in report["channels"]] == ["biceps_L", "biceps_R"]
