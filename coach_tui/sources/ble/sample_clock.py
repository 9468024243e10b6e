"""Sample index → host time for one sensor, fitted to the lower envelope of packet arrivals.

A notification arrives at or after its last sample was taken, late by a positive, bursty,
heavy-tailed delay: the wait for the next connection event (7.5–50 ms apart), host scheduling,
stalls that end in bursts. Arrival times therefore bound the sample times from above, and only the
least-delayed packets carry the clock. The fit is the line
``host_time(index) = t_ref + (index − index_ref) / rate`` that lies under every ``(last index of a
packet, arrival)`` point of a sliding window and touches the lowest ones: sampling time plus the
link's minimal delay, a constant per link.

How (per epoch): points are grouped into buckets of ``bucket_s`` of counter and only each bucket's
least-delayed point is kept, for the last ``window_s`` of counter. When a bucket closes, the rate is
the slope of the edge of their lower convex hull that spans the points' mean index — the linear
program "line under all points, as high as possible on average" (Moon, Skelly & Towsley, 1999,
"Estimation and removal of clock skew from network delay measurements") — which late points
(bursts, stalls) cannot move; the window lets it follow a drifting crystal. The offset is the
window's minimum of ``arrival − index / rate``, lowered at once whenever a packet arrives earlier
than the line says, so a sample is never placed after its packet's arrival. ``observe`` costs O(1);
the hull is rebuilt once per bucket in O(window / bucket).

Limit: when the connection interval is a multiple of the packet period, every connection event
finds the device at the same phase, so the least delay stays up to one packet period above the
link's minimum until the crystal's drift walks the phase through a full packet period (10 ms at
300 ppm: 33 s). Until the window has seen that twice, times can be late by up to one packet period
and the rate can be off by up to the crystal's drift.

Without a sample counter (Myo, MyoWare ASCII), ``observe_uncounted`` numbers the samples itself:
the running count of samples received, plus the samples a stall lost, judged from arrival times
(a packet later than ``stall_gap_s`` behind the clock; or, after the fact, a least delay that rose
and stayed up). The same fit then measures the device's rate from arrivals alone.
"""

from __future__ import annotations

import math
import operator
from collections import deque

_Point = tuple[int, float]  # (last sample index of a packet, its arrival time)

# Counter-less: a least delay raised for _STEP_BUCKETS buckets by at least _MIN_STEP_S (and two
# packet durations) means samples were lost.
_STEP_BUCKETS = 3
_MIN_STEP_S = 0.02


class SampleClock:
    """Host time of each sample index, learnt from ``(first_index, n_samples, arrival)`` per packet.

    ``nominal_rate_hz`` sizes the buckets and times the samples until a rate is measured;
    ``window_s`` (of counter) is the history the fit uses; ``min_span_s`` of counter is needed
    before ``measured_rate_hz`` is given; ``stall_gap_s`` is how far behind the clock a counter-less
    packet must be to count as following lost samples.
    """

    def __init__(
        self,
        nominal_rate_hz: float,
        *,
        window_s: float = 120.0,
        bucket_s: float = 1.0,
        min_span_s: float = 1.0,
        stall_gap_s: float = 0.5,
    ):
        for name, value in (
            ("nominal_rate_hz", nominal_rate_hz),
            ("window_s", window_s),
            ("bucket_s", bucket_s),
            ("min_span_s", min_span_s),
            ("stall_gap_s", stall_gap_s),
        ):
            if not (math.isfinite(value) and value > 0):
                raise ValueError(
                    f"{name} must be a positive finite number, got {value!r}"
                )
        if not bucket_s <= min_span_s <= window_s / 4:
            raise ValueError(
                f"need bucket_s <= min_span_s <= window_s / 4, got bucket_s={bucket_s}, "
                f"min_span_s={min_span_s}, window_s={window_s}"
            )
        self.nominal_rate_hz = float(nominal_rate_hz)
        self._bucket_len = max(1, round(bucket_s * nominal_rate_hz))
        self._window_len = window_s * nominal_rate_hz
        self._min_span = min_span_s * nominal_rate_hz
        self._stall_gap_s = stall_gap_s
        self.reset()

    def reset(self) -> None:
        """Forget everything, the measured rate included (another device)."""
        self._rate_hz: float | None = None
        self._rate_span = 0.0
        self.new_epoch()

    def new_epoch(self) -> None:
        """Start over on indices unrelated to the previous ones (a reconnect), keeping the rate.

        The carried rate times the new epoch until the new epoch has seen as long a span as the one
        it came from (or nearly the whole window).
        """
        self._next_index: int | None = None
        self._uncounted = False
        self._last_n = 1
        self._start_fit([])

    @property
    def measured_rate_hz(self) -> float | None:
        """Samples per host second, once ``min_span_s`` of counter was seen (carried across epochs)."""
        return self._rate_hz

    def observe(self, first_index: int, n_samples: int, t_arrival: float) -> None:
        """Take one packet: its first sample's index, its sample count, its host arrival time (s).

        Indices must not go back within an epoch (unwrap the device's counter; call ``new_epoch``
        when it restarts); a jump forward is a loss and is fine.
        """
        first_index = operator.index(first_index)
        n_samples = _checked(n_samples, t_arrival)
        if self._next_index is not None and first_index < self._next_index:
            raise ValueError(
                f"sample index went back: packet starts at {first_index}, expected >= "
                f"{self._next_index}; unwrap the counter, or call new_epoch() after it restarted"
            )
        self._next_index = first_index + n_samples
        self._last_n = n_samples
        last = first_index + n_samples - 1
        if self._bucket_min is None:
            self._start_fit([(last, t_arrival)])
            return
        bucket = last // self._bucket_len
        if bucket != self._bucket:
            self._minima.append(self._bucket_min)
            self._bucket, self._bucket_min = bucket, (last, t_arrival)
            self._refit()
        else:
            min_last, min_t = self._bucket_min
            if t_arrival - min_t < (last - min_last) * self._period:
                self._bucket_min = (last, t_arrival)
        late_by = self._t_ref + (last - self._index_ref) * self._period - t_arrival
        if late_by > 0:
            self._t_ref -= late_by

    def observe_uncounted(self, n_samples: int, t_arrival: float) -> int:
        """Take one packet of a device without a sample counter; return its first sample's index.

        Indices run on from the previous packet's; a jump forward is the estimated count of samples
        lost before this packet (mark a gap). A packet ``stall_gap_s`` behind the clock jumps at once
        and starts a new epoch; the estimate errs high by what the device buffered through the stall,
        and those buffered samples are timed as if fresh (nothing tells them apart). A smaller loss
        shows as a least delay that rose and stayed up for three buckets, and jumps the next index
        then; the samples in between were timed early by the loss.
        """
        n_samples = _checked(n_samples, t_arrival)
        first_index = self._next_index or 0
        if self._rate_hz is not None and self._bucket_min is not None:
            lag = self.expected_index(t_arrival) - (first_index + n_samples - 1)
            if lag * self._period >= self._stall_gap_s:
                first_index += int(lag)
                self.new_epoch()
        self._uncounted = True
        self.observe(first_index, n_samples, t_arrival)
        return first_index

    def host_time(self, index: float) -> float:
        """Host time (s) of sample ``index`` of this epoch: its sampling time plus the minimal delay."""
        if self._bucket_min is None:
            raise RuntimeError("no packet observed in this epoch yet")
        return self._t_ref + (index - self._index_ref) * self._period

    def expected_index(self, t_arrival: float) -> float:
        """Index a least-delayed packet arriving at ``t_arrival`` would end with."""
        if self._bucket_min is None:
            raise RuntimeError("no packet observed in this epoch yet")
        return self._index_ref + (t_arrival - self._t_ref) / self._period

    def _start_fit(self, seed: list[_Point]) -> None:
        """Fit afresh from ``seed`` (least-delayed points, oldest first), keeping the rate."""
        # the least-delayed point of each closed bucket, and of the open one
        self._minima: deque[_Point] = deque(seed[:-1])
        self._bucket_min: _Point | None = seed[-1] if seed else None
        self._bucket = seed[-1][0] // self._bucket_len if seed else 0
        self._period = 1.0 / (self._rate_hz or self.nominal_rate_hz)  # s per sample
        carried_span = min(self._rate_span, self._window_len - 2 * self._bucket_len)
        self._span_to_beat = (
            self._min_span
            if self._rate_hz is None
            else max(self._min_span, carried_span)
        )
        self._index_ref, self._t_ref = 0, math.nan
        if seed:
            self._fit_offset(seed)

    def _refit(self) -> None:
        """Rate from the window's lower hull, offset from the window's least-delayed point."""
        newest = self._bucket_min[0]
        while self._minima and self._minima[0][0] < newest - self._window_len:
            self._minima.popleft()
        points = [*self._minima, self._bucket_min]
        span = newest - points[0][0]
        if span >= self._span_to_beat:
            period = _lower_hull_slope(points)
            if period > 0:
                self._period = period
                self._rate_hz = 1.0 / period
                self._rate_span = span
                self._span_to_beat = self._min_span
        self._fit_offset(points)
        if (
            self._uncounted
            and self._rate_hz is not None
            and len(points) > 2 * _STEP_BUCKETS
        ):
            self._follow_step(points)

    def _fit_offset(self, points: list[_Point]) -> None:
        """Put the line, at the current rate, under every point and through the lowest."""
        newest, period = points[-1][0], self._period
        self._index_ref = newest
        self._t_ref = min(t + (newest - i) * period for i, t in points)

    def _follow_step(self, points: list[_Point]) -> None:
        """Counter-less: a least delay raised for the last buckets means lost samples; skip them."""
        recent = points[-1 - _STEP_BUCKETS :]
        step = min(t - self.host_time(i) for i, t in recent[:-1])
        if step < max(_MIN_STEP_S, 2 * self._last_n * self._period):
            return
        lost = round(step / self._period)
        self._next_index += lost
        self._start_fit([(i + lost, t) for i, t in recent])


def _checked(n_samples: int, t_arrival: float) -> int:
    """``n_samples`` as an int, after refusing an empty packet or a non-finite arrival time."""
    n_samples = operator.index(n_samples)
    if n_samples < 1:
        raise ValueError(
            f"a packet holds at least one sample, got n_samples={n_samples!r}"
        )
    if not math.isfinite(t_arrival):
        raise ValueError(f"arrival time must be finite, got {t_arrival!r}")
    return n_samples


def _lower_hull_slope(points: list[_Point]) -> float:
    """Slope of the lower convex hull's edge spanning the points' mean index (points sorted by index)."""
    hull: list[_Point] = []
    for p in points:
        while len(hull) >= 2:
            (i0, t0), (i1, t1) = hull[-2], hull[-1]
            if (i1 - i0) * (p[1] - t0) - (t1 - t0) * (p[0] - i0) > 0:
                break
            hull.pop()
        hull.append(p)
    mean_index = sum(i for i, _ in points) / len(points)
    k = 1
    while hull[k][0] < mean_index:  # stops: the last vertex has the highest index
        k += 1
    (i0, t0), (i1, t1) = hull[k - 1], hull[k]
    return (t1 - t0) / (i1 - i0)
