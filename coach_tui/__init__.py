"""coach-tui: a terminal coaching console for trainers who measure muscle activation with sEMG."""

__version__ = "0.1.0"
