"""The muscles a trainer puts sensors on, each with where the electrodes go.

Location hints follow the SENIAM recommendations (seniam.org, "sensor locations") where SENIAM covers
the muscle, paraphrased to one line: the point on a line between two landmarks, then the electrode
orientation. Muscles SENIAM does not cover say "(not in SENIAM)" and give a common surface-EMG
convention instead. SENIAM's general advice holds for all: bipolar pair about 20 mm apart, placed
along the fibres, away from the edges of neighbouring muscles.
"""

from __future__ import annotations

from dataclasses import dataclass

from coach_tui.domain.channels import SIDES, ChannelAssignment
from coach_tui.domain.errors import UnknownNameError
from coach_tui.domain.serialization import Record
from coach_tui.domain.validation import require_text

__all__ = ["MUSCLES", "SIDES", "Muscle", "display_name", "muscle"]


@dataclass(frozen=True, slots=True)
class Muscle(Record):
    """A muscle: its key (``glute_max``), anatomical name and a one-line electrode location hint."""

    key: str
    name: str
    location_hint: str

    def __post_init__(self) -> None:
        for field in ("key", "name", "location_hint"):
            require_text("Muscle", field, getattr(self, field))


_NOT_SENIAM = "(not in SENIAM)"

_CATALOGUE = (
    # Hip
    Muscle("glute_max", "Gluteus maximus",
           "Half-way on the line from the sacral vertebrae to the greater trochanter, on the most prominent "
           "part of the buttock (well above the trochanter); along that line."),
    Muscle("glute_med", "Gluteus medius",
           "Half-way on the line from the iliac crest to the greater trochanter; along that line."),
    # Upper leg
    Muscle("hamstrings", "Biceps femoris (long head)",
           "50 % on the line from the ischial tuberosity to the lateral epicondyle of the tibia; along that line."),
    Muscle("semitendinosus", "Semitendinosus",
           "50 % on the line from the ischial tuberosity to the medial epicondyle of the tibia; along that line."),
    Muscle("rectus_femoris", "Rectus femoris",
           "50 % on the line from the anterior spina iliaca superior to the top of the patella; along that line."),
    Muscle("vastus_lateralis", "Vastus lateralis",
           "2/3 of the way on the line from the anterior spina iliaca superior to the lateral side of the "
           "patella; along the fibres."),
    Muscle("vastus_medialis", "Vastus medialis",
           "80 % on the line from the anterior spina iliaca superior to the joint space in front of the medial "
           "ligament; almost perpendicular to that line."),
    Muscle("adductor_longus", "Adductor longus (hip adductors)",
           f"{_NOT_SENIAM} About 4 cm below the pubic tubercle on the inner thigh, over the palpable muscle "
           "belly; along the line to the middle of the inner femur."),
    # Lower leg
    Muscle("gastrocnemius_medial", "Gastrocnemius, medial head",
           "On the most prominent bulge of the inner calf; along the leg."),
    Muscle("gastrocnemius_lateral", "Gastrocnemius, lateral head",
           "1/3 of the way on the line from the head of the fibula to the heel; along that line."),
    Muscle("tibialis_anterior", "Tibialis anterior",
           "1/3 of the way on the line from the tip of the fibula to the tip of the medial malleolus; along "
           "that line."),
    # Back and trunk
    Muscle("erector_spinae", "Erector spinae (longissimus)",
           "Two finger widths lateral to the spinous process of L1; vertical."),
    Muscle("latissimus_dorsi", "Latissimus dorsi",
           f"{_NOT_SENIAM} About 4 cm below the inferior angle of the scapula, over the muscle belly; "
           "oblique, about 25° from horizontal towards the spine."),
    Muscle("rhomboids", "Rhomboids (major)",
           f"{_NOT_SENIAM} Between the medial border of the scapula and the spine, just above the inferior angle "
           "(about T5), oblique along the fibres; trapezius crosstalk is likely."),
    Muscle("rectus_abdominis", "Rectus abdominis",
           f"{_NOT_SENIAM} About 3 cm lateral to the umbilicus; vertical."),
    Muscle("external_oblique", "External oblique",
           f"{_NOT_SENIAM} About 15 cm lateral to the umbilicus, below the rib cage; angled about 45° along the "
           "fibres (down and inwards)."),
    # Shoulder and neck
    Muscle("trapezius_upper", "Trapezius, upper (descendens)",
           "50 % on the line from the acromion to the spinous process of C7; along that line."),
    Muscle("trapezius_middle", "Trapezius, middle (transversalis)",
           "Half-way between the medial border of the scapula and the spine, at the level of T3; towards the "
           "acromion."),
    Muscle("trapezius_lower", "Trapezius, lower (ascendens)",
           "2/3 of the way on the line from the medial end of the scapular spine to the spinous process of T8."),
    Muscle("deltoid_anterior", "Deltoid, anterior",
           "One finger width below and in front of the acromion; along the line from the acromion to the thumb."),
    Muscle("deltoid_middle", "Deltoid, middle",
           "On the greatest bulge of the muscle, on the line from the acromion to the lateral epicondyle of the "
           "elbow; along that line."),
    Muscle("deltoid_posterior", "Deltoid, posterior",
           "About two finger widths behind the angle of the acromion; towards the little finger."),
    Muscle("pectoralis_major", "Pectoralis major (sternal part)",
           f"{_NOT_SENIAM} About 4 cm medial to the front fold of the armpit, over the muscle belly; horizontal, "
           "along the fibres."),
    # Arm
    Muscle("biceps", "Biceps brachii",
           "On the line from the medial acromion to the elbow crease (fossa cubiti), 1/3 of the way up from the "
           "crease; along that line."),
    Muscle("triceps", "Triceps brachii (long head)",
           "50 % on the line from the back of the acromion to the olecranon, two finger widths medial to it; "
           "along that line."),
)

#: Every known muscle by key.
MUSCLES: dict[str, Muscle] = {m.key: m for m in _CATALOGUE}


def muscle(key: str) -> Muscle:
    """The muscle called ``key``; ``KeyError`` listing the known keys otherwise."""
    try:
        return MUSCLES[key]
    except (KeyError, TypeError):
        raise UnknownNameError(f"unknown muscle {key!r}; known muscles: {', '.join(sorted(MUSCLES))}") from None


def display_name(key: str, side: str | None = None) -> str:
    """How a trainer says a placement: ``display_name("glute_max", "L")`` → ``"left glute max"``.

    The same words as :attr:`ChannelAssignment.label` (which this calls), so a live bar, a recording
    and a report name a channel alike. Any muscle key works (recordings may name muscles this
    catalogue does not have); the side must be "L", "R" or None.
    """
    if side is not None and side not in SIDES:
        raise ValueError(f"side must be 'L', 'R' or None, got {side!r}")
    return ChannelAssignment(key, side).label
