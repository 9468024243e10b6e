"""Reconnect policy: Backoff (capped exponential, full jitter) and SilentLinkWatchdog."""

from __future__ import annotations

import math
import random
import statistics

import pytest

from coach_tui.sources.ble.backoff import Backoff
from coach_tui.sources.ble.watchdog import SilentLinkWatchdog


def ceilings_and_delays(backoff: Backoff, n: int) -> list[tuple[float, float]]:
    pairs = []
    for _ in range(n):
        ceiling = backoff.ceiling_s
        pairs.append((ceiling, backoff.next_delay()))
    return pairs


def test_ceiling_grows_by_the_multiplier_up_to_the_cap():
    backoff = Backoff(base_s=0.5, cap_s=30.0, multiplier=2.0, rng=random.Random(1))
    ceilings = [c for c, _ in ceilings_and_delays(backoff, 10)]
    assert ceilings == [0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 30.0, 30.0, 30.0, 30.0]
    assert backoff.attempt == 10


def test_every_delay_is_within_zero_and_its_ceiling():
    backoff = Backoff(base_s=0.25, cap_s=10.0, multiplier=3.0, rng=random.Random(2))
    for ceiling, delay in ceilings_and_delays(backoff, 1000):
        assert 0.0 <= delay <= ceiling <= 10.0


def test_delays_are_spread_uniformly_under_the_ceiling():
    """Full jitter: at the cap, delays are uniform on [0, cap] (mean cap/2, deciles evenly filled)."""
    backoff = Backoff(base_s=1.0, cap_s=8.0, rng=random.Random(3))
    ceilings_and_delays(backoff, 4)
    assert backoff.ceiling_s == 8.0
    delays = [backoff.next_delay() for _ in range(20000)]
    assert statistics.fmean(delays) == pytest.approx(4.0, rel=0.02)
    deciles = [
        sum(1 for d in delays if k * 0.8 <= d < (k + 1) * 0.8) for k in range(10)
    ]
    assert all(abs(n - 2000) < 200 for n in deciles)


def test_huge_attempt_counts_stay_at_the_cap():
    backoff = Backoff(base_s=0.5, cap_s=30.0, multiplier=10.0, rng=random.Random(4))
    delays = [backoff.next_delay() for _ in range(5000)]
    assert (
        backoff.ceiling_s == 30.0
        and max(delays) <= 30.0
        and all(math.isfinite(d) for d in delays)
    )


def test_multiplier_one_keeps_the_base():
    backoff = Backoff(base_s=2.0, cap_s=30.0, multiplier=1.0, rng=random.Random(5))
    assert [c for c, _ in ceilings_and_delays(backoff, 5)] == [2.0] * 5


def test_reset_starts_over():
    backoff = Backoff(rng=random.Random(6))
    ceilings_and_delays(backoff, 7)
    backoff.reset()
    assert backoff.attempt == 0 and backoff.ceiling_s == backoff.base_s
    assert backoff.next_delay() <= backoff.base_s


def test_deterministic_by_seed():
    def delays(seed: int) -> list[float]:
        backoff = Backoff(rng=random.Random(seed))
        return [backoff.next_delay() for _ in range(8)]

    assert delays(42) == delays(42)
    assert delays(42) != delays(43)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"base_s": 0.0}, "base_s"),
        ({"base_s": math.inf}, "base_s"),
        ({"base_s": 5.0, "cap_s": 1.0}, "cap_s"),
        ({"cap_s": math.nan}, "cap_s"),
        ({"multiplier": 0.5}, "multiplier"),
    ],
)
def test_backoff_refuses_bad_settings(kwargs, message):
    with pytest.raises(ValueError, match=message):
        Backoff(**kwargs)


# --- silent link ---


@pytest.mark.parametrize(
    "interval_s, limit_s",
    [(0.01, 1.0), (0.05, 1.0), (0.1, 2.0), (0.5, 10.0)],
)
def test_silence_limit_is_twenty_intervals_but_at_least_a_second(interval_s, limit_s):
    assert SilentLinkWatchdog(interval_s).silence_limit_s == pytest.approx(limit_s)


def test_silent_once_the_limit_has_passed_without_data():
    watchdog = SilentLinkWatchdog(expected_interval_s=0.1)
    assert watchdog.deadline(100.0) == pytest.approx(102.0)
    assert not watchdog.is_silent(last_packet_at=100.0, now=101.99)
    assert watchdog.is_silent(last_packet_at=100.0, now=102.0)
    assert not watchdog.is_silent(last_packet_at=102.5, now=103.0)


def test_watchdog_settings_are_configurable_and_checked():
    assert SilentLinkWatchdog(
        0.01, intervals=50, min_silence_s=0.2
    ).silence_limit_s == pytest.approx(0.5)
    for kwargs in (
        {"expected_interval_s": 0.0},
        {"expected_interval_s": 0.1, "intervals": -1.0},
    ):
        with pytest.raises(ValueError, match="positive finite"):
            SilentLinkWatchdog(**kwargs)
