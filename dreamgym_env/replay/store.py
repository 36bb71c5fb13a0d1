"""A persistent, crash-safe transition store in SQLite.

SQLite in WAL mode with ``synchronous=FULL`` commits each batch atomically and durably: a crash
loses at most the batch being written, never a committed one, and never leaves a half row.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

from dreamgym_env.error import ReplayStoreError
from dreamgym_env.types import Transition

_SCHEMA = """
CREATE TABLE IF NOT EXISTS transitions (
    rowid INTEGER PRIMARY KEY,
    uid TEXT UNIQUE NOT NULL,
    domain TEXT NOT NULL,
    source TEXT NOT NULL,
    record TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS transitions_domain ON transitions(domain, rowid);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""


class TransitionStore:
    """Transitions in one SQLite file (or in memory with ``path=None``).

    Row ids are stable and are the ids the vector index uses. Adding a transition whose ``uid`` is
    already stored is a no-op that returns the existing row id (so replays never duplicate).
    """

    def __init__(self, path: str | Path | None = None) -> None:
        self.path = Path(path) if path is not None else None
        if self.path is not None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self._db = sqlite3.connect(str(self.path) if self.path else ":memory:", check_same_thread=False,
                                       timeout=30.0)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.executescript(_SCHEMA)
        except sqlite3.DatabaseError as e:
            raise ReplayStoreError(
                f"Cannot open the transition store {self.path}: {e}. If the file is not a dreamgym store, "
                "choose another replay_path; if it is corrupt, restore it or delete it to start anew."
            ) from e
        self._lock = threading.Lock()

    def add(self, transitions: Iterable[Transition]) -> list[int]:
        """Stores transitions in one transaction; returns their row ids (existing ones for known uids)."""
        items = list(transitions)
        ids: list[int] = []
        with self._lock, self._db:
            for t in items:
                cur = self._db.execute(
                    "INSERT OR IGNORE INTO transitions(uid, domain, source, record) VALUES (?, ?, ?, ?)",
                    (t.uid, t.domain, t.source, json.dumps(t.to_dict(), ensure_ascii=False)),
                )
                if cur.rowcount == 1:
                    ids.append(int(cur.lastrowid))
                else:
                    ids.append(int(self._db.execute("SELECT rowid FROM transitions WHERE uid=?", (t.uid,)).fetchone()[0]))
        return ids

    def get(self, rowids: Sequence[int]) -> list[Transition]:
        """Returns the transitions with these row ids, in order."""
        if not rowids:
            return []
        with self._lock:
            q = f"SELECT rowid, record FROM transitions WHERE rowid IN ({','.join('?' * len(rowids))})"
            found = {r: rec for r, rec in self._db.execute(q, [int(i) for i in rowids])}
        missing = [i for i in rowids if int(i) not in found]
        if missing:
            raise ReplayStoreError(f"Rows {missing[:5]} are in the index but not in the store: rebuild the index.")
        return [Transition.from_dict(json.loads(found[int(i)]), f"{self.path}:{i}") for i in rowids]

    def count(self, domain: str | None = None) -> int:
        """Number of stored transitions (of one domain, or all)."""
        with self._lock:
            if domain is None:
                return int(self._db.execute("SELECT COUNT(*) FROM transitions").fetchone()[0])
            return int(self._db.execute("SELECT COUNT(*) FROM transitions WHERE domain=?", (domain,)).fetchone()[0])

    def rowids(self, domain: str) -> list[int]:
        """Row ids of one domain, ascending (what its vector index must hold)."""
        with self._lock:
            return [int(r[0]) for r in self._db.execute(
                "SELECT rowid FROM transitions WHERE domain=? ORDER BY rowid", (domain,))]

    def integrity_check(self) -> str:
        """SQLite's ``PRAGMA integrity_check`` (``"ok"`` for a sound file)."""
        with self._lock:
            return str(self._db.execute("PRAGMA integrity_check").fetchone()[0])

    def domains(self) -> list[str]:
        """Domains present in the store."""
        with self._lock:
            return [r[0] for r in self._db.execute("SELECT DISTINCT domain FROM transitions ORDER BY domain")]

    def iter_domain(self, domain: str, batch: int = 1024) -> Iterator[tuple[int, Transition]]:
        """Yields ``(rowid, transition)`` of one domain in row order."""
        last = 0
        while True:
            with self._lock:
                rows = self._db.execute(
                    "SELECT rowid, record FROM transitions WHERE domain=? AND rowid>? ORDER BY rowid LIMIT ?",
                    (domain, last, batch),
                ).fetchall()
            if not rows:
                return
            for rowid, rec in rows:
                yield int(rowid), Transition.from_dict(json.loads(rec), f"{self.path}:{rowid}")
            last = int(rows[-1][0])

    def get_meta(self, key: str) -> str | None:
        """Reads a store-level setting."""
        with self._lock:
            row = self._db.execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
        return row[0] if row else None

    def set_meta(self, key: str, value: str) -> None:
        """Writes a store-level setting."""
        with self._lock, self._db:
            self._db.execute("INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)", (key, value))

    def close(self) -> None:
        """Closes the database."""
        with self._lock:
            self._db.close()
