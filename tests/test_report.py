"""The client report: named numbers, dates and formulas; self-contained HTML; ``coach report`` end to end."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from dataclasses import replace
from datetime import UTC, datetime

import pytest
from conftest import ROOT
from test_progress import CLIENT, ab_test, ana_history, store_history

from coach_tui.cli import main
from coach_tui.domain.client import Client
from coach_tui.domain.progress import client_progress
from coach_tui.dsp import asymmetry, target_share
from coach_tui.reports.client_report import format_for, report_text
from coach_tui.reports.report_page import sparkline
from coach_tui.store.database import Database
from coach_tui.store.repository import Repository

pytestmark = pytest.mark.usefixtures("isolated")

GENERATED = datetime(2025, 3, 30, 9, 5, tzinfo=UTC)


@pytest.fixture(autouse=True)
def utc(monkeypatch):
    """Dates in the report are local dates: pin the zone so they are known."""
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


@pytest.fixture
def progress():
    h = ana_history()
    return client_progress(h["client"], h["sessions"], h["sets"], h["calibrations"], h["ab_tests"], window=3)


def test_markdown_names_dates_numbers_and_formulas(progress):
    md = report_text(progress, "md", GENERATED)
    expected = [
        "# Activation report — Ana Díaz",
        "Generated 2025-03-30 09:05 UTC",
        "Sessions 2025-03-01 → 2025-03-15: 3 sessions, 7 sets, 8 reps in %MVC.",
        "it leaves the computer only if the trainer sends it",
        "left out: 1 set in µV (target not calibrated), 1 set without detected reps",
        # activation and symmetry: first → last session
        "| Hip thrust · glute max | 3 | 2025-03-01 → 2025-03-15 | 58 → 77 %MVC | 35 → 50 %MVC | 14 → 6 % | 55 → 70 % |",
        "- Hip thrust · glute max, peak: `▁▇█` 58 → 77 %MVC (2025-03-01 → 2025-03-15)",
        "new MVC reference from 2025-03-15",
        "it is not force, and not a measure of growth stimulus",
        # progression
        "- Hip thrust: ready to progress (last 3 sets: 74, 77, 78 %MVC, target 70; asymmetry 7, 6, — %, limit 15)",
        "- Back squat: not yet: 1 of 3 sets recorded — 2 more sets needed",
        # A/B tests: t intervals with set offsets (τ = 3 %MVC), by hand in test_progress.AB_PEAKS' terms:
        # se² = s²/4 + 9/3, e.g. glute bridge 13.3/4 + 3 = 6.33, df 10.8, 62 ± 2.22 · 2.52.
        "| A/B test | variation | reps | peak %MVC [95 % CI] | mean %MVC [95 % CI] |",
        "| 2025-03-15, glute max | Glute bridge | 4 | 62.0 [56.5, 67.5] | 37.2 [33.7, 40.7] |",
        "| 2025-03-15, glute max | Hip thrust | 4 | 78.0 [71.0, 85.0] | 46.8 [42.3, 51.3] |",
        "- 2025-03-15, glute max. Hip thrust − Glute bridge: +16.0 %MVC, 95 % CI [+7.8, +24.2], Hedges' g 3.28. "
        "Verdict: Hip thrust wins — higher peak %MVC of the target than Glute bridge. ⚠ fatigue: median frequency "
        "fell 20% across the test — fatigue could explain the result.",
        "Activation is not force or growth stimulus",
        # perceived vs measured
        "5 rated sets, 2025-03-01 → 2025-03-15: ρ = 0.90 over 5 rated sets.",
        "Last 3 rated sets: ρ = 0.50 over 3 rated sets.",
        "- agreement over the last 3 rated sets, Spearman ρ: `██▁` 1.00 → 0.50 (2025-03-08 → 2025-03-15)",
        # every set with its load and time of day
        "| date | time | exercise | load | reps | peak %MVC | perceived | cue |",
        "| 2025-03-01 | 12:00 | Hip thrust | 60.0 kg | 2 | 55 | 5 |  |",
        # calibrations
        "| left glute max | 2025-03-01, 2025-03-15 | 328 µV | -18 % |",
        "| right glute max | 2025-03-01 | 380 µV | — |",
        # formulas
        "%MVC = envelope ÷ MVC reference × 100",
        asymmetry.FORMULA,
        target_share.FORMULA,
        "Spearman's ρ",
        "1 − 2α/k (Bonferroni; at the default α = 5 %: 95 % for 2, 96.7 % for 3, 97.5 % for 4)",
        "rolling agreement = ρ over the last 3 rated sets",
        progress.settings.formula,
    ]
    for text in expected:
        assert text in md, text


def test_three_variations_name_their_adjusted_level_and_an_unfinished_test_has_no_verdict():
    h = ana_history()
    s3 = h["sessions"][-1]
    trio = ab_test(s3, ("glute_bridge", "hip_thrust", "cable_pull_through"),
                   ((60, 64), (80, 76), (61, 63), (62, 60), (76, 80), (63, 61)), "ab-2")
    finished = ab_test(s3, test_id="ab-3")
    unfinished = replace(finished, reps=tuple(r for r in finished.reps if r.set_position < 2), verdict="", winner=None,
                         warnings=())
    progress = client_progress(h["client"], h["sessions"], h["sets"], ab_tests=[trio, unfinished])
    md = report_text(progress, "md", GENERATED)
    (trio_line, unfinished_line) = [line for line in md.splitlines() if line.startswith("- 2025-03-15, glute max")]
    # Three pairwise differences, each at 1 − 2 · 5 %/3 = 96.7 %; hip thrust beats both others.
    assert trio_line.count("96.7 % CI [") == 3 and "95 % CI" not in trio_line
    assert "Hip thrust − Glute bridge: +16.0 %MVC" in trio_line and "Hip thrust − Cable pull-through:" in trio_line
    assert trio.verdict == "Hip thrust wins — higher peak %MVC of the target than Glute bridge, Cable pull-through"
    assert f"Verdict: {trio.verdict}." in trio_line
    assert unfinished_line.startswith("- 2025-03-15, glute max (not finished: 2 of 4 sets). Hip thrust − Glute bridge:")
    assert "Verdict: no verdict yet — interim numbers, 2 sets to go." in unfinished_line


def test_html_is_self_contained_with_inline_svg_charts(progress):
    page = report_text(progress, "html", GENERATED)
    assert page.startswith("<!DOCTYPE html>") and page.rstrip().endswith("</html>")
    lowered = page.lower()
    for external in ("<script", "<link", "src=", "href=", "@import", "url("):
        assert external not in lowered
    assert lowered.count("http") == lowered.count('xmlns="http://www.w3.org/2000/svg"')
    svgs = [page[i:page.index("</svg>", i) + 6] for i in range(len(page)) if page.startswith("<svg", i)]
    assert len(svgs) == 2  # hip thrust (4 lines), rolling agreement (1 line)
    trees = [ET.fromstring(svg) for svg in svgs]
    ns = "{http://www.w3.org/2000/svg}"
    assert [len(t.findall(f"{ns}polyline")) for t in trees] == [4, 1]
    assert "<td>58 → 77 %MVC</td>" in page and "2025-03-01" in page and "Spearman" in page


def test_html_escapes_what_the_trainer_typed():
    client = Client("c-x", "Bo & <Co>", created=GENERATED)
    page = report_text(client_progress(client, [], []), "html", GENERATED)
    assert "Bo &amp; &lt;Co&gt;" in page and "<Co>" not in page


def test_empty_client_says_what_is_missing():
    md = report_text(client_progress(Client("c-bo", "Bo", created=GENERATED), [], []), "md", GENERATED)
    assert "No sessions recorded yet." in md
    assert md.count("no sessions recorded yet for Bo") == 4  # activation, progression, perceived, sets
    assert "no MVC calibrations yet for Bo" in md and "no A/B tests yet for Bo" in md


def test_sparkline_and_format_choice(tmp_path):
    assert sparkline([1, 2, 3]) == "▁▅█" and sparkline([4, 4]) == "▅▅"
    assert format_for(None) == "md" and format_for(tmp_path / "a.HTML") == "html"
    assert format_for(tmp_path / "a.htm") == "html" and format_for(tmp_path / "a.txt") == "md"
    assert format_for(tmp_path / "a.html", "md") == "md"
    with pytest.raises(ValueError, match="unknown report format"):
        report_text(client_progress(CLIENT, [], []), "pdf", GENERATED)


def test_report_does_not_import_textual_nor_plotext():
    code = "import sys, coach_tui.reports.client_report; print(sorted({'textual', 'plotext'} & set(sys.modules)))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert result.stdout.strip() == "[]"


# --- coach report --------------------------------------------------------------------------------


@pytest.fixture
def config(tmp_path):
    path = tmp_path / "config.toml"
    path.write_text('sessions_dir = "data"\n', encoding="utf-8")
    with Database(tmp_path / "data") as database:
        store_history(Repository(database))
    return path


def coach(capsys, *argv) -> tuple[int, str, str]:
    capsys.readouterr()
    rc = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return rc, out, err


def test_coach_report_writes_owner_only_files(capsys, config, tmp_path):
    out = tmp_path / "ana.md"
    out.write_text("old", encoding="utf-8")
    os.chmod(out, 0o644)
    rc, stdout, _ = coach(capsys, "--config", config, "report", "ana díaz", "--out", out)
    assert rc == 0 and stdout.strip() == str(out)
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    text = out.read_text(encoding="utf-8")
    assert text.startswith("# Activation report — Ana Díaz") and "58 → 77 %MVC" in text
    assert "| left glute max | 2025-03-01, 2025-03-15 | 328 µV | -18 % |" in text
    assert "| 2025-03-15, glute max | Hip thrust | 4 | 78.0 [71.0, 85.0] | 46.8 [42.3, 51.3] |" in text
    assert "Verdict: Hip thrust wins — higher peak %MVC of the target than Glute bridge." in text

    page = tmp_path / "ana.html"
    rc, _, _ = coach(capsys, "--config", config, "report", "Ana Díaz", "--out", page)
    assert rc == 0 and stat.S_IMODE(page.stat().st_mode) == 0o600
    assert page.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")


def test_coach_report_to_stdout(capsys, config):
    rc, out, _ = coach(capsys, "--config", config, "report", "Ana Díaz")
    assert rc == 0 and out.startswith("# Activation report — Ana Díaz") and "ρ = 0.90 over 5 rated sets" in out
    rc, out, _ = coach(capsys, "--config", config, "report", "Ana Díaz", "--format", "html")
    assert rc == 0 and out.startswith("<!DOCTYPE html>")


def test_coach_report_refuses_unknown_client_and_missing_folder(capsys, config, tmp_path):
    rc, out, err = coach(capsys, "--config", config, "report", "Zoe")
    assert rc == 2 and out == ""
    (line,) = err.strip().splitlines()
    assert line.startswith("coach report: no client named 'Zoe' (clients: Ana Díaz)")
    rc, _, err = coach(capsys, "--config", config, "report", "Ana Díaz", "--out", tmp_path / "nowhere" / "a.md")
    assert rc == 2 and "does not exist" in err and not (tmp_path / "nowhere").exists()


@pytest.mark.parametrize("typed", ["Ana", "díaz", "ana diaz"])
def test_a_near_miss_client_name_suggests_the_close_match_first(capsys, config, typed):
    # The lookup is the repository's, shared by every command that takes a client name.
    for command in (["report", typed], ["sessions", "--client", typed]):
        rc, out, err = coach(capsys, "--config", config, *command)
        assert rc == 2 and out == ""
        (line,) = err.strip().splitlines()
        assert line == (f"coach {command[0]}: no client named {typed!r}; did you mean 'Ana Díaz'? "
                        f"(a new client: coach clients add {typed!r})")


def test_a_text_chart_draws_the_numbers_it_shows():
    from datetime import timedelta

    from coach_tui.reports.report_page import Chart, ChartLine, text_chart

    days = [GENERATED - timedelta(days=7), GENERATED]
    (line,) = text_chart(Chart("Hip thrust", (ChartLine("asymmetry", "%", tuple(zip(days, (3.6, 4.4)))),)))
    assert "`▅▅` 4 → 4 %" in line  # not "▁█ 4 → 4 %": a flat line for numbers shown the same


def _with_fatigue_and_an_old_set():
    """Ana's history plus a hip-thrust set whose median frequency falls rep by rep, and one set kept
    with the previous peak definition (its raw recording lost)."""
    from test_progress import a_set, rep

    h = ana_history()
    session = h["sessions"][2]
    falling = [replace(rep(70, 40, index=i + 1), start_s=2.0 * i, end_s=2.0 * i + 1.5, median_frequency_hz=f)
               for i, f in enumerate([110, 106, 103, 99, 96, 92])]
    old = replace(a_set(session, 5, "hip_thrust", [rep(95, 50)]), metrics_version=1)
    sets = [*h["sets"], a_set(session, 4, "hip_thrust", falling), old]
    return client_progress(h["client"], h["sessions"], sets, h["calibrations"], h["ab_tests"], window=3)


def test_fatigue_verdicts_and_sets_of_the_old_definition_are_said():
    progress = _with_fatigue_and_an_old_set()
    md = report_text(progress, "md", GENERATED)
    assert "## Fatigue within sets" in md
    assert "1 set with a median-frequency trend; fatigue shown in 1." in md
    assert "2025-03-15 Hip thrust, set 4: fatigue: median frequency falling (-106.3 Hz/min, 95 % interval" in md
    assert "fatigue = the median frequency (Welch) falls" in md  # the formula named
    # the old set is left out of every number, and said
    assert "1 set measured with the previous peak definition (raw recording missing)" in md
    assert progress.sets_old_metrics == 1 and max(p.summary.peak_pct for p in progress.series[0].points) < 95
