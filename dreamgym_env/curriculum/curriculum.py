"""Curriculum: plans each round's training tasks from the pool and feeds rewards back into it."""

from __future__ import annotations

import collections
import random
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from dreamgym_env.curriculum.config import CurriculumConfig
from dreamgym_env.curriculum.generation import GenerationReport, TaskGenerator
from dreamgym_env.curriculum.pool import TaskPool
from dreamgym_env.curriculum.value import task_value, top_k
from dreamgym_env.domain import Domain
from dreamgym_env.error import InvalidConfigError
from dreamgym_env.model.base import ExperienceModel
from dreamgym_env.types import Task

_MAX_REMEMBERED_EPISODES = 100_000


class Curriculum:
    """Reward-variance task selection over a :class:`TaskPool`, with LLM-generated variations.

    A round's plan holds ``tasks_per_round`` tasks, each ``group_size`` times (one group of rollouts
    per task, as in GRPO); at most ``lambda_generated`` of the tasks are generated ones. Envs draw
    tasks with :meth:`next_task` and report returns with :meth:`record_episode`; both are thread-safe.
    """

    def __init__(self, domain: Domain, pool: TaskPool, config: CurriculumConfig | None = None,
                 path: str | Path | None = None) -> None:
        """Args:
            domain: The pool's domain.
            pool: The tasks.
            config: Selection and generation settings.
            path: Where the pool is saved (``None``: in memory only).
        """
        if pool.domain != domain.name:
            raise InvalidConfigError(f"pool is for domain {pool.domain!r}, not {domain.name!r}")
        self.domain = domain
        self.pool = pool
        self.config = config or CurriculumConfig()
        self.path = Path(path) if path is not None else None
        self._queue: collections.deque[str] = collections.deque()
        self._seen: collections.OrderedDict[str, None] = collections.OrderedDict()
        self._lock = threading.RLock()
        self._dirty = False

    # ----- construction --------------------------------------------------------------------------
    @classmethod
    def open(cls, path: str | Path, domain: Domain, config: CurriculumConfig | None = None,
             split: str = "train") -> Curriculum:
        """Loads the pool at ``path``, or creates it from the domain's ``split`` tasks when absent.

        Raises :class:`~dreamgym_env.curriculum.pool.CurriculumPoolError` on a corrupt file.
        """
        path = Path(path)
        if path.exists():
            pool = TaskPool.load(path, domain.name)
        else:
            pool = TaskPool(domain.name)
            pool.add_tasks(domain.tasks(split), origin="seed")
            if not len(pool):
                raise InvalidConfigError(f"domain {domain.name!r} has no {split!r} tasks to seed a curriculum")
            pool.save(path)
        return cls(domain, pool, config, path)

    # ----- selection -----------------------------------------------------------------------------
    def value(self, task_id: str) -> float:
        """The task's current value (variance of its last group, or the exploration bonus)."""
        return task_value(self.pool[task_id], self.pool.round, self.config)

    def plan_round(self, rng: random.Random | None = None) -> list[str]:
        """Starts a new round: picks the top-valued tasks under the lambda cap; returns the plan's task ids."""
        rng = rng or random.Random()
        cfg = self.config
        with self._lock:
            if self._dirty:
                self.save()  # the finished round's rewards, once per round (a save rewrites the whole pool)
            self.pool.round += 1
            ranked = top_k(list(self.pool), len(self.pool), self.pool.round, cfg, rng)
            max_generated = int(cfg.lambda_generated * cfg.tasks_per_round)
            chosen, n_gen = [], 0
            for e in ranked:
                if len(chosen) == cfg.tasks_per_round:
                    break
                if e.origin == "generated":
                    if n_gen >= max_generated:
                        continue
                    n_gen += 1
                chosen.append(e.task_id)
            plan = [tid for tid in chosen for _ in range(cfg.group_size)]
            rng.shuffle(plan)
            self._queue = collections.deque(plan)
            return plan

    def next_task(self, rng: random.Random | np.random.Generator | None = None) -> Task:
        """The next task of the current round's plan (planning a new round when it is used up)."""
        with self._lock:
            if not self._queue:
                if isinstance(rng, np.random.Generator):
                    rng = random.Random(int(rng.integers(2**62)))
                self.plan_round(rng)
            return self.pool[self._queue.popleft()].task

    # ----- feedback ------------------------------------------------------------------------------
    def record_episode(self, task_id: str, reward: float, episode_id: str | None = None) -> bool:
        """Adds one rollout's return to the task's group; each ``episode_id`` counts once.

        The pool is saved at the start of the next round, by :meth:`evolve` and by the env's ``close``.
        Returns whether the reward was recorded.
        """
        with self._lock:
            if episode_id is not None:
                if episode_id in self._seen:
                    return False
                self._seen[episode_id] = None
                if len(self._seen) > _MAX_REMEMBERED_EPISODES:
                    self._seen.popitem(last=False)
            if task_id not in self.pool:
                return False
            self.pool.record(task_id, reward, self.config.group_size)
            self._dirty = True
            return True

    # ----- generation ----------------------------------------------------------------------------
    def evolve(self, model: ExperienceModel, rng: random.Random | None = None,
               keep: Callable[[Task], bool] | None = None) -> GenerationReport:
        """Asks ``model`` for variations of the top ``seeds_per_round`` tasks and adds the accepted ones.

        Args:
            model: Writes and selects the variations.
            rng: Breaks ties between equally valued seeds and seeds the model's sampling; the default
                (fresh randomness) makes every call sample anew.
            keep: Optional filter on valid generated tasks (e.g. only the task types a learner trains
                on); the tasks it refuses are counted as rejected with reason ``"filtered"``.
        """
        rng = rng or random.Random()
        with self._lock:
            seeds = [e.task for e in top_k(list(self.pool), self.config.seeds_per_round, self.pool.round,
                                           self.config, rng)]
            known = self.pool.instructions()
        report = TaskGenerator(self.domain, model, self.config).generate(seeds, known, rng.randrange(2**31))
        if keep is not None:
            kept = []
            for task, parent in report.accepted:
                if keep(task):
                    kept.append((task, parent))
                else:
                    report.reject("filtered", task.instruction, "refused by the keep filter")
            report.accepted = kept
        with self._lock:
            for task, parent in report.accepted:
                self.pool.add_tasks([task], origin="generated", parent=parent)
            self.save()
        return report

    # ----- persistence and stats -----------------------------------------------------------------
    def save(self) -> None:
        """Writes the pool to its path (no-op for an in-memory curriculum)."""
        with self._lock:
            if self.path is not None:
                self.pool.save(self.path)
            self._dirty = False

    def summary(self) -> dict[str, Any]:
        """Pool size by origin, round, and how many tasks have data."""
        with self._lock:
            entries = list(self.pool)
            return {"round": self.pool.round, "tasks": len(entries),
                    "generated": sum(e.origin == "generated" for e in entries),
                    "with_groups": sum(bool(e.groups) for e in entries)}


_open: dict[tuple[str, str], Curriculum] = {}
_open_lock = threading.Lock()


def shared_curriculum(path: str | Path, domain: Domain, split: str = "train",
                      config: CurriculumConfig | None = None) -> Curriculum:
    """The process-wide curriculum for a pool file (envs of one process share one pool)."""
    key = (str(Path(path).resolve()), domain.name)
    with _open_lock:
        cur = _open.get(key)
        if cur is None:
            cur = Curriculum.open(path, domain, config, split)
            _open[key] = cur
        return cur


def forget_shared_curricula() -> None:
    """Drops the process-wide cache (tests; or to reload a pool edited by another process)."""
    with _open_lock:
        _open.clear()
