"""Why the console cannot read the sensors yet."""


class SensorsNotReady(Exception):
    """The configured sensors cannot be read yet (still connecting, or at different rates)."""
