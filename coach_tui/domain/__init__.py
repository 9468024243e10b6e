"""Plain dataclasses and pure rules of coaching with sEMG (no UI, no I/O)."""
