"""Collects offline trajectories from a domain's real/reference environment with a scripted policy.

The loop is domain-agnostic. It relies on this contract of a domain's real environment
(``Domain.real_env_id``, a ``gym.Env[str, str]``):

* ``reset(seed=..., options={"task": Task})`` plays that task; ``info["task_id"]`` names it.
* ``step`` returns in ``info``: ``"reasoning"`` (why the transition happened, computed from the
  engine's own facts), ``"valid"`` (was the action admissible), ``"admissible_actions"`` (when the
  domain has them) and ``"action_error"`` (``None`` or why the action was rejected).
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import gymnasium as gym

from dreamgym_env.domain import Domain, get_domain
from dreamgym_env.types import Task, Transition, stable_id, write_jsonl


@dataclass(frozen=True)
class CollectConfig:
    """What to collect.

    Attributes:
        domain: Domain name.
        policies: Policy names with their weights, e.g. ``(("expert", 0.6), ("noisy", 0.3), ("random", 0.1))``.
        episodes: Number of episodes.
        split: Task split to draw tasks from.
        seed: Seed for task order, policy choice and the env.
        max_steps: Step limit per episode (defaults to the domain's).
    """

    domain: str
    policies: tuple[tuple[str, float], ...] = (("expert", 0.6), ("noisy", 0.3), ("random", 0.1))
    episodes: int = 10
    split: str = "train"
    seed: int = 0
    max_steps: int | None = None


def run_episode(env: gym.Env, domain: Domain, task: Task, policy_name: str, seed: int,
                max_steps: int) -> list[Transition]:
    """Plays one episode of ``task`` with a named policy and returns its transitions."""
    policy = domain.make_policy(policy_name, seed=seed)
    obs, info = env.reset(seed=seed, options={"task": task})
    policy.reset(obs, info)
    episode_id = stable_id(domain.name, task.task_id, policy_name, seed)
    out: list[Transition] = []
    for t in range(max_steps):
        action = policy.act(obs, info)
        next_obs, reward, terminated, truncated, next_info = env.step(action)
        out.append(
            Transition(
                domain=domain.name, task_id=task.task_id, instruction=task.instruction, state=obs,
                action=action, next_state=next_obs, reward=float(reward), done=bool(terminated),
                reasoning=str(next_info.get("reasoning", "")), valid=next_info.get("valid"),
                episode_id=episode_id, step=t, source="real",
                meta={"policy": policy_name,
                      "admissible_actions": list(info.get("admissible_actions") or [])},
            )
        )
        obs, info = next_obs, next_info
        if terminated or truncated:
            break
    return out


def collect(config: CollectConfig, progress: bool = True) -> Iterator[Transition]:
    """Yields transitions of ``config.episodes`` episodes, with a progress bar."""
    from tqdm.auto import tqdm

    domain = get_domain(config.domain)
    if domain.real_env_id is None:
        raise NotImplementedError(f"domain {config.domain!r} has no real environment to collect from")
    tasks: Sequence[Task] = domain.tasks(config.split)
    if not tasks:
        raise ValueError(f"domain {config.domain!r} has no tasks in split {config.split!r}")
    rng = random.Random(config.seed)
    names = [n for n, _ in config.policies]
    weights = [w for _, w in config.policies]
    max_steps = config.max_steps or domain.max_episode_steps
    env = gym.make(domain.real_env_id).unwrapped
    try:
        for ep in tqdm(range(config.episodes), desc=f"collect {config.domain}", disable=not progress):
            task = tasks[rng.randrange(len(tasks))]
            name = rng.choices(names, weights)[0]
            yield from run_episode(env, domain, task, name, config.seed * 1_000_003 + ep, max_steps)
    finally:
        env.close()


def collect_to_file(config: CollectConfig, out: str | Path, progress: bool = True) -> int:
    """Collects transitions into a ``.jsonl`` file. Returns how many were written."""
    return write_jsonl(out, (t.to_dict() for t in collect(config, progress=progress)))
