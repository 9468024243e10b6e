"""The log file a bug report from the field can attach: ``coach.log`` in the user log folder.

What goes in: coach-tui's own records at INFO and up (each Bluetooth connect, disconnect and
reconnect, each recovered session, what a command refused and why), every other library's
warnings (bleak's among them) and every unexpected exception with its traceback. ``--debug``
lowers both to DEBUG. The file is rotated at :data:`MAX_BYTES` with :data:`BACKUPS` old files
kept (at most 4 MB in all), owner-only (0600) in an owner-only folder like everything else
coach-tui writes. A log that cannot be written (read-only home, full disk) never stops a command:
the records are dropped.
"""

from __future__ import annotations

import logging
import logging.handlers
import os
from pathlib import Path

MAX_BYTES = 1 << 20
BACKUPS = 3
FORMAT = "%(asctime)s %(process)d %(levelname)s %(name)s: %(message)s"


class _PrivateRotatingFile(logging.handlers.RotatingFileHandler):
    """A rotating file created 0600 whatever the umask, that stays quiet when it cannot write."""

    def _open(self):
        fd = os.open(self.baseFilename, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        return os.fdopen(fd, self.mode, encoding=self.encoding, errors=self.errors)

    def handleError(self, record: logging.LogRecord) -> None:  # noqa: N802 (logging's name)
        pass  # a full disk must not turn every log call into a traceback on stderr


def start_logging(path: Path, *, debug: bool = False) -> Path | None:
    """Send log records to ``path`` (rotated); return it, or None when it cannot be opened."""
    from coach_tui.store.private_files import private_dirs

    root = logging.getLogger()
    for handler in [h for h in root.handlers if isinstance(h, _PrivateRotatingFile)]:
        root.removeHandler(handler)
        handler.close()
    try:
        private_dirs(path.parent)
        handler = _PrivateRotatingFile(path, maxBytes=MAX_BYTES, backupCount=BACKUPS, encoding="utf-8")
    except OSError:
        if not any(isinstance(h, logging.NullHandler) for h in root.handlers):
            root.addHandler(logging.NullHandler())  # so nothing falls back to printing on the screen
        return None
    handler.setFormatter(logging.Formatter(FORMAT))
    root.addHandler(handler)
    root.setLevel(logging.DEBUG if debug else logging.WARNING)
    logging.getLogger("coach_tui").setLevel(logging.DEBUG if debug else logging.INFO)
    logging.captureWarnings(True)
    return path
