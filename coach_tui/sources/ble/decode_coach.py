"""The coach open sensor profile, version 1 (SENSORS.md §1): info characteristic and data packets.

Both are little-endian. Info: ``u8 version, u8 kind, u8 channels, u8 sample_format,
f32 sample_rate_hz, f32 scale`` then a UTF-8 name. Data: ``u8 version, u8 kind, u8 channels,
u8 sample_format, u32 index`` then samples interleaved by channel. The u32 index of the first
sample makes loss exact and is unrolled across its wrap; an index out of sequence is refused
until enough packets agree on it (:class:`CoachV1Decoder`).
"""

from __future__ import annotations

import math
import struct
from dataclasses import dataclass

import numpy as np

from coach_tui.sources.ble.decoders import DecodedPacket, DecoderStats, Silence, most_samples_in

COACH_V1_VERSION = 1
_INFO_HEADER = struct.Struct("<BBBBff")
_DATA_HEADER = struct.Struct("<BBBBI")
#: kinds and sample formats, each coded by its position
_KINDS = ("raw", "envelope")
_FORMATS = ("int16", "int24", "float32")
_SAMPLE_BYTES = {"int16": 2, "int24": 3, "float32": 4}
_INDEX_WRAP = 2**32
_MAX_CHANNELS = 8
#: Out-of-sequence packets in a row, each continuing the one before, that the decoder re-anchors on.
RESYNC_AFTER_PACKETS = 3


@dataclass(frozen=True, slots=True)
class CoachSensorInfo:
    """What a coach v1 sensor says about its stream (the info characteristic).

    ``kind`` is "raw" or "envelope"; ``sample_format`` is "int16", "int24" or "float32";
    ``scale`` is µV per count (float32 samples are already µV, their scale is not applied).
    """

    version: int
    kind: str
    channels: int
    sample_format: str
    sample_rate_hz: float
    scale: float
    name: str

    @property
    def uv_per_count(self) -> float:
        """The factor that turns a decoded sample into µV."""
        return 1.0 if self.sample_format == "float32" else self.scale


def parse_coach_info(data: bytes) -> CoachSensorInfo:
    """Parse the info characteristic; ValueError with the offending field when it is malformed."""
    if len(data) < _INFO_HEADER.size:
        raise ValueError(
            f"coach v1 info is {len(data)} bytes, shorter than its {_INFO_HEADER.size}-byte header"
        )
    version, kind_code, channels, format_code, rate, scale = _INFO_HEADER.unpack_from(data)
    if version != COACH_V1_VERSION:
        raise ValueError(f"coach v1 info: version {version} is not supported (expected 1)")
    if kind_code >= len(_KINDS):
        raise ValueError(f"coach v1 info: kind {kind_code} is unknown (0 raw, 1 envelope)")
    if not 1 <= channels <= _MAX_CHANNELS:
        raise ValueError(f"coach v1 info: {channels} channels is outside 1–{_MAX_CHANNELS}")
    if format_code >= len(_FORMATS):
        raise ValueError(
            f"coach v1 info: sample format {format_code} is unknown (0 int16, 1 int24, 2 float32)"
        )
    sample_format = _FORMATS[format_code]
    if not (math.isfinite(rate) and rate > 0):
        raise ValueError(f"coach v1 info: sample rate {rate} Hz is not a positive number")
    if sample_format != "float32" and not (math.isfinite(scale) and scale > 0):
        raise ValueError(f"coach v1 info: scale {scale} µV per count is not a positive number")
    try:
        name = data[_INFO_HEADER.size :].rstrip(b"\x00").decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ValueError(f"coach v1 info: device name is not UTF-8 ({exc.reason})") from None
    return CoachSensorInfo(version, _KINDS[kind_code], channels, sample_format, rate, scale, name)


class CoachV1Decoder:
    """Decodes coach v1 data packets against the sensor's info.

    A packet whose header disagrees with the info, whose length is not the header plus whole
    frames, or that holds a non-finite float is rejected. The index is unrolled across its 2**32
    wrap: ``gap_before`` is how far it jumps ahead of the expected one. The first packet has gap 0.

    A packet out of sequence is rejected (counted in ``stats``): one whose index goes backwards
    (duplicate or out of order: stale), and one that jumps further ahead than the time since the
    last packet taken explains at the info's rate (the ``elapsed_s`` of every notification since,
    against :func:`most_samples_in`: a corrupt index). When ``RESYNC_AFTER_PACKETS`` such packets
    in a row continue each other, the counter really moved (or the packet anchoring the count was
    the corrupt one): the decoder re-anchors on them, and the last comes out with
    ``resync=True``, numbered after everything emitted so far (the output index never goes back)
    with ``gap_before`` = the samples of the run's rejected packets. Without ``elapsed_s``, every
    jump ahead is believed.
    """

    def __init__(self, info: CoachSensorInfo) -> None:
        self.info = info
        self.channels = info.channels
        self.stats = DecoderStats()
        self._header = (
            info.version,
            _KINDS.index(info.kind),
            info.channels,
            _FORMATS.index(info.sample_format),
        )
        self._frame_bytes = info.channels * _SAMPLE_BYTES[info.sample_format]
        self._expected: int | None = None  # device index (u32) expected next
        self._next_out = 0  # output index expected next
        self._silence = Silence()  # since the last packet taken
        # the run of out-of-sequence packets: how many, their samples, the device index it expects
        self._run_packets = 0
        self._run_samples = 0
        self._run_next: int | None = None

    def decode(
        self, packet: bytes, characteristic: str | None = None, *, elapsed_s: float | None = None
    ) -> DecodedPacket | None:
        """Decode one data notification (None when rejected; see ``stats``)."""
        self.stats.packets += 1
        self._silence.heard(elapsed_s)
        reason = self._header_problem(packet)
        if reason:
            self.stats.reject(reason)
            return None
        samples = self._samples(packet[_DATA_HEADER.size :])
        if not np.all(np.isfinite(samples)):
            self.stats.reject("coach v1: non-finite float32 sample")
            return None
        index = _DATA_HEADER.unpack_from(packet)[4]
        n = samples.shape[0]
        resync = False
        if self._expected is None:
            first, gap = index, 0
        else:
            ahead = (index - self._expected) % _INDEX_WRAP
            problem = self._sequence_problem(ahead, n)
            if problem is None:
                first, gap = self._next_out + ahead, ahead
            elif self._run_is_long_enough(index, n):
                first, gap, resync = self._next_out + self._run_samples, self._run_samples, True
            else:
                self.stats.reject(problem)
                return None
        self._run_packets, self._run_samples, self._run_next = 0, 0, None
        self._silence.took()
        self._expected = (index + n) % _INDEX_WRAP
        self._next_out = first + n
        return DecodedPacket(samples, first, gap, resync)

    def _sequence_problem(self, ahead: int, n: int) -> str | None:
        if ahead >= _INDEX_WRAP // 2:
            return "coach v1: stale packet (index went backwards)"
        silence = self._silence.seconds
        if silence is not None and ahead + n > most_samples_in(silence, self.info.sample_rate_hz):
            return "coach v1: index jumps further ahead than the time since the last packet explains"
        return None

    def _run_is_long_enough(self, index: int, n: int) -> bool:
        """Count an out-of-sequence packet into the run it continues (else it starts a new run);
        True when it makes the run long enough to re-anchor on."""
        if index != self._run_next:
            self._run_packets, self._run_samples = 0, 0
        self._run_packets += 1
        if self._run_packets >= RESYNC_AFTER_PACKETS:
            return True
        self._run_samples += n
        self._run_next = (index + n) % _INDEX_WRAP
        return False

    def _header_problem(self, packet: bytes) -> str | None:
        if len(packet) < _DATA_HEADER.size:
            return (
                f"coach v1: {len(packet)}-byte packet is shorter than the "
                f"{_DATA_HEADER.size}-byte header"
            )
        for field_name, got, expected in zip(
            ("version", "kind", "channels", "sample format"), packet[:4], self._header
        ):
            if got != expected:
                return f"coach v1: header {field_name} {got} does not match info ({expected})"
        payload = len(packet) - _DATA_HEADER.size
        if payload == 0 or payload % self._frame_bytes:
            frames = max(1, -(-payload // self._frame_bytes))
            expected_length = _DATA_HEADER.size + frames * self._frame_bytes
            return (
                f"coach v1: length {len(packet)} does not match header (expected {expected_length})"
            )
        return None

    def _samples(self, payload: bytes) -> np.ndarray:
        if self.info.sample_format == "int24":
            octets = np.frombuffer(payload, np.uint8).reshape(-1, 3).astype(np.int32)
            counts = octets[:, 0] | (octets[:, 1] << 8) | (octets[:, 2] << 16)
            counts -= (counts & 0x800000) << 1
        else:
            dtype = "<i2" if self.info.sample_format == "int16" else "<f4"
            counts = np.frombuffer(payload, dtype)
        uv = counts.astype(np.float64) * self.info.uv_per_count
        return uv.astype(np.float32).reshape(-1, self.channels)
