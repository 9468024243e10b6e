"""The streaming EMG chain: band-pass, mains notch, rectification + moving RMS, %MVC."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from coach_tui.dsp.envelope import MovingRms
from coach_tui.dsp.filters import SosCascade, design_bandpass, design_notches, notch_frequencies
from coach_tui.dsp.mains import detect_mains
from coach_tui.dsp.settings import DspSettings

ENVELOPE_METHOD = "moving RMS"
#: What a sensor sends: raw EMG (filtered and enveloped here) or an envelope it computed itself.
SIGNALS = ("raw", "envelope")


@dataclass(frozen=True, slots=True)
class Frame:
    """What one ``Pipeline.process`` call produced; arrays are ``(n_samples, n_channels)``.

    ``first_index`` counts samples since the pipeline started. ``percent_mvc`` is None when the
    pipeline has no MVC references, and NaN in channels without one.
    """

    first_index: int
    filtered: np.ndarray
    envelope: np.ndarray
    percent_mvc: np.ndarray | None

    @property
    def activation(self) -> np.ndarray:
        """What a trainer reads: %MVC in channels with a reference, the envelope (input units) elsewhere."""
        if self.percent_mvc is None:
            return self.envelope
        return np.where(np.isnan(self.percent_mvc), self.envelope, self.percent_mvc)


@lru_cache(maxsize=64)
def ringing_samples(sos_bytes: bytes) -> int:
    """Samples until the slowest pole of the sections (given as their bytes) decays to 10 %; cached."""
    sos = np.frombuffer(sos_bytes, dtype=float).reshape(-1, 6)
    radius = max((float(np.max(np.abs(np.roots(section[3:])))) for section in sos), default=0.0)
    ring = np.log(10.0) / -np.log(radius) if 0.0 < radius < 1.0 else 0.0
    return int(np.ceil(ring))


class Pipeline:
    """Causal, stateful EMG processing of one sensor's channels, chunk by chunk.

    Every call continues exactly where the previous one stopped, so processing a recording in
    chunks of any size gives bit-identical output to one call: what the live screen shows is
    exactly what re-analysing the stored recording gives. With
    ``mains="auto"`` the first ``mains_detect_s`` seconds (rounded up to a filter block) are
    filtered without a notch; at that sample the hum frequency is decided from what was seen and
    the notches start.

    >>> pipeline = Pipeline(fs_hz=2000, n_channels=2)
    >>> frame = pipeline.process(samples)   # samples: (n, 2) in µV
    >>> frame.envelope                      # (n, 2) moving-RMS envelope in µV

    A sensor that sends its own envelope (``signal="envelope"``, e.g. a MyoWare's analog output)
    passes through unfiltered: its samples are the envelope, and %MVC is taken of them.
    """

    def __init__(
        self,
        fs_hz: float,
        n_channels: int,
        settings: DspSettings | None = None,
        mvc_reference: np.ndarray | list[float | None] | None = None,
        signal: str = "raw",
    ):
        if signal not in SIGNALS:
            raise ValueError(f"signal must be one of {', '.join(SIGNALS)}, got {signal!r}")
        if fs_hz <= 0:
            raise ValueError(f"sample rate must be positive, got {fs_hz}")
        if n_channels < 1:
            raise ValueError(f"need at least one channel, got {n_channels}")
        self.fs_hz = float(fs_hz)
        self.n_channels = n_channels
        self.signal = signal
        self.settings = settings or DspSettings()
        filters = self.settings.filters
        self._mvc = self._mvc_scale(mvc_reference)
        self.samples_seen = 0
        self.mains_hz: float | None = None
        self.notch_hz: tuple[float, ...] = ()
        self._detect_at: int | None = None
        self._detect_buffer: list[np.ndarray] = []
        self.reduced_bandwidth = False
        self._rms = MovingRms(1, n_channels)
        self._settled_at = 0
        if signal == "envelope":
            return
        design = design_bandpass(self.fs_hz, filters)
        self.reduced_bandwidth = design.reduced_bandwidth
        self._cascade = SosCascade(design.sos, n_channels)
        self._rms = MovingRms(max(1, round(self.settings.envelope.window_ms * self.fs_hz / 1000.0)), n_channels)
        self._settled_at = self._settling_samples(design.sos)
        if filters.mains == "auto":
            # Decide at the first filter block boundary after the listening time.
            block = SosCascade.BLOCK
            self._detect_at = -(-max(1, round(filters.mains_detect_s * self.fs_hz)) // block) * block
        elif filters.mains != "off":
            self._start_notches(float(filters.mains), at=0)

    @property
    def settled_at(self) -> int:
        """Sample index from which the output is free of filter start-up transients.

        A filter starting on a running signal rings until its slowest pole has decayed (to 10 %);
        the sharp mains notches dominate (~0.45 s at Q 30 and 50 Hz). The envelope window comes on
        top. When ``auto`` adds the notches mid-stream, they settle from that sample on.
        """
        return self._settled_at

    @property
    def recovery_samples(self) -> int:
        """Samples after a discontinuity (a gap entered as zeros) until the output is free of it: the
        slowest filter's ringing plus the envelope window (the window alone for an envelope sensor)."""
        if self.signal == "envelope":
            return self._rms.window
        return self._settling_samples(self._cascade.sos)

    @property
    def envelope_window(self) -> int:
        """Moving-RMS window in samples."""
        return self._rms.window

    @property
    def envelope_delay_s(self) -> float:
        """Delay of the envelope behind the signal (half the RMS window)."""
        return (self._rms.window - 1) / 2 / self.fs_hz

    @property
    def has_mvc(self) -> bool:
        """True when at least one channel has an MVC reference."""
        return self._mvc is not None

    def _mvc_scale(self, reference) -> np.ndarray | None:
        if reference is None:
            return None
        ref = np.array([np.nan if r is None else r for r in reference], dtype=float)
        if ref.shape != (self.n_channels,):
            raise ValueError(f"need one MVC reference per channel ({self.n_channels}), got {ref.size}")
        if np.any(ref <= 0):
            raise ValueError("MVC references must be positive")
        return (100.0 / ref)[:, None]

    def _settling_samples(self, sos: np.ndarray) -> int:
        """Samples until the slowest pole of ``sos`` has decayed to 10 %, plus the envelope window."""
        return ringing_samples(sos.tobytes()) + self._rms.window

    def _start_notches(self, mains_hz: float, at: int) -> None:
        self.mains_hz = mains_hz
        self.notch_hz = notch_frequencies(self.fs_hz, mains_hz, self.settings.filters)
        notches = design_notches(self.fs_hz, self.notch_hz, self.settings.filters.notch_q)
        self._cascade.append(notches)
        self._settled_at = max(self._settled_at, at + self._settling_samples(notches))

    def _filter(self, x: np.ndarray) -> np.ndarray:
        """Filter channels-first ``x``, deciding the mains frequency when its sample is reached."""
        if self._detect_at is None:
            return self._cascade.process(x)
        before = min(x.shape[1], self._detect_at - self.samples_seen)
        self._detect_buffer.append(x[:, :before])
        head = self._cascade.process(x[:, :before])
        if self.samples_seen + before < self._detect_at:
            return head
        seen = np.concatenate(self._detect_buffer, axis=1)
        at, self._detect_at, self._detect_buffer = self._detect_at, None, []
        mains = detect_mains(seen, self.fs_hz)
        if mains is not None:
            self._start_notches(mains, at)
        return np.concatenate([head, self._cascade.process(x[:, before:])], axis=1)

    def process(self, samples: np.ndarray) -> Frame:
        """Process the next ``(n_samples, n_channels)`` samples and return their outputs."""
        samples = np.asarray(samples, dtype=float)
        if samples.ndim != 2 or samples.shape[1] != self.n_channels:
            raise ValueError(f"expected samples of shape (n, {self.n_channels}), got {samples.shape}")
        x = np.ascontiguousarray(samples.T)
        if self.signal == "envelope":
            filtered = envelope = x
        else:
            if self.samples_seen == 0 and x.shape[1]:
                self._cascade.settle(x[:, 0])
            filtered = self._filter(x)
            envelope = self._rms.process(filtered)
        first = self.samples_seen
        self.samples_seen += x.shape[1]
        percent = None if self._mvc is None else (envelope * self._mvc).T
        return Frame(first, filtered.T, envelope.T, percent)

    def process_gap(self, n_lost: int) -> Frame:
        """Account for ``n_lost`` samples a sensor never delivered: they enter the chain as zeros.

        This keeps sample indices aligned with the device counter; the envelope decays over the
        gap instead of bridging it, and stored recordings replay the same way.
        """
        return self.process(np.zeros((n_lost, self.n_channels)))
