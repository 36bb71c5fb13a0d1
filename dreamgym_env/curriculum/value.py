"""Task value: within-group reward variance, with an exploration bonus; top-k selection."""

from __future__ import annotations

import random
from collections.abc import Sequence

from dreamgym_env.curriculum.config import CurriculumConfig
from dreamgym_env.curriculum.pool import PoolEntry


def group_variance(rewards: Sequence[float]) -> float:
    """``V = 1/n sum (r_i - mean r)^2`` (population variance; 0.25 at 50% success for 0/1 rewards)."""
    n = len(rewards)
    if n == 0:
        return 0.0
    mean = sum(rewards) / n
    return sum((r - mean) ** 2 for r in rewards) / n


def task_value(entry: PoolEntry, current_round: int, config: CurriculumConfig) -> float:
    """The variance of the task's last complete group, or the exploration bonus when it has none
    (or when that group is older than ``stale_after_rounds``: the policy has changed since)."""
    if not entry.groups:
        return config.exploration_bonus
    if config.stale_after_rounds and current_round - entry.last_round >= config.stale_after_rounds:
        return config.exploration_bonus
    return group_variance(entry.groups[-1])


def top_k(entries: Sequence[PoolEntry], k: int, current_round: int, config: CurriculumConfig,
          rng: random.Random | None = None) -> list[PoolEntry]:
    """The ``k`` highest-valued entries. Ties go to the newer task (a variation written from a recent
    high-value seed is likelier to sit at the policy's frontier than an old unseen one), then at random."""
    rng = rng or random.Random(0)
    keyed = [(task_value(e, current_round, config), e.round, rng.random(), e) for e in entries]
    keyed.sort(key=lambda x: (-x[0], -x[1], x[2]))
    return [x[-1] for x in keyed[:max(k, 0)]]
