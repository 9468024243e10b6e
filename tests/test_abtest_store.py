"""A/B tests in the client database: saved with the client, listed for history, found by id."""

from datetime import UTC, datetime, timedelta

import pytest

from coach_tui.domain.abtest import ABRep, ABTest, counterbalanced_order
from coach_tui.store.database import Database
from coach_tui.store.repository import Repository, UnknownRecord

T0 = datetime(2026, 11, 21, 9, 30, tzinfo=UTC)


def _test(test_id: str, client_id: str, created: datetime) -> ABTest:
    reps = tuple(
        ABRep("hip_thrust" if position in (0, 3) else "glute_bridge", position, f"set-{position}", index,
              70.0 + index, 40.0, 0.62, 8.5 if index else None, 95.0 - position)
        for position in range(4)
        for index in range(3)
    )
    return ABTest(test_id, client_id, "glute_max", ("hip_thrust", "glute_bridge"), counterbalanced_order(2),
                  created, reps, "no clear difference — collect more reps", None, ("drift: glute_bridge changed",))


def test_abtests_round_trip_per_client_oldest_first(tmp_path):
    repo = Repository(Database(tmp_path))
    later = _test("ab-2", "c-ana", T0 + timedelta(days=7))
    earlier = _test("ab-1", "c-ana", T0)
    repo.save_abtest(later)
    repo.save_abtest(earlier)
    repo.save_abtest(_test("ab-3", "c-ben", T0))
    again = Repository(Database(tmp_path, read_only=True))
    assert again.abtests("c-ana") == [earlier, later]
    assert again.abtest("ab-3").client_id == "c-ben"
    assert again.abtests("c-nobody") == []


def test_saving_again_replaces_the_test(tmp_path):
    repo = Repository(Database(tmp_path))
    test = _test("ab-1", "c-ana", T0)
    repo.save_abtest(test)
    judged = test.with_verdict("hip_thrust wins", "hip_thrust")
    repo.save_abtest(judged)
    assert repo.abtests("c-ana") == [judged]


def test_unknown_abtest_says_where_to_look(tmp_path):
    with pytest.raises(UnknownRecord, match="no A/B test 'ab-9'.*history"):
        Repository(Database(tmp_path)).abtest("ab-9")
