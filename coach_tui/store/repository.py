"""Domain records in and out of the client database: clients, calibrations, sessions, sets, A/B tests."""

from __future__ import annotations

import difflib
from pathlib import Path

from coach_tui.domain.abtest import ABTest
from coach_tui.domain.calibration import Calibration
from coach_tui.domain.client import Client
from coach_tui.domain.names import name_key
from coach_tui.domain.placement import Placement
from coach_tui.domain.session import Session, SetRecord
from coach_tui.domain.set_choices import SetChoices
from coach_tui.store.database import Database
from coach_tui.store.record_check import check_records

CLIENTS, CALIBRATIONS, SESSIONS, SETS, PLACEMENTS = "clients", "calibrations", "sessions", "sets", "placements"
ABTESTS, SET_CHOICES = "abtests", "set_choices"


def open_database(sessions_dir: Path, *, read_only: bool = False) -> Database:
    """The client database of ``sessions_dir``, every record checked before the file is trusted
    (or backed up)."""
    return Database(sessions_dir, read_only=read_only, check=check_records)


class UnknownRecord(LookupError):
    """A client or session that is not in the database; the message says how to find one."""


def _close_names(wanted: str, names: list[str], limit: int = 3) -> list[str]:
    """``names`` that ``wanted`` may have meant, ignoring case and accents: those with a word starting
    with it ("zoe" → "Zoë Ørsted"), then those spelled alike (difflib ratio ≥ 0.6: "Ana Diaz" → "Ana Díaz")."""
    key = name_key(wanted)
    if not key:
        return []
    by_key = {name_key(n): n for n in names}
    starts = [n for k, n in by_key.items() if any(word.startswith(key) for word in k.split()) or k.startswith(key)]
    alike = [by_key[k] for k in difflib.get_close_matches(key, list(by_key), n=limit, cutoff=0.6)]
    return list(dict.fromkeys(starts + alike))[:limit]


class Repository:
    """Typed access to ``Database``: every method takes or returns domain records."""

    def __init__(self, database: Database):
        self.db = database

    # clients
    def add_client(self, client: Client) -> Client:
        """Store a new client; names must be unique (case-insensitive)."""
        if self.find_client(client.name) is not None:
            raise ValueError(f"a client named {client.name!r} already exists")
        self.db.insert(CLIENTS, client.to_dict())
        return client

    def update_client(self, client: Client) -> Client:
        """Replace a stored client (names stay unique)."""
        other = self.find_client(client.name)
        if other is not None and other.id != client.id:
            raise ValueError(f"a client named {client.name!r} already exists")
        self.db.upsert(CLIENTS, client.to_dict())
        return client

    def clients(self) -> list[Client]:
        """All clients, by name."""
        return sorted((Client.from_dict(d) for d in self.db.all(CLIENTS)), key=lambda c: c.name.casefold())

    def search_clients(self, typed: str) -> list[Client]:
        """The clients whose name holds ``typed``, ignoring case and accents (all for nothing typed)."""
        key = name_key(typed)
        return [c for c in self.clients() if key in name_key(c.name)]

    def find_client(self, name: str) -> Client | None:
        """The client with this name (case-insensitive), or None."""
        wanted = name.strip().casefold()
        return next((c for c in self.clients() if c.name.casefold() == wanted), None)

    def client(self, name: str) -> Client:
        """The client with this name, or ``UnknownRecord`` naming the close matches (else every client)
        and how to add one. Every command that takes a client name looks it up here."""
        found = self.find_client(name)
        if found is None:
            names = [c.name for c in self.clients()]
            close = _close_names(name, names)
            if close:
                raise UnknownRecord(f"no client named {name!r}; did you mean {' or '.join(map(repr, close))}? "
                                    f"(a new client: coach clients add {name!r})")
            known = ", ".join(names) or "none yet"
            raise UnknownRecord(f"no client named {name!r} (clients: {known}); add one with: coach clients add {name!r}")
        return found

    def client_by_id(self, client_id: str) -> Client | None:
        """The client with this id, or None."""
        doc = self.db.get(CLIENTS, client_id)
        return None if doc is None else Client.from_dict(doc)

    # placements
    def placements(self, client_id: str) -> list[Placement]:
        """The client's current sensor placements (empty until first saved)."""
        doc = self.db.get(PLACEMENTS, client_id)
        return [] if doc is None else [Placement.from_dict(p) for p in doc["placements"]]

    def save_placements(self, client_id: str, placements: list[Placement]) -> None:
        """Remember where each sensor sits on this client."""
        self.db.upsert(PLACEMENTS, {"id": client_id, "placements": [p.to_dict() for p in placements]})

    # what the trainer set for the next sets
    def set_choices(self, client_id: str) -> SetChoices:
        """The exercise, load and cue of the client's next sets (as last set, else none)."""
        doc = self.db.get(SET_CHOICES, client_id)
        return SetChoices() if doc is None else SetChoices.from_dict(doc)

    def save_set_choices(self, client_id: str, choices: SetChoices) -> None:
        """Keep the exercise, load and cue for the client's next sets until they are changed."""
        self.db.upsert(SET_CHOICES, {"id": client_id, **choices.to_dict()})

    # calibrations
    def add_calibration(self, calibration: Calibration) -> None:
        """Store one muscle side's calibration."""
        self.db.insert(CALIBRATIONS, calibration.to_dict())

    def calibrations(self, client_id: str) -> list[Calibration]:
        """Every calibration of a client, oldest first."""
        found = [Calibration.from_dict(doc) for doc in self.db.find(CALIBRATIONS, client_id=client_id)]
        return sorted(found, key=lambda c: c.recorded)

    def latest_calibrations(self, client_id: str) -> dict[str, Calibration]:
        """The newest calibration per ``muscle:side`` of a client."""
        latest: dict[str, Calibration] = {}
        for calibration in self.calibrations(client_id):
            if calibration.key not in latest or calibration.recorded > latest[calibration.key].recorded:
                latest[calibration.key] = calibration
        return latest

    # sessions and sets
    def save_session(self, session: Session) -> None:
        """Insert or replace a session."""
        self.db.upsert(SESSIONS, session.to_dict())

    def save_set(self, record: SetRecord) -> None:
        """Insert or replace a set."""
        self.db.upsert(SETS, record.to_dict())

    def sessions(self, client_id: str | None = None) -> list[Session]:
        """Sessions (of one client, or all), oldest first."""
        docs = self.db.find(SESSIONS, client_id=client_id) if client_id else self.db.all(SESSIONS)
        return sorted((Session.from_dict(d) for d in docs), key=lambda s: s.started)

    def session(self, session_id: str) -> Session:
        """One session, or ``UnknownRecord`` saying how to list them."""
        doc = self.db.get(SESSIONS, session_id)
        if doc is None:
            raise UnknownRecord(f"no session {session_id!r}; list them with: coach sessions")
        return Session.from_dict(doc)

    def sets(self, session_id: str) -> list[SetRecord]:
        """The sets of a session, in order (a set saved before its metrics were versioned reads version 1)."""
        found = (SetRecord.from_dict({"metrics_version": 1, **d}) for d in self.db.find(SETS, session_id=session_id))
        return sorted(found, key=lambda s: s.index)

    # A/B tests
    def save_abtest(self, test: ABTest) -> None:
        """Insert or replace an A/B test: its plan, the reps collected so far and the verdict."""
        self.db.upsert(ABTESTS, test.to_dict())

    def abtests(self, client_id: str) -> list[ABTest]:
        """A client's A/B tests, oldest first."""
        return sorted((ABTest.from_dict(d) for d in self.db.find(ABTESTS, client_id=client_id)), key=lambda t: t.created)

    def abtest(self, test_id: str) -> ABTest:
        """One A/B test, or ``UnknownRecord`` saying where to find them."""
        doc = self.db.get(ABTESTS, test_id)
        if doc is None:
            raise UnknownRecord(f"no A/B test {test_id!r}; a client's A/B tests are listed in their history")
        return ABTest.from_dict(doc)
