"""The streaming EMG chain: band-pass, mains notch, rectification + moving RMS, %MVC."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from coach_tui.dsp.envelope import MovingRms
from coach_tui.dsp.filters import SosCascade, design_bandpass, design_notches, notch_frequencies
from coach_tui.dsp.mains import MainsDecision, MainsListener
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
    exactly what re-analysing the stored recording gives. With ``mains="auto"`` the pipeline
    listens for hum in the quietest moments of the signal (``mains.MainsListener``) and adds the
    notches at the checkpoint sample where it first finds it — at the start or an hour in, the
    same sample however the samples were chunked. ``mains_decision`` replays a decision made
    earlier (a set's stored recipe): notches from that sample, no listening.

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
        mains_decision: MainsDecision | None = None,
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
        self._last_input: np.ndarray | None = None  # the last raw sample, which a gap holds
        self.mains_hz: float | None = None
        self.notch_hz: tuple[float, ...] = ()
        self._listener: MainsListener | None = None
        self._pending: MainsDecision | None = None
        self.mains_decision: MainsDecision | None = None
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
        if mains_decision is not None:
            if mains_decision.at % SosCascade.BLOCK:
                raise ValueError(f"a notch can only start at a multiple of {SosCascade.BLOCK} samples, got {mains_decision.at}")
            self._pending = mains_decision
            if mains_decision.at == 0:
                self._start_pending()
        elif filters.mains == "auto":
            self._listener = MainsListener(self.fs_hz, n_channels, filters.mains_detect_s)
        elif filters.mains != "off":
            self._pending = MainsDecision(0, float(filters.mains))
            self._start_pending()

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

    @property
    def listening(self) -> bool:
        """True while ``auto`` is still listening for hum (no notch yet)."""
        return self._listener is not None

    def _start_pending(self) -> None:
        decision, self._pending = self._pending, None
        self.mains_decision = decision
        self.mains_hz = decision.mains_hz
        self.notch_hz = notch_frequencies(self.fs_hz, decision.mains_hz, self.settings.filters)
        notches = design_notches(self.fs_hz, self.notch_hz, self.settings.filters.notch_q)
        self._cascade.append(notches)
        self._settled_at = max(self._settled_at, decision.at + self._settling_samples(notches))

    def _filter(self, x: np.ndarray) -> np.ndarray:
        """Filter channels-first ``x``, adding the notches at the sample mains was decided."""
        if self._listener is not None:
            found = self._listener.listen(x)
            if found is not None:
                self._pending, self._listener = found, None
        if self._pending is None or self._pending.at > self.samples_seen + x.shape[1]:
            return self._cascade.process(x)
        before = self._pending.at - self.samples_seen
        head = self._cascade.process(x[:, :before])
        self._start_pending()
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
            if x.shape[1]:
                self._last_input = x[:, -1].copy()
        first = self.samples_seen
        self.samples_seen += x.shape[1]
        percent = None if self._mvc is None else (envelope * self._mvc).T
        return Frame(first, filtered.T, envelope.T, percent)

    def process_gap(self, n_lost: int) -> Frame:
        """Account for ``n_lost`` samples a sensor never delivered.

        Raw signals: they enter the chain as the last sample held, so the band-pass output, and
        with it the envelope, decays over the gap instead of bridging it, and a DC-coupled sensor's
        offset (an OpenBCI Ganglion's reads thousands of µV) makes no step — zeros would, an
        impulse of the offset's size that the envelope shows as a burst (a Ganglion firmware 3
        board leaves one such gap every second). Envelopes: zeros. This keeps sample indices
        aligned with the device counter, and stored recordings replay the same way.
        """
        if self.signal == "envelope" or self._last_input is None:
            return self.process(np.zeros((n_lost, self.n_channels)))
        return self.process(np.repeat(self._last_input[None, :], n_lost, axis=0))
