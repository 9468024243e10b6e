"""Causal, stateful sEMG signal processing (numpy/scipy only).

``Pipeline`` is the streaming chain; the other modules compute what a trainer reads from its
output: MVC references, asymmetry, target share, co-contraction, onsets, reps, fatigue, quality.
"""

from coach_tui.dsp.pipeline import Frame, Pipeline
from coach_tui.dsp.settings import DspSettings, EnvelopeSettings, FilterSettings

__all__ = ["DspSettings", "EnvelopeSettings", "FilterSettings", "Frame", "Pipeline"]
