"""A client's visit is one session: every set recorded for them — on the live screen, in an A/B
test or with ``coach record`` — goes into it, until no set has been recorded for an idle gap.

A session is opened on the visit's first set (a visit without sets leaves nothing behind). It is
"recording" while sets may still come, so a crash in between is recovered on the next start; it
is marked complete when the console quits or the command ends, and reopened when the client's
next set comes within the idle gap of its last one.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta

from coach_tui.domain.ids import now_utc
from coach_tui.domain.session import Session, SetRecord
from coach_tui.store.repository import Repository


def _last_activity(session: Session, sets: list[SetRecord]) -> datetime:
    """When the session's last set ended (its start when it has none)."""
    ends = [s.started + timedelta(seconds=s.duration_s) for s in sets]
    return max([session.started, *ends])


class Visits:
    """The open session of each client seen by this console or command."""

    def __init__(self, repo: Repository, idle_gap_minutes: float, now: Callable[[], datetime] = now_utc):
        self.repo = repo
        self.idle_gap = timedelta(minutes=idle_gap_minutes)
        self._now = now
        self._open: dict[str, Session] = {}

    def session(self, client_id: str) -> Session:
        """The session the client's next set goes into: this visit's, or the client's last one when
        it ended within the idle gap (reopened), else a new one. Stored as "recording"."""
        now = self._now()
        session = self._open.get(client_id)
        if session is not None and now - _last_activity(session, self.repo.sets(session.id)) > self.idle_gap:
            self.close(client_id)
            session = None
        if session is None:
            session = self._recent(client_id, now)
            session = Session.opened(client_id, now) if session is None else replace(session, status="recording",
                                                                                       ended=None)
            self.repo.save_session(session)
            self._open[client_id] = session
        return session

    def _recent(self, client_id: str, now: datetime) -> Session | None:
        """The client's last session, when it was completed within the idle gap."""
        sessions = self.repo.sessions(client_id)
        if not sessions or sessions[-1].status != "complete":
            return None
        last = sessions[-1]
        return last if now - _last_activity(last, self.repo.sets(last.id)) <= self.idle_gap else None

    def next_set_number(self, session: Session) -> int:
        """The number of the session's next set (1 for the first)."""
        return max((s.index for s in self.repo.sets(session.id)), default=0) + 1

    def close(self, client_id: str | None = None, status: str = "complete") -> None:
        """Mark the client's open session complete (every client's when None), ended at its last set;
        ``status`` "recovered" when a set could only be kept in part (its recording was cut short)."""
        for cid in [client_id] if client_id is not None else list(self._open):
            session = self._open.pop(cid, None)
            if session is None:
                continue
            stored = self.repo.session(session.id)
            if stored.status == "recording":
                ended = _last_activity(stored, self.repo.sets(stored.id))
                self.repo.save_session(replace(stored, status=status, ended=ended))
