"""Co-contraction of an agonist and antagonist: Winter's common-area index."""

from __future__ import annotations

import numpy as np

FORMULA = "co-contraction = 2 × common area / (area A + area B) × 100"


def cocontraction_index(agonist: np.ndarray, antagonist: np.ndarray) -> float:
    """Winter's index in % over one rep of two %MVC envelopes sampled at the same rate.

    The common area is the area under the lower of the two curves; 100 means both muscles did the
    same, 0 means one was silent.
    """
    a = np.asarray(agonist, dtype=float)
    b = np.asarray(antagonist, dtype=float)
    total = a.sum() + b.sum()
    return 0.0 if total <= 0 else float(2.0 * np.minimum(a, b).sum() / total * 100.0)
