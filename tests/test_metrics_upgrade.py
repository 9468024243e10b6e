"""Sets stored with an older definition of the per-rep metrics are re-analysed from their raw
recordings on first use; a set without its recording keeps its figures, marked and kept apart."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import timedelta

import pytest

from coach_tui.config import Config
from coach_tui.domain.abtest import ABTest
from coach_tui.domain.channels import ChannelAssignment
from coach_tui.domain.client import Client
from coach_tui.domain.exercises import EXERCISES
from coach_tui.domain.ids import now_utc
from coach_tui.domain.progress import client_progress
from coach_tui.domain.session import METRICS_VERSION, Session, SetRecord
from coach_tui.dsp.analysis_settings import AnalysisSettings
from coach_tui.dsp.set_analysis import SetLayout
from coach_tui.dsp.set_plan import SetPlan
from coach_tui.sources.simulated import SimulatedKit, sensors_for_exercise
from coach_tui.store.database import Database
from coach_tui.store.reanalysis import reanalyze
from coach_tui.store.recordings import paths, read_recording
from coach_tui.store.repository import SETS, Repository
from coach_tui.workflows.set_recording import begin_set
from coach_tui.workflows.store_access import open_store

EXERCISE = EXERCISES["hip_thrust"]
OLD_PEAK_FACTOR = 1.2  # the envelope's highest sample read about this much above the current peak


async def _stream(kit, recorder) -> None:
    async for block in kit:
        recorder.add(block)
    recorder.close()


CURRENT_META = SetPlan.to_meta


def _old_meta(plan: SetPlan) -> dict:
    """The recipe as coach wrote it before: no peak table, the fatigue table's two keys, and the
    filters' retired 1000 Hz threshold."""
    meta = CURRENT_META(plan)
    settings = dict(meta["settings"])
    del settings["peak"]
    settings["fatigue"] = {"segment_ms": 250.0, "overlap": 0.5}
    filters = {k: v for k, v in settings["filters"].items() if k != "nyquist_margin"}
    settings["filters"] = {**filters, "full_band_min_fs_hz": 1000.0}
    return {**meta, "settings": settings}


def _old_store(sessions_dir, monkeypatch):
    """A client with two sessions of one hip-thrust set each, stored the way coach did before the
    metrics were versioned: the old recipe in the recording, no ``metrics_version``, peaks on the
    old (higher) scale. The second set's raw recording is gone. One A/B test holds the first set's
    reps."""
    monkeypatch.setattr(SetPlan, "to_meta", _old_meta)
    sensors = sensors_for_exercise(EXERCISE.target, EXERCISE.synergists, EXERCISE.antagonists, 4)
    client = Client("c-1", "Ana", "R", created=now_utc() - timedelta(days=30))
    layout = SetLayout({s.sensor_id: [ChannelAssignment(s.muscle, s.side)] for s in sensors},
                       EXERCISE.target, EXERCISE.synergists)
    with Database(sessions_dir) as database:
        repo = Repository(database)
        repo.add_client(client)
        records = []
        for day, seed in ((20, 3), (10, 4)):
            kit = SimulatedKit(sensors, fs_hz=1000, seed=seed, duration_s=14, scenario="reps")
            plan = SetPlan(kit.fs_hz, layout, AnalysisSettings(), {f"{s.muscle}:{s.side}": kit.mvc_uv[s.sensor_id]
                                                                    for s in kit.sensors}, {})
            session = Session(f"s-{day}", client.id, now_utc() - timedelta(days=day), folder=f"s-{day}")
            repo.save_session(session)
            record, recorder = begin_set(repo, sessions_dir, session, 1, EXERCISE.key, plan, (), "test")
            asyncio.run(_stream(kit, recorder))
            reps = reanalyze(sessions_dir / session.folder / record.recording).reps
            old = tuple(replace(r, peak=r.peak * OLD_PEAK_FACTOR) for r in reps)
            doc = replace(record, reps=old, duration_s=14.0).to_dict()
            del doc["metrics_version"]
            database.upsert(SETS, doc)
            repo.save_session(session.finished(session.started + timedelta(seconds=14)))
            records.append((session, record))
        (session, record) = records[1]
        for path in paths(sessions_dir / session.folder / record.recording):
            path.unlink()
        first = repo.sets(records[0][0].id)[0]
        test = ABTest("ab-1", client.id, "glute_max", ("hip_thrust", "glute_bridge"), (0, 1, 1, 0), now_utc())
        repo.save_abtest(test.with_set(0, first, [100.0] * len(first.reps)))
    return [(s.id, r.id) for s, r in records]


def test_old_sets_are_reanalysed_once_and_a_set_without_raw_keeps_its_marked_figures(tmp_path, capsys, monkeypatch):
    sessions_dir = tmp_path / "data"
    with monkeypatch.context() as old_code:
        (first_session, first_set), (second_session, second_set) = _old_store(sessions_dir, old_code)
    recipe = read_recording(sessions_dir / first_session / "set-01").meta["plan"]["settings"]
    assert "full_band_min_fs_hz" in recipe["filters"] and "peak" not in recipe  # written the old way
    before = Repository(Database(sessions_dir, read_only=True))
    assert [s.metrics_version for s in before.sets(first_session) + before.sets(second_session)] == [1, 1]
    old_second = before.sets(second_session)[0]

    config = Config(path=tmp_path / "config.toml", sessions_dir=sessions_dir)
    with open_store(config, "test", write=True) as repo:
        upgraded = repo.sets(first_session)[0]
        kept = repo.sets(second_session)[0]
        test = repo.abtest("ab-1")
    notes = capsys.readouterr().err
    assert "re-analysed 1 stored set" in notes
    assert "1 set keep their figures from the previous peak definition" in notes and "raw recording missing" in notes

    again = reanalyze(sessions_dir / f"{first_session}" / upgraded.recording)
    assert upgraded.metrics_version == METRICS_VERSION and not upgraded.old_metrics
    assert list(upgraded.reps) == again.reps  # the current definitions, from the raw samples
    assert [r.peak for r in test.reps] == [r.peak for r in again.reps]  # the A/B test follows its set
    assert kept.metrics_version == 1 and kept.old_metrics
    assert kept.reps == old_second.reps  # figures kept as they were

    # History keeps the old set apart and says so; nothing is re-analysed twice.
    with open_store(config, "test", write=True) as repo:
        progress = client_progress(repo.client("Ana"), repo.sessions(), [s for x in repo.sessions() for s in repo.sets(x.id)])
    assert "re-analysed" not in capsys.readouterr().err
    assert progress.sets_old_metrics == 1
    assert "previous peak definition" in progress.left_out
    (series,) = progress.series
    assert [p.session_id for p in series.points] == [first_session]


@pytest.mark.parametrize(("version", "old"), [(1, True), (METRICS_VERSION, False), (METRICS_VERSION + 1, False)])
def test_a_set_is_old_only_below_the_current_version(version, old):
    record = SetRecord("set-1", "s-1", 0, "hip_thrust", now_utc(), metrics_version=version)
    assert record.old_metrics is old
    assert SetRecord("set-2", "s-1", 1, "hip_thrust", now_utc()).metrics_version == METRICS_VERSION
