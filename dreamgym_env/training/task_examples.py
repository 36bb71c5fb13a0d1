"""SFT examples that teach the experience model the curriculum's two prompts.

DreamGym uses one model for transitions and for task generation. A model trained only on
transitions does not follow the task-generation prompt (measured: the first trained ALFWorld default
answered it with transition fragments; none of its 12 replies per domain held a list,
``benchmarks/results/curriculum_generation.json``). These examples use the exact
prompts of :mod:`dreamgym_env.curriculum.generation`:

* **generation**: a seed task -> a numbered list of valid variations, from the domain's
  :meth:`~dreamgym_env.domain.Domain.reference_variations` (instances of its task grammar that its
  feasibility check accepts);
* **selection**: a seed task and numbered candidates, some valid and some not (other tasks'
  instructions that the check rejects for this seed) -> ``SELECTION: [the valid ones]`` and a
  ``REASONING:`` line that names why the others are infeasible.
"""

from __future__ import annotations

import random
from collections import Counter
from typing import Any

from dreamgym_env.curriculum.config import CurriculumConfig
from dreamgym_env.curriculum.generation import generation_request, numbered, selection_request
from dreamgym_env.domain import Domain
from dreamgym_env.types import Task


def _example(messages: Any, target: str) -> dict[str, Any]:
    return {"prompt": [dict(m) for m in messages], "completion": [{"role": "assistant", "content": target}]}


def generation_example(domain: Domain, parent: Task, config: CurriculumConfig, rng: random.Random) -> dict | None:
    """One generation example, or ``None`` when the domain knows no variation of ``parent``."""
    valid = domain.reference_variations(parent, rng, limit=config.variations_per_seed)
    if not valid:
        return None
    return _example(generation_request(domain, parent, config).messages, numbered(valid))


def selection_example(domain: Domain, parent: Task, pool: list[Task], config: CurriculumConfig,
                      rng: random.Random) -> dict | None:
    """One selection example mixing valid variations with infeasible candidates, or ``None``."""
    k = config.variations_per_seed
    valid = domain.reference_variations(parent, rng, limit=k)
    n_bad = rng.randint(1, max(1, k // 2))
    bad: list[tuple[str, str]] = []
    for other in rng.sample(pool, min(len(pool), 8 * n_bad)):
        if len(bad) >= n_bad:
            break
        check = domain.check_generated_task(other.instruction, parent)
        if check.task is None and other.instruction != parent.instruction:
            bad.append((other.instruction, check.detail))
    good = valid[: max(1, k - len(bad))]
    if not good or not bad:
        return None
    cands = [(c, "") for c in good] + bad
    rng.shuffle(cands)
    keep = [i for i, (_, why) in enumerate(cands, 1) if not why]
    reasons = "; ".join(f"{i} is infeasible ({why.replace('parent', 'original task')})"
                        for i, (_, why) in enumerate(cands, 1) if why)
    target = f"SELECTION: [{', '.join(map(str, keep))}]\nREASONING: {reasons}."
    return _example(selection_request(domain, parent, [c for c, _ in cands], config).messages, target)


def task_generation_examples(domain: Domain, n: int, config: CurriculumConfig | None = None, seed: int = 0,
                             split: str = "train", selection_share: float = 0.5) -> tuple[list[dict], Counter]:
    """``n`` examples over the domain's ``split`` tasks (``selection_share`` of them selection examples).

    Returns:
        The examples (``prompt``/``completion`` chat lists, as :func:`build_examples` makes) and
        counts by kind (``generation``, ``selection``, ``skipped``: seeds with no usable variation).
    """
    config = config or CurriculumConfig()
    rng = random.Random(seed)
    pool = list(domain.tasks(split))
    counts: Counter = Counter()
    out: list[dict] = []
    if not pool:
        return out, counts
    for _ in range(4 * n):
        if len(out) >= n:
            break
        parent = rng.choice(pool)
        kind = "selection" if rng.random() < selection_share else "generation"
        ex = (selection_example(domain, parent, pool, config, rng) if kind == "selection"
              else generation_example(domain, parent, config, rng))
        if ex is None:
            counts["skipped"] += 1
            continue
        counts[kind] += 1
        out.append(ex)
    return out, counts
