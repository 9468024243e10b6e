"""Plain dataclasses and pure rules of coaching with sEMG (no UI, no I/O).

Records (frozen dataclasses with ``to_dict()`` / ``from_dict()``): :class:`Muscle`, :class:`Exercise`,
:class:`Client`, :class:`Placement`, :class:`Calibration`, :class:`RepMetrics`, :class:`SetRecord`,
:class:`Session`, :class:`ABTest`. Catalogues: :data:`MUSCLES`, :data:`EXERCISES`.
"""

from coach_tui.domain.abtest import ABTest, counterbalanced_order
from coach_tui.domain.calibration import Calibration
from coach_tui.domain.channels import SIDES, ChannelAssignment
from coach_tui.domain.client import Client
from coach_tui.domain.exercises import (
    EXERCISES,
    Exercise,
    exercise_library,
    find_exercise,
)
from coach_tui.domain.ids import new_id, now_utc
from coach_tui.domain.muscles import MUSCLES, Muscle, display_name, muscle
from coach_tui.domain.placement import Placement
from coach_tui.domain.session import RepMetrics, Session, SetRecord

__all__ = [
    "EXERCISES",
    "MUSCLES",
    "SIDES",
    "ABTest",
    "Calibration",
    "ChannelAssignment",
    "Client",
    "Exercise",
    "Muscle",
    "Placement",
    "RepMetrics",
    "Session",
    "SetRecord",
    "counterbalanced_order",
    "display_name",
    "exercise_library",
    "find_exercise",
    "muscle",
    "new_id",
    "now_utc",
]
