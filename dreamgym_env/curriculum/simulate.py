"""A scripted learner for checking task selection without an agent or a model.

Each task has a difficulty ``d``; the learner solves it with probability
``sigmoid((skill - d) / temperature)``, and its skill grows linearly over rounds. A curriculum run
plans each round from the pool by reward variance and asks a scripted "model" for harder variations
of the top tasks; a uniform run samples the static seed tasks uniformly. Used by the tests and by
``benchmarks/curriculum_plot.py``.
"""

from __future__ import annotations

import math
import random
import re
from collections.abc import Sequence
from dataclasses import dataclass

from dreamgym_env.curriculum.config import CurriculumConfig
from dreamgym_env.curriculum.curriculum import Curriculum
from dreamgym_env.curriculum.pool import TaskPool
from dreamgym_env.domain import Domain, TaskCheck
from dreamgym_env.model.base import ModelReply, ModelRequest
from dreamgym_env.types import Task

_D = re.compile(r"^reach level (\d+(?:\.\d+)?)$")


def sim_task(d: float) -> Task:
    """A task of difficulty ``d``."""
    text = f"reach level {d:.3f}"
    return Task(task_id=f"sim-{d:.3f}", domain="sim", instruction=text, initial_observation=text,
                meta={"difficulty": round(d, 3)})


class SimDomain(Domain):
    """A tiny domain whose tasks are difficulties; generated ones must parse and stay <= ``max_level``."""

    name = "sim"

    def __init__(self, n_tasks: int = 40, max_level: float = 2.0) -> None:
        self._tasks = tuple(sim_task(i / n_tasks) for i in range(n_tasks))
        self.max_level = max_level

    def tasks(self, split: str = "train") -> Sequence[Task]:
        return self._tasks if split == "train" else ()

    def check_generated_task(self, instruction: str, parent: Task) -> TaskCheck:
        m = _D.match(instruction.strip())
        if not m:
            return TaskCheck(None, "ungrammatical", "not 'reach level X'")
        d = float(m.group(1))
        if d > self.max_level:
            return TaskCheck(None, "infeasible", f"level {d} > {self.max_level}")
        return TaskCheck(sim_task(d))


class VariationScript:
    """A scripted stand-in for the experience model: proposes slightly harder levels, selects all but the easiest."""

    name = "variation-script"

    def __init__(self, steps: Sequence[float] = (0.02, 0.06, 0.1, 0.14)) -> None:
        self.steps = tuple(steps)

    def generate(self, requests: Sequence[ModelRequest]) -> list[ModelReply]:
        out = []
        for r in requests:
            user = r.messages[-1]["content"]
            if "Candidates:" in user:
                n = len(re.findall(r"^\d+\. ", user, re.MULTILINE))
                picks = ", ".join(str(i) for i in range(2, n + 1))  # drops the easiest
                out.append(ModelReply(f"SELECTION: [{picks}]\nREASONING: the harder ones are still feasible."))
                continue
            m = re.search(r"reach level (\d+(?:\.\d+)?)", user)
            d = float(m.group(1)) if m else 0.0
            out.append(ModelReply("\n".join(f"{i}. reach level {d + s:.3f}" for i, s in enumerate(self.steps, 1))))
        return out

    def close(self) -> None:
        """Nothing to release."""


@dataclass(frozen=True)
class LearnerConfig:
    """The scripted learner and the run length."""

    rounds: int = 30
    skill_start: float = -0.2
    skill_end: float = 1.6
    temperature: float = 0.08

    def skill(self, round_index: int) -> float:
        """Skill at a round (linear growth)."""
        frac = round_index / max(self.rounds - 1, 1)
        return self.skill_start + frac * (self.skill_end - self.skill_start)

    def p_success(self, difficulty: float, round_index: int) -> float:
        """Probability of solving a task of this difficulty at this round."""
        return 1.0 / (1.0 + math.exp(-(self.skill(round_index) - difficulty) / self.temperature))


def run(mode: str, learner: LearnerConfig | None = None, config: CurriculumConfig | None = None,
        seed: int = 0, generate: bool = True) -> list[list[float]]:
    """Runs ``"curriculum"`` or ``"uniform"``; returns, per round, each chosen task's success rate."""
    learner = learner or LearnerConfig()
    config = config or CurriculumConfig(group_size=8, tasks_per_round=8, seeds_per_round=4, variations_per_seed=4,
                                        lambda_generated=0.75)
    rng = random.Random(seed)
    domain = SimDomain()
    pool = TaskPool(domain.name)
    pool.add_tasks(domain.tasks())
    cur = Curriculum(domain, pool, config)
    model = VariationScript()
    per_round: list[list[float]] = []
    for r in range(learner.rounds):
        if mode == "curriculum":
            plan = cur.plan_round(rng)
            chosen = list(dict.fromkeys(plan))
        elif mode == "uniform":
            chosen = [t.task_id for t in rng.sample(list(domain.tasks()), config.tasks_per_round)]
        else:
            raise ValueError(f"mode must be 'curriculum' or 'uniform', got {mode!r}")
        rates = []
        for tid in chosen:
            p = learner.p_success(float(pool[tid].task.meta["difficulty"]), r)
            rewards = [1.0 if rng.random() < p else 0.0 for _ in range(config.group_size)]
            for x in rewards:
                cur.record_episode(tid, x)
            rates.append(sum(rewards) / len(rewards))
        per_round.append(rates)
        if mode == "curriculum" and generate:
            cur.evolve(model, rng)
    return per_round
