"""TaskPool: the curriculum's tasks, their origin and lineage, and their reward history.

The pool is one JSON file, written atomically (a temp file renamed into place). A file that cannot
be read raises :class:`CurriculumPoolError` and is never overwritten.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dreamgym_env.error import DreamGymError
from dreamgym_env.types import Task

POOL_VERSION = 1
ORIGINS = ("seed", "generated")


class CurriculumPoolError(DreamGymError, RuntimeError):
    """A curriculum pool file is corrupt or does not match the domain; it is left untouched."""


@dataclass
class PoolEntry:
    """One task of the pool with its lineage and reward history.

    Attributes:
        task: The task itself.
        origin: ``"seed"`` (from the domain's task set) or ``"generated"`` (an LLM variation).
        parent: Task id of the seed it was generated from (``None`` for seeds).
        round: Curriculum round in which it entered the pool.
        groups: Completed groups of rollout rewards (each ``group_size`` long), oldest first.
        pending: Rewards of the group being filled.
        last_round: Round in which its last group completed (``-1``: never).
    """

    task: Task
    origin: str = "seed"
    parent: str | None = None
    round: int = 0
    groups: list[list[float]] = field(default_factory=list)
    pending: list[float] = field(default_factory=list)
    last_round: int = -1

    @property
    def task_id(self) -> str:
        """The task's id."""
        return self.task.task_id

    def to_dict(self) -> dict[str, Any]:
        """Returns a JSON-serialisable dict."""
        return {"task": self.task.to_dict(), "origin": self.origin, "parent": self.parent, "round": self.round,
                "groups": self.groups, "pending": self.pending, "last_round": self.last_round}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> PoolEntry:
        """Builds an entry; raises ``KeyError``/``TypeError``/``ValueError`` on a malformed one."""
        origin = str(d.get("origin", "seed"))
        if origin not in ORIGINS:
            raise ValueError(f"origin {origin!r} is not one of {ORIGINS}")
        return cls(task=Task.from_dict(d["task"]), origin=origin, parent=d.get("parent"),
                   round=int(d.get("round", 0)), groups=[[float(r) for r in g] for g in d.get("groups", [])],
                   pending=[float(r) for r in d.get("pending", [])], last_round=int(d.get("last_round", -1)))


class TaskPool:
    """An ordered, id-keyed collection of :class:`PoolEntry` with JSON persistence."""

    def __init__(self, domain: str, entries: Iterable[PoolEntry] = (), round: int = 0) -> None:
        """Args:
            domain: Domain every task belongs to.
            entries: Initial entries.
            round: The current curriculum round.
        """
        self.domain = domain
        self.round = round
        self._entries: dict[str, PoolEntry] = {}
        for e in entries:
            self.add(e)

    # ----- collection ----------------------------------------------------------------------------
    def add(self, entry: PoolEntry) -> bool:
        """Adds an entry; returns ``False`` (and keeps the old one) when its id is already in the pool."""
        if entry.task_id in self._entries:
            return False
        self._entries[entry.task_id] = entry
        return True

    def add_tasks(self, tasks: Iterable[Task], origin: str = "seed", parent: str | None = None) -> int:
        """Adds tasks as new entries of the current round; returns how many were new."""
        return sum(self.add(PoolEntry(t, origin=origin, parent=parent, round=self.round)) for t in tasks)

    def __contains__(self, task_id: object) -> bool:
        return task_id in self._entries

    def __getitem__(self, task_id: str) -> PoolEntry:
        return self._entries[task_id]

    def __iter__(self) -> Iterator[PoolEntry]:
        return iter(self._entries.values())

    def __len__(self) -> int:
        return len(self._entries)

    def instructions(self) -> set[str]:
        """Normalised instructions of every task (for duplicate checks)."""
        return {normalise(e.task.instruction) for e in self}

    def lineage(self, task_id: str) -> list[PoolEntry]:
        """The chain from the root seed to ``task_id`` (root first)."""
        chain: list[PoolEntry] = []
        seen: set[str] = set()
        cur: str | None = task_id
        while cur is not None and cur in self._entries and cur not in seen:
            seen.add(cur)
            chain.append(self._entries[cur])
            cur = self._entries[cur].parent
        return chain[::-1]

    def children(self, task_id: str) -> list[PoolEntry]:
        """Entries generated from ``task_id``."""
        return [e for e in self if e.parent == task_id]

    # ----- rewards -------------------------------------------------------------------------------
    def record(self, task_id: str, reward: float, group_size: int) -> bool:
        """Appends one rollout's reward; returns ``True`` when this closed a group.

        Rewards for tasks not in the pool (e.g. ``options["task"]``) are ignored.
        """
        e = self._entries.get(task_id)
        if e is None:
            return False
        e.pending.append(float(reward))
        if len(e.pending) >= group_size:
            e.groups.append(e.pending[:group_size])
            e.pending = e.pending[group_size:]
            e.last_round = self.round
            return True
        return False

    # ----- persistence ---------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """Returns the pool as one JSON-serialisable dict."""
        return {"version": POOL_VERSION, "domain": self.domain, "round": self.round,
                "tasks": [e.to_dict() for e in self]}

    def save(self, path: str | Path) -> None:
        """Writes the pool atomically (temp file, fsync, rename)."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        with tmp.open("w", encoding="utf-8") as f:
            json.dump(self.to_dict(), f, ensure_ascii=False)
            f.flush()
            os.fsync(f.fileno())
        tmp.replace(path)

    @classmethod
    def load(cls, path: str | Path, domain: str | None = None) -> TaskPool:
        """Reads a pool file; raises :class:`CurriculumPoolError` naming the problem (file untouched)."""
        path = Path(path)
        hint = "Fix or move the file away; it is never overwritten automatically."
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
            raise CurriculumPoolError(f"Curriculum pool {path} cannot be read ({e}). {hint}") from e
        if not isinstance(data, dict) or data.get("version") != POOL_VERSION or not isinstance(data.get("tasks"), list):
            raise CurriculumPoolError(f"Curriculum pool {path} is not a version-{POOL_VERSION} pool "
                                      f"(expected {{'version': {POOL_VERSION}, 'domain': ..., 'tasks': [...]}}). {hint}")
        if domain is not None and data.get("domain") != domain:
            raise CurriculumPoolError(f"Curriculum pool {path} belongs to domain {data.get('domain')!r}, "
                                      f"not {domain!r}. Use another path per domain.")
        entries = []
        for i, d in enumerate(data["tasks"]):
            try:
                entries.append(PoolEntry.from_dict(d))
            except (KeyError, TypeError, ValueError, AttributeError) as e:
                raise CurriculumPoolError(f"Curriculum pool {path}: task #{i} is malformed ({e!r}). {hint}") from e
        return cls(str(data.get("domain")), entries, round=int(data.get("round", 0)))


def normalise(text: str) -> str:
    """Lower-cases and collapses whitespace and trailing punctuation (for duplicate detection)."""
    return " ".join(text.lower().split()).rstrip(" .!?")


def rewards_of(groups: Sequence[Sequence[float]]) -> list[float]:
    """Flattens groups of rewards."""
    return [r for g in groups for r in g]
