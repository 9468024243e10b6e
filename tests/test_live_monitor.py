"""The live monitor between sets, sample by sample on a stepped clock: no asymmetry on noise."""

from __future__ import annotations

import pytest
from test_lost_sensor import _monitor, repo  # noqa: F401 (the fixture)

from coach_tui.sources.clock import SteppedClock


@pytest.mark.parametrize("calibrated", [True, False])
async def test_no_asymmetry_on_noise(repo, tmp_path, calibrated):  # noqa: F811
    clock = SteppedClock()
    kit, monitor = _monitor(repo, tmp_path, clock, calibrated=calibrated, scenario="rest")
    monitor.start()
    for _ in range(30):
        await clock.advance(1.0)
        view = monitor.view()
        assert all(p.asymmetry_pct is None and not p.alert for p in view.pairs), view.pairs
        assert not any("asymmetry" in a for a in view.alerts)
    await monitor.stop()


@pytest.mark.parametrize("calibrated", [True, False])
async def test_a_real_difference_between_sets_is_still_shown(repo, tmp_path, calibrated):  # noqa: F811
    clock = SteppedClock()
    kit, monitor = _monitor(repo, tmp_path, clock, calibrated=calibrated, scenario="rest")
    monitor.start()
    await clock.advance(5.0)  # rest levels first
    kit.steer(scenario="reps", left_deficit_pct=40.0)
    shown = []
    for _ in range(20):
        await clock.advance(1.0)
        shown += [(p.muscle, p.asymmetry_pct, p.weaker_side) for p in monitor.view().pairs if p.asymmetry_pct is not None]
    assert {m for m, _, _ in shown} == {"glute_max", "hamstrings"}
    assert all(side == "L" for _, _, side in shown)
    await monitor.stop()
