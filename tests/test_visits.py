"""A session is a visit: every set of a client goes into one session until an idle gap passes; and a
client's placement offers every sensor the kit or the config has now."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest
from conftest import ROOT

from coach_tui.config import load_config
from coach_tui.domain.client import Client
from coach_tui.domain.ids import new_id, now_utc
from coach_tui.domain.placement import Placement
from coach_tui.domain.session import SetRecord
from coach_tui.store.database import Database
from coach_tui.store.repository import Repository
from coach_tui.workflows.sensor_setup import SensorSetup
from coach_tui.workflows.visits import Visits


@pytest.fixture
def repo(tmp_path):
    with Database(tmp_path / "sessions") as database:
        repo = Repository(database)
        repo.add_client(Client("c-ana", "Ana", created=now_utc()))
        repo.add_client(Client("c-bo", "Bo", created=now_utc()))
        yield repo


class Clock:
    def __init__(self):
        self.now = now_utc()

    def __call__(self):
        return self.now


def _set(repo, visits, client_id, clock, seconds=30.0):
    session = visits.session(client_id)
    index = visits.next_set_number(session)
    repo.save_set(SetRecord(new_id("set"), session.id, index, "hip_thrust", clock(), duration_s=seconds))
    clock.now += timedelta(seconds=seconds)
    return session, index


def test_sets_of_one_visit_share_a_session_numbered_in_order_whatever_else_happens(repo):
    clock = Clock()
    visits = Visits(repo, idle_gap_minutes=60, now=clock)
    first, n1 = _set(repo, visits, "c-ana", clock)
    clock.now += timedelta(minutes=5)
    _set(repo, visits, "c-bo", clock)  # another client between Ana's sets
    visits.close()  # the console is left and opened again …
    clock.now += timedelta(minutes=20)
    again, n2 = _set(repo, visits, "c-ana", clock)
    assert again.id == first.id and (n1, n2) == (1, 2)
    visits.close()
    stored = repo.session(first.id)
    assert stored.status == "complete" and stored.ended == clock.now
    assert [s.client_id for s in repo.sessions()] == ["c-ana", "c-bo"]


def test_a_new_session_starts_after_the_idle_gap(repo):
    clock = Clock()
    visits = Visits(repo, idle_gap_minutes=60, now=clock)
    first, _ = _set(repo, visits, "c-ana", clock)
    clock.now += timedelta(minutes=61)  # the console stayed open: the open session is closed first
    second, index = _set(repo, visits, "c-ana", clock)
    assert second.id != first.id and index == 1
    assert repo.session(first.id).status == "complete"
    visits.close()
    clock.now += timedelta(minutes=90)
    third, _ = _set(repo, visits, "c-ana", clock)  # and after a closed one
    assert third.id not in (first.id, second.id)


def test_a_visit_without_sets_leaves_no_session(repo):
    visits = Visits(repo, idle_gap_minutes=60)
    visits.close()
    assert repo.sessions() == []


def test_placement_offers_every_sensor_the_kit_has_now(repo, tmp_path):
    config = load_config(ROOT / "config.toml")
    config = replace(config, sessions_dir=tmp_path / "sessions")
    four = SensorSetup(config, repo, simulated=True)
    placed = four.placements_for(repo.client("Ana"))
    assert len(placed) == 4
    moved = [replace(placed[0], muscle="glute_med")] + placed[1:]  # the trainer moved one sensor
    repo.save_placements("c-ana", moved)
    eight = SensorSetup(replace(config, simulation=replace(config.simulation, sensors=8)), repo, simulated=True)
    now = eight.placements_for(repo.client("Ana"))
    assert len(now) == 8 and now[:4] == moved  # the new sensors are added, what was placed is kept
    assert len({p.assignment for p in now}) == 8  # one sensor per muscle and side
    assert {p.sensor_id for p in now} == {p.sensor_id for p in eight.default_placements()}
    two = SensorSetup(replace(config, simulation=replace(config.simulation, sensors=2)), repo, simulated=True)
    assert two.placements_for(repo.client("Ana")) == moved[:2]


def test_a_new_sensor_whose_default_muscle_is_taken_gets_one_left_free(repo, tmp_path):
    config = replace(load_config(ROOT / "config.toml"), sessions_dir=tmp_path / "sessions")
    kit = SensorSetup(config, repo, simulated=True)
    defaults = kit.default_placements()
    # the only stored placement moved the first sensor onto the second one's muscle side
    repo.save_placements("c-ana", [Placement(defaults[1].muscle, defaults[1].side, defaults[0].sensor_id)])
    now = kit.placements_for(repo.client("Ana"))
    assert len({p.assignment for p in now}) == 4
    assert now[1].assignment == defaults[0].assignment  # it took the one the moved sensor left
