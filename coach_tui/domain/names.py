"""Client names as a trainer types and reads them: found whatever the accents and case, cut with …
to fit a screen, and made safe (and short) as part of a file name."""

from __future__ import annotations

import re
import unicodedata

#: Letters that Unicode does not decompose into a base letter and an accent.
_LETTERS = {"ø": "o", "æ": "ae", "œ": "oe", "ß": "ss", "ł": "l", "đ": "d", "ð": "d", "þ": "th", "ı": "i", "ŋ": "n"}
#: Longest client name in a file name (characters).
FILE_NAME_CHARS = 40


def name_key(text: str) -> str:
    """``text`` as searched: case and accents dropped, spaces collapsed ("Zoë Ørsted" → "zoe orsted")."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    plain = "".join(_LETTERS.get(c, c) for c in decomposed if not unicodedata.combining(c))
    return " ".join(plain.split())


def cut(text: str, width: int) -> str:
    """``text`` in at most ``width`` characters, cut at the end with … when longer."""
    return text if len(text) <= width else text[: max(0, width - 1)].rstrip() + "…"


def file_slug(name: str, fallback: str) -> str:
    """A short, safe part of a file name for ``name``: letters and digits without accents, joined by
    "-", at most ``FILE_NAME_CHARS`` long (``fallback`` when nothing is left)."""
    slug = re.sub(r"[^a-z0-9]+", "-", name_key(name)).strip("-")
    return slug[:FILE_NAME_CHARS].rstrip("-") or fallback
