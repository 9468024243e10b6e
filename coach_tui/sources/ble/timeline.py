"""One sensor's decoded packets → :class:`Block`s: sample indices continued across reconnects,
gaps, host times, and the sample counters of its status.

- Within one connection ``first_index`` comes from the decoder where the protocol has a counter
  (coach v1 sample index, Ganglion packet ids) and ``gap_before`` is exact (Ganglion firmware 2:
  lost plus muted samples, ``resync`` on the raw packet that ends the muting). Decoders get each
  notification's ``elapsed_s`` since the previous one of the connection (host-dropped ones count
  in the time): Ganglion decoders count whole lost id cycles from it, coach v1 refuses an index
  that jumps further than it explains. Without a counter (Myo, MyoWare)
  :meth:`SampleClock.observe_uncounted` numbers the samples and estimates a stall's loss from
  arrival times.
- Across a reconnect the stream goes on: the first block of the new connection has
  ``resync=True`` and ``gap_before`` = the samples missed while away. coach v1: exact when the
  device's counter continued (the new index is ahead of the last one, modulo 2**32, by no more
  than the time away explains), otherwise — a counter restarted at start, Ganglion ids,
  counter-less protocols — estimated as elapsed time × rate (measured, else nominal) between the
  last sample before and the first sample after, so it errs by the link latency and by what the
  device buffered.
- ``t_host`` is the host time of the first sample, from the sensor's :class:`SampleClock` (a fit
  of sample index against arrival times, new epoch per connection).

Status counters: ``samples_lost`` = missing samples but those the device never sends by design
(``DecodedPacket.unsent``), ``packets_lost`` = those ÷ samples per packet (rounded up),
``malformed`` from the decoders (summed over connections); ``measured_rate_hz`` = samples
delivered per second (the clock's index rate less the unsent share).
"""

from __future__ import annotations

from coach_tui.sources.ble.decoders import DecodedPacket, Decoder, most_samples_in
from coach_tui.sources.ble.notification_queue import Connection
from coach_tui.sources.ble.profiles import Profile
from coach_tui.sources.ble.sample_clock import SampleClock
from coach_tui.sources.block import Block, SensorStatus

_INDEX_WRAP = 2**32


class Timeline:
    """One sensor's decoded packets → :class:`Block`s: indices continued across reconnects, gaps,
    host times, and the sample counters of its status (module docstring)."""

    def __init__(self, sensor_id: str, profile_: Profile, status: SensorStatus):
        self.sensor_id = sensor_id
        self.profile = profile_
        self.status = status
        self.decoder: Decoder | None = None
        self.clock: SampleClock | None = None
        self.next_index: int | None = None  # stream index expected next
        self.device_next: int | None = None  # decoder index expected next (counter continuity)
        self.offset = 0  # stream index − connection-local index
        self.last_time = 0.0  # host time of the last sample delivered
        self.packet_samples = 1  # largest packet seen, for packets_lost
        self.new_connection = False
        self.last_arrival: float | None = None  # of this connection's previous notification
        self.malformed_before = 0  # malformed packets of earlier connections' decoders
        self.unsent = 0  # samples the device never sends by design (Ganglion firmware 3)

    def begin(self, connection: Connection) -> None:
        """The notifications that follow come from a new connection."""
        if self.decoder is not None:
            self.malformed_before += self.decoder.stats.malformed
        self.decoder = connection.decoder
        if self.clock is None or self.clock.nominal_rate_hz != connection.clock_rate_hz:
            self.clock = SampleClock(connection.clock_rate_hz)
        self.new_connection = True
        self.last_arrival = None

    def take(self, data: bytes, arrival: float, uuid: str) -> Block | None:
        """Decode one notification; the block it makes, or None (rejected, muted, no samples)."""
        assert self.decoder is not None and self.clock is not None
        elapsed = None if self.last_arrival is None else arrival - self.last_arrival
        self.last_arrival = arrival
        decoded = self.decoder.decode(data, uuid, elapsed_s=elapsed)
        self.status.malformed = self.malformed_before + self.decoder.stats.malformed
        if decoded is None:
            return None
        n = decoded.samples.shape[0]
        self.packet_samples = max(self.packet_samples, n)
        counted = decoded.first_index is not None
        resync = decoded.resync
        gap: int | None = None
        if self.new_connection:
            self.new_connection = False
            local_first = decoded.first_index if counted else 0
            if self.next_index is None:
                start, gap = local_first, 0
            else:
                gap = self._reconnect_gap(decoded, n, arrival)
                start, resync = self.next_index + gap, True
            self.offset = start - local_first
            self.clock.new_epoch()
        if counted:
            local = decoded.first_index
            self.clock.observe(local, n, arrival)
            self.device_next = local + n
        else:
            local = self.clock.observe_uncounted(n, arrival)
        index = local + self.offset
        unsent = 0
        if gap is None:  # exact from the counter, or the clock's estimate of a stall
            gap = index - self.next_index
            unsent = decoded.unsent
        self.next_index = index + n
        self.last_time = self.clock.host_time(local + n - 1)
        status = self.status
        status.samples_received += n
        if gap > unsent:
            status.samples_lost += gap - unsent
            status.packets_lost += -(-(gap - unsent) // self.packet_samples)
        self.unsent += min(gap, unsent)
        status.measured_rate_hz = self._delivered_rate()
        return Block(self.sensor_id, index, decoded.samples, self.clock.host_time(local), gap, resync)

    def _delivered_rate(self) -> float | None:
        """Samples the sensor delivers per second: the clock's rate (of the device's sample index)
        less the share the device never sends (firmware 3: 1 in 201, so 200 Hz delivers ≈ 199 Hz)."""
        rate = self.clock.measured_rate_hz
        received = self.status.samples_received
        if rate is None or not received:
            return rate
        return rate * received / (received + self.unsent)

    def _reconnect_gap(self, decoded: DecodedPacket, n: int, arrival: float) -> int:
        """Samples missed between the last connection's last sample and this packet's first."""
        rate = self.clock.measured_rate_hz or self.clock.nominal_rate_hz
        if self.profile.loss_detection == "sample_counter" and self.device_next is not None:
            ahead = (decoded.first_index - self.device_next) % _INDEX_WRAP
            # the device's counter went on while we were away (not a corrupt first index)
            if ahead < _INDEX_WRAP // 2 and ahead + n <= most_samples_in(arrival - self.last_time, rate):
                return ahead
        first_sample_time = arrival - (n - 1) / rate
        return max(0, round((first_sample_time - self.last_time) * rate) - 1)

