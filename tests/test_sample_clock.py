"""SampleClock against a simulated BLE link whose true sample times the test knows.

The link: a device whose crystal runs off by some ppm queues a packet when its last sample is taken;
the host's connection events (7.5–50 ms apart) each carry up to CAPACITY queued packets, received
after a minimal delay FLOOR_S plus exponential jitter (1 % of events heavy-tailed); stalls (200 ms
every ~10 s, plus chosen long ones) deliver nothing and end in bursts; a device queue that is full
drops new packets. The clock's target is each sample's true time plus FLOOR_S.
"""

from __future__ import annotations

import itertools
import math
import random
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

import pytest

from coach_tui.sources.ble.sample_clock import SampleClock

FLOOR_S = 0.004  # the link's minimal delay
T0 = 5000.0  # host clock at the device's start
CAPACITY = 10  # packets per connection event
PACKET_S = 0.010  # 10 samples at 1 kHz


@dataclass(frozen=True, slots=True)
class Packet:
    first_index: int
    n_samples: int
    arrival: float
    true_first_time: float  # when its first sample was taken (host clock)

    @property
    def t(self) -> float:
        """Seconds since the device started."""
        return self.arrival - T0


def simulate_link(
    duration_s: float,
    *,
    rate_hz: float = 1000.0,
    ppm: Callable[[float], float] = lambda t: 300.0,
    samples_per_packet: int = 10,
    seed: int = 0,
    stall_every_s: float = 10.0,
    long_stalls: tuple[tuple[float, float], ...] = (),
    queue_packets: int = 32,
    interval_ms: float | None = None,
) -> list[Packet]:
    """Packets as the host receives them; ``interval_ms`` fixes the connection interval."""
    rng = random.Random(seed)
    end = T0 + duration_s

    def device():
        t_last, first = T0 + rng.uniform(0.0, 0.01), 0
        while True:
            f = rate_hz * (1 + ppm(t_last - T0) * 1e-6)
            yield first, t_last - (samples_per_packet - 1) / f, t_last + FLOOR_S
            t_last += samples_per_packet / f
            first += samples_per_packet

    def next_interval() -> float:
        return interval_ms / 1000 if interval_ms else rng.uniform(0.0075, 0.050)

    stalls = [(T0 + start, T0 + start + length) for start, length in long_stalls]
    t = T0
    while (t := t + rng.expovariate(1 / stall_every_s)) < end:
        stalls.append((t, t + 0.2))
    stalls.sort()
    queue: deque = deque()
    packets = device()
    pending = next(packets)
    received, last_arrival, s = [], -math.inf, 0
    event = T0 + next_interval() * rng.random()
    while event < end:
        while pending[2] <= event:
            if len(queue) < queue_packets:
                queue.append(pending)
            pending = next(packets)
        while s < len(stalls) and stalls[s][1] < event:
            s += 1
        stalled = s < len(stalls) and stalls[s][0] <= event
        if not stalled and rng.random() > 0.05:  # 5 % of events missed
            jitter = (
                rng.expovariate(1000.0)
                if rng.random() > 0.01
                else rng.expovariate(50.0)
            )
            for k in range(min(CAPACITY, len(queue))):
                first, true_first_time, _ = queue.popleft()
                last_arrival = max(last_arrival, event + jitter + k * 5e-5)
                received.append(
                    Packet(first, samples_per_packet, last_arrival, true_first_time)
                )
        event += next_interval()
    return received


def error_s(clock: SampleClock, index: int, packet: Packet) -> float:
    return clock.host_time(index) - (packet.true_first_time + FLOOR_S)


def true_rate(ppm: float, rate_hz: float = 1000.0) -> float:
    return rate_hz * (1 + ppm * 1e-6)


@pytest.mark.parametrize("seed", [0, 1])
def test_times_within_2_ms_over_5_minutes_and_rate_within_50_ppm(seed):
    packets = simulate_link(300, seed=seed, long_stalls=((150.0, 2.0),))
    lost = sum(
        b.first_index - a.first_index - 10 for a, b in itertools.pairwise(packets)
    )
    assert lost > 1000, "the 2 s stall overflows the device's queue"
    clock = SampleClock(1000.0)
    live_errors, rate_errors = [], []
    for p in packets:
        clock.observe(p.first_index, p.n_samples, p.arrival)
        assert clock.host_time(p.first_index + p.n_samples - 1) <= p.arrival + 1e-9
        if p.t > 10:
            live_errors.append(abs(error_s(clock, p.first_index, p)))
        if p.t > 60:
            rate_errors.append(abs(clock.measured_rate_hz / true_rate(300) - 1))
    assert max(live_errors) < 0.002
    assert max(rate_errors) < 50e-6
    after_the_fact = [
        abs(error_s(clock, p.first_index, p)) for p in packets if p.t > 180
    ]
    assert max(after_the_fact) < 0.001


@pytest.mark.parametrize("ppm", [-500.0, 500.0])
def test_crystal_500_ppm_off_either_way(ppm):
    packets = simulate_link(120, ppm=lambda t: ppm, seed=3)
    clock = SampleClock(1000.0)
    for p in packets:
        clock.observe(p.first_index, p.n_samples, p.arrival)
        if p.t > 10:
            assert abs(error_s(clock, p.first_index, p)) < 0.002
        if p.t > 60:
            assert abs(clock.measured_rate_hz / true_rate(ppm) - 1) < 50e-6


def test_follows_a_crystal_warming_up():
    """+250 → +350 ppm over 5 minutes; the window keeps up."""
    drift = lambda t: 250.0 + 100.0 * t / 300
    packets = simulate_link(300, ppm=drift, seed=4)
    clock = SampleClock(1000.0)
    for p in packets:
        clock.observe(p.first_index, p.n_samples, p.arrival)
        if p.t > 10:
            assert abs(error_s(clock, p.first_index, p)) < 0.002
        if p.t > 60:
            assert abs(clock.measured_rate_hz / true_rate(drift(p.t)) - 1) < 50e-6


def test_phase_locked_link_errs_by_at_most_a_packet_period_until_the_phase_has_walked():
    """30 ms connection interval = 3 packets: the least delay wanders by up to 10 ms for 33 s."""
    packets = simulate_link(180, seed=5, interval_ms=30.0)
    clock = SampleClock(1000.0)
    for p in packets:
        clock.observe(p.first_index, p.n_samples, p.arrival)
        if p.t > 10:
            assert abs(error_s(clock, p.first_index, p)) < PACKET_S + 0.001
        if p.t > 70:
            assert abs(error_s(clock, p.first_index, p)) < 0.002
            assert abs(clock.measured_rate_hz / true_rate(300) - 1) < 50e-6


def test_measured_rate_needs_a_second_of_counter():
    clock = SampleClock(1000.0)
    packets = simulate_link(10, seed=6, stall_every_s=1e9)
    for p in packets:
        clock.observe(p.first_index, p.n_samples, p.arrival)
        if p.first_index < 1000:
            assert clock.measured_rate_hz is None
    assert clock.measured_rate_hz == pytest.approx(true_rate(300), rel=1e-3)


def test_new_epoch_restarts_the_counter_and_keeps_the_rate():
    first, second = simulate_link(120, seed=7), simulate_link(60, seed=8)
    clock = SampleClock(1000.0)
    for p in first:
        clock.observe(p.first_index, p.n_samples, p.arrival)
    rate = clock.measured_rate_hz
    with pytest.raises(ValueError, match="went back"):
        clock.observe(0, 10, first[-1].arrival + 1)
    clock.new_epoch()
    with pytest.raises(RuntimeError):
        clock.host_time(0)
    assert clock.measured_rate_hz == rate
    shift = first[-1].arrival - T0 + 5.0  # reconnected 5 s later, counter from 0
    for p in second:
        clock.observe(p.first_index, p.n_samples, p.arrival + shift)
        if p.t > 2:
            expected = p.true_first_time + shift + FLOOR_S
            assert clock.host_time(p.first_index) == pytest.approx(expected, abs=0.002)
    assert abs(clock.measured_rate_hz / true_rate(300) - 1) < 50e-6


def test_reset_forgets_the_rate():
    clock = SampleClock(1000.0)
    for p in simulate_link(5, seed=9):
        clock.observe(p.first_index, p.n_samples, p.arrival)
    assert clock.measured_rate_hz is not None
    clock.reset()
    assert clock.measured_rate_hz is None
    with pytest.raises(RuntimeError):
        clock.expected_index(T0)


def test_expected_index_inverts_host_time():
    clock = SampleClock(1000.0)
    for p in simulate_link(20, seed=10):
        clock.observe(p.first_index, p.n_samples, p.arrival)
    assert clock.expected_index(clock.host_time(12345)) == pytest.approx(
        12345, abs=1e-6
    )


# --- devices without a sample counter (Myo: 2 samples per notification at 200 Hz) ---


def observe_uncounted(
    clock: SampleClock, packets: list[Packet]
) -> list[tuple[Packet, int]]:
    return [(p, clock.observe_uncounted(p.n_samples, p.arrival)) for p in packets]


def jumps(numbered: list[tuple[Packet, int]]) -> list[tuple[float, int]]:
    """(when, how many samples) for each index jump the clock made."""
    return [
        (p.t, i - (j + q.n_samples))
        for (q, j), (p, i) in itertools.pairwise(numbered)
        if i != j + q.n_samples
    ]


@pytest.mark.parametrize("ppm", [300.0, -2000.0])
def test_without_a_counter_the_rate_comes_from_arrivals(ppm):
    packets = simulate_link(
        180, rate_hz=200.0, samples_per_packet=2, ppm=lambda t: ppm, seed=11
    )
    assert all(
        b.first_index == a.first_index + 2 for a, b in itertools.pairwise(packets)
    ), "no loss"
    clock = SampleClock(200.0)
    for p in packets:
        assert clock.observe_uncounted(p.n_samples, p.arrival) == p.first_index
        if p.t > 60:
            assert abs(clock.measured_rate_hz / true_rate(ppm, 200.0) - 1) < 0.005
            assert abs(error_s(clock, p.first_index, p)) < 0.002


def test_without_a_counter_a_stall_that_lost_samples_is_a_gap_at_once():
    """A 2 s stall: the device keeps 32 packets (64 samples) and drops the rest."""
    packets = simulate_link(
        180,
        rate_hz=200.0,
        samples_per_packet=2,
        seed=12,
        stall_every_s=1e9,
        long_stalls=((100.0, 2.0),),
    )
    true_gaps = [
        (b.t, b.first_index - a.first_index - 2) for a, b in itertools.pairwise(packets)
    ]
    true_gaps = [g for g in true_gaps if g[1]]
    assert len(true_gaps) == 1 and true_gaps[0][1] > 300
    clock = SampleClock(200.0)
    numbered = observe_uncounted(clock, packets)
    [(when, lost)] = jumps(numbered)
    # at the first packet after the stall, before the buffered ones; high by what was buffered
    assert 101.9 < when < true_gaps[0][0]
    assert true_gaps[0][1] <= lost <= true_gaps[0][1] + 64 + 10
    for p, index in numbered:
        if p.t > 105:
            assert abs(error_s(clock, index, p)) < 0.002
    assert abs(clock.measured_rate_hz / true_rate(300, 200.0) - 1) < 50e-6


def test_without_a_counter_a_small_loss_is_found_after_the_fact():
    packets = simulate_link(
        120, rate_hz=200.0, samples_per_packet=2, seed=13, stall_every_s=1e9
    )
    kept = [p for p in packets if not 60.0 <= p.t < 60.1]
    true_lost = 2 * (len(packets) - len(kept))
    assert 16 <= true_lost <= 24
    clock = SampleClock(200.0)
    numbered = observe_uncounted(clock, kept)
    [(when, lost)] = jumps(numbered)
    assert 60.1 < when < 65.0  # once the least delay stayed up for 3 buckets of 1 s
    assert abs(lost - true_lost) <= 2
    for p, index in numbered:
        if p.t > when:
            assert abs(error_s(clock, index, p)) < 0.002


# --- bad input ---


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"nominal_rate_hz": 0.0}, "nominal_rate_hz"),
        ({"nominal_rate_hz": math.nan}, "nominal_rate_hz"),
        ({"nominal_rate_hz": 100.0, "window_s": -1.0}, "window_s"),
        (
            {"nominal_rate_hz": 100.0, "bucket_s": 2.0, "min_span_s": 1.0},
            "bucket_s <= min_span_s",
        ),
        ({"nominal_rate_hz": 100.0, "min_span_s": 40.0}, "window_s / 4"),
        ({"nominal_rate_hz": 100.0, "stall_gap_s": 0.0}, "stall_gap_s"),
    ],
)
def test_refuses_bad_settings(kwargs, message):
    with pytest.raises(ValueError, match=message):
        SampleClock(**kwargs)


def test_refuses_bad_packets():
    clock = SampleClock(100.0)
    with pytest.raises(RuntimeError, match="no packet"):
        clock.host_time(0)
    with pytest.raises(ValueError, match="at least one sample"):
        clock.observe(0, 0, 1.0)
    with pytest.raises(ValueError, match="finite"):
        clock.observe(0, 1, math.inf)
    with pytest.raises(ValueError, match="at least one sample"):
        clock.observe_uncounted(0, 1.0)
    with pytest.raises(TypeError):
        clock.observe(1.5, 1, 1.0)
    clock.observe(10, 5, 1.0)
    with pytest.raises(
        ValueError, match="went back: packet starts at 14, expected >= 15"
    ):
        clock.observe(14, 1, 1.1)
