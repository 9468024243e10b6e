"""The history screen in a tiny app at 80×24 (Pilot), and the plotext chart widget it draws with."""

from __future__ import annotations

import math
import stat
import subprocess
import sys
import time
from dataclasses import replace

import pytest
from conftest import ROOT, until
from test_progress import store_history
from test_ui import _config
from textual.app import App
from textual.binding import Binding
from textual.widgets import ContentSwitcher, DataTable, OptionList, Static

from coach_tui.config import load_config
from coach_tui.domain.client import Client
from coach_tui.statistics.ab_statistics import ACTIVATION_CAVEAT
from coach_tui.store.database import Database
from coach_tui.store.repository import Repository
from coach_tui.ui.app import make_app
from coach_tui.ui.screens.history import HistoryScreen
from coach_tui.ui.widgets import plotext_chart
from coach_tui.ui.widgets.plotext_chart import ChartData, ChartSeries, PlotextChart, chart_ansi, decimate, plot_columns

pytestmark = pytest.mark.usefixtures("isolated")


@pytest.fixture(autouse=True)
def utc(monkeypatch):
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


class Host(App):
    """Just enough app to show one screen."""

    def __init__(self, screen):
        super().__init__()
        self.first = screen

    def on_mount(self) -> None:
        self.push_screen(self.first)


@pytest.fixture
def stored(tmp_path):
    config = replace(load_config(ROOT / "config.toml"), sessions_dir=tmp_path / "sessions")
    with Database(config.sessions_dir) as database:
        repo = Repository(database)
        history = store_history(repo)
        yield config, repo, history["client"]


def text(screen, selector: str) -> str:
    return str(screen.query_one(selector, Static).render())


async def test_shows_the_numbers_and_toggles_the_table(stored):
    config, repo, client = stored
    screen = HistoryScreen(client, repo, config)
    async with Host(screen).run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert "Ana Díaz · 3 sessions 2025-03-01 → 2025-03-15" in text(screen, "#history-title")
        assert "left out: 1 set in µV" in text(screen, "#history-title")
        note = text(screen, "#history-note")
        assert "Hip thrust: ready to progress (last 3 sets: 74, 77, 78 %MVC, target 70; asymmetry 7, 6, — %, limit 15)" in note
        assert "new MVC reference from 15 Mar" in note
        chart = screen.query_one(PlotextChart)
        shown = chart.render().plain
        assert "Hip thrust · glute max: %MVC per session" in shown and "── peak %MVC" in shown
        assert "01 Mar" in shown and "15 Mar" in shown

        await pilot.press("t")
        assert screen.query_one(ContentSwitcher).current == "history-table"
        table = screen.query_one(DataTable)
        assert table.row_count == 3
        assert table.get_row_at(0)[:8] == ["2025-03-01", "2", "3", "58", "35", "14", "L", "55"]
        assert table.get_row_at(2)[-1] == "new"
        await pilot.press("t")
        assert screen.query_one(ContentSwitcher).current == "history-chart"


async def test_picker_perceived_calibrations_progression(stored):
    config, repo, client = stored
    screen = HistoryScreen(client, repo, config)
    async with Host(screen).run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert [item.label for item in screen.items] == [
            "Hip thrust · glute max", "Perceived vs measured", "Calibrations", "Progression", "Fatigue", "A/B tests",
            "Sets"]
        await pilot.press("down")
        assert "ρ = 0.90 over 5 rated sets" in text(screen, "#history-note")
        assert "perceived 1–10 (right)" in screen.query_one(PlotextChart).render().plain
        await pilot.press("m")  # agreement over time needs 8 rated sets, there are 5
        assert "agreement over time needs 8 rated sets (has 5)" in screen.query_one(PlotextChart).render().plain
        await pilot.press("down", "t")
        table = screen.query_one(DataTable)
        assert table.get_row_at(1)[:4] == ["left glute max", "2025-03-15", "328 µV", "-18 %"]
        await pilot.press("t", "down")  # progression has no chart: its table shows either way
        assert screen.query_one(ContentSwitcher).current == "history-table"
        assert [table.get_row_at(i)[:2] for i in range(2)] == [["Back squat", "not yet"], ["Hip thrust", "ready"]]
        assert "ready to progress = in each of the last 3 sets" in text(screen, "#history-note")
        await pilot.press("down")  # no set of this history has median frequencies: fatigue says so
        assert "no set yet with enough reps (3)" in text(screen, "#history-note")
        await pilot.press("down")
        assert text(screen, "#history-note") == (
            f"{ACTIVATION_CAVEAT}\n"
            "2025-03-15: Hip thrust wins — higher peak %MVC of the target than Glute bridge\n"
            "⚠ fatigue: median frequency fell 20% across the test — fatigue could explain the result")
        # The numbers test_report checks by hand, with the A/B screen's letters.
        assert [str(c.label) for c in table.columns.values()] == [
            "test · variation", "peak %MVC [95 % CI]", "Hedges' g", "mean %MVC [95 % CI]", "reps"]
        assert [table.get_row_at(i) for i in range(table.row_count)] == [
            ["2025-03-15, glute max", "", "", "", ""],
            ["A Glute bridge", "62.0 [56.5, 67.5]", "", "37.2 [33.7, 40.7]", "4"],
            ["B Hip thrust", "78.0 [71.0, 85.0]", "", "46.8 [42.3, 51.3]", "4"],
            ["B − A", "+16.0 [+7.8, +24.2]", "3.28", "", ""]]
        await pilot.press("escape")
        assert not isinstance(pilot.app.screen, HistoryScreen)


async def test_sets_lists_every_set_with_its_load_and_time_of_day(stored):
    config, repo, client = stored
    screen = HistoryScreen(client, repo, config)
    async with Host(screen).run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await pilot.press("up")  # the last entry
        assert screen.query_one(ContentSwitcher).current == "history-table"  # a table only
        table = screen.query_one(DataTable)
        assert [str(c.label) for c in table.columns.values()][:6] == ["date", "time", "exercise", "load", "reps",
                                                                     "peak %MVC"]
        assert table.row_count == 7
        assert table.get_row_at(0)[:7] == ["2025-03-01", "12:00", "Hip thrust", "60.0 kg", "2", "55", "5"]
        assert table.get_row_at(5)[:6] == ["2025-03-15", "12:02", "Back squat", "60.0 kg", "1", "—"]


def test_fatigue_item_lists_each_sets_verdict_with_its_interval():
    from test_report import _with_fatigue_and_an_old_set

    from coach_tui.ui.screens.history import history_items

    (fatigue,) = [item for item in history_items(_with_fatigue_and_an_old_set()) if item.label == "Fatigue"]
    ((date, exercise, index, verdict, slope, over),) = fatigue.rows
    assert (date, exercise, index, verdict, over) == ("2025-03-15", "Hip thrust", "4", "fatigue", "6 reps")
    assert slope.startswith("-106.3 [")
    assert fatigue.note.startswith("fatigue = the median frequency")


async def test_chart_redraws_only_when_data_or_size_change(stored):
    config, repo, client = stored
    screen = HistoryScreen(client, repo, config)
    async with Host(screen).run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        chart = screen.query_one(PlotextChart)
        assert chart.renders == 1
        chart.show(chart.data)  # the same data again
        chart.refresh()
        await pilot.press("t", "t")  # to the table and back: same data, same size
        await pilot.pause()
        assert chart.renders == 1
        await pilot.press("m")  # asymmetry: new data
        await pilot.pause()
        assert chart.renders == 2
        await pilot.resize_terminal(100, 30)
        await pilot.pause()
        assert chart.renders == 3
        await pilot.resize_terminal(100, 30)
        chart.refresh()
        await pilot.pause()
        assert chart.renders == 3


async def test_report_key_writes_an_owner_only_file_and_shows_the_path(stored):
    config, repo, client = stored
    screen = HistoryScreen(client, repo, config)
    async with Host(screen).run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await pilot.press("r")
        (written,) = (config.sessions_dir / "reports").iterdir()
        assert written.name.startswith("ana-diaz-") and written.suffix == ".html"
        assert stat.S_IMODE(written.stat().st_mode) == 0o600
        assert stat.S_IMODE(written.parent.stat().st_mode) == 0o700
        assert f"report written: {written}" in text(screen, "#history-title")
        assert "Hip thrust · glute max" in written.read_text(encoding="utf-8")


async def test_a_client_without_data(stored):
    config, repo, _ = stored
    bo = repo.add_client(Client("c-bo", "Bo", created=repo.clients()[0].created))
    screen = HistoryScreen(bo, repo, config)
    async with Host(screen).run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert screen.query_one(PlotextChart).render().plain == "no sessions recorded yet for Bo"
        assert screen.query_one(PlotextChart).renders == 0
        await pilot.press("down", "down")
        assert text(screen, "#history-note") == "no MVC calibrations yet for Bo"
        await pilot.press("down", "down")
        assert text(screen, "#history-note").startswith("no set yet with enough reps (3)")
        await pilot.press("down")
        assert text(screen, "#history-note") == "no A/B tests yet for Bo"


# --- snapshots (the real app; fixed records and dates, TZ pinned to UTC) ----------------------------


@pytest.fixture
def history_app(tmp_path):
    config = _config(tmp_path)
    with Database(config.sessions_dir) as database:
        repo = Repository(database)
        store_history(repo)
        yield make_app(config, repo)


def _open_history(last_item: bool):
    async def run(pilot):
        app = pilot.app
        await until(pilot, lambda: app.screen.__class__.__name__ == "ClientsScreen")
        app.open_history(app.repo.find_client("Ana Díaz"))
        await until(pilot, lambda: app.screen.__class__.__name__ == "HistoryScreen" and app.screen.query(OptionList))
        if last_item:
            picker = app.screen.query_one(OptionList)
            picker.highlighted = picker.option_count - 1
        await pilot.pause()

    return run


@pytest.mark.parametrize("size", [(80, 24), (120, 40)])
def test_snapshot_history_chart(snap_compare, history_app, size):
    assert snap_compare(history_app, terminal_size=size, run_before=_open_history(last_item=False))


@pytest.mark.parametrize("size", [(80, 24), (120, 40)])
def test_snapshot_history_ab_tests(snap_compare, history_app, size):
    assert snap_compare(history_app, terminal_size=size, run_before=_open_history(last_item=True))


def test_every_binding_has_an_id():
    assert all(isinstance(b, Binding) and b.id and b.id.startswith("history.") for b in HistoryScreen.BINDINGS)


# --- the chart widget's pieces ---------------------------------------------------------------------


def test_decimate_keeps_each_buckets_extremes():
    x = [float(i) for i in range(5000)]
    y = [math.sin(i / 40) * 50 + (90 if i == 1234 else 0) for i in range(5000)]
    dx, dy = decimate(x, y, 60)
    assert len(dx) <= 120 and dx == sorted(dx)
    assert max(dy) == max(y) and min(dy) == min(y) and dx[dy.index(max(dy))] == 1234.0
    assert decimate([0.0, 1.0, 2.0], [1.0, 5.0, 2.0], 60) == ([0.0, 1.0, 2.0], [1.0, 5.0, 2.0])


@pytest.mark.parametrize(("right", "columns"), [(False, 50), (True, 40)])
def test_chart_text_is_deterministic_and_decimated_to_the_plot_area(monkeypatch, right, columns):
    x = tuple(float(i) for i in range(5000))
    series = (ChartSeries("a", x, tuple(math.sin(v / 50) for v in x)), ChartSeries("b", x, x, right_axis=right))
    data = ChartData("t", series, tuple((v, f"{int(v)}") for v in x[::100]))
    drawn = []

    def spy(x, y, buckets):
        drawn.append(decimate(x, y, buckets))
        return drawn[-1]

    first = chart_ansi(data, 60, 16)
    monkeypatch.setattr(plotext_chart, "decimate", spy)
    again = chart_ansi(data, 60, 16)
    assert again == first and len(first.splitlines()) == 16
    # 60 columns less the y axis (10 each, two with a right axis): at most two points (the lowest and
    # highest) per plot column, and the extremes kept.
    assert plot_columns(data, 60) == columns
    assert len(drawn) == 2 and all(columns < len(dx) <= 2 * columns for dx, _ in drawn)
    (_, sine), (_, line) = drawn
    assert max(sine) == max(series[0].y) and min(sine) == min(series[0].y) and (line[0], line[-1]) == (0.0, 4999.0)


def test_plotext_is_imported_only_when_a_chart_is_drawn():
    code = "import sys, coach_tui.ui.screens.history; print('plotext' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert result.stdout.strip() == "False"
