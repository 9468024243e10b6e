"""Moving means over fixed windows, the building block of MVC references and rest baselines."""

from __future__ import annotations

import numpy as np


def moving_mean(x: np.ndarray, window: int) -> np.ndarray:
    """Mean of every full ``window``-sample stretch of 1-D ``x`` (length ``len(x) - window + 1``)."""
    window = max(1, min(window, x.shape[0]))
    cumulative = np.concatenate([[0.0], np.cumsum(x, dtype=float)])
    return (cumulative[window:] - cumulative[:-window]) / window
