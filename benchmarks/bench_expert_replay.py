"""Episode-level fidelity: replay the real engine's expert episodes in DreamGym-ALFWorld.

The expert solves every generated ALFWorld problem. Its action sequence is recorded in the real
engine (``ALFWorld-Real-v0``), then played open-loop in ``DreamGym-ALFWorld-v0`` on the same task.
A faithful experience model rewards the episode at the expert's last step. This separates the
experience model's fidelity from any learner: if the dream env rarely rewards the expert, no policy
trained in it can learn the task from its reward (the sim-to-real benchmark's condition (b)).

Per episode we record the dream env's rewards, where it terminated, and whether its reward came at
the real success step. Conditions: with retrieval (k=3, the default) and without (k=0).

    python benchmarks/bench_expert_replay.py --episodes 40 --json benchmarks/results/expert_replay.json
    python benchmarks/bench_expert_replay.py --quick
"""

from __future__ import annotations

import argparse
import random
import sys
import time
import zlib
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
from tqdm.auto import tqdm

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import (
    add_output_args,
    add_server_args,
    finish,
    markdown_table,
    provenance,
    server_options,
    vllm_server,
)

import dreamgym_env  # noqa: F401  (registers the envs)
from dreamgym_env.domain import get_domain
from dreamgym_env.types import Task


def expert_episode(task: Task, max_steps: int) -> dict[str, Any]:
    """Plays the expert in the real engine; returns its actions and the real per-step rewards."""
    env = gym.make("ALFWorld-Real-v0", max_episode_steps=max_steps)
    try:
        _, info = env.reset(options={"task": task})
        actions: list[str] = []
        rewards: list[float] = []
        terminated = False
        while not terminated and len(actions) < max_steps:
            action = str(info.get("expert_action") or "look")
            _, reward, terminated, truncated, info = env.step(action)
            actions.append(action)
            rewards.append(float(reward))
            if truncated:
                break
        return {"task_id": task.task_id, "actions": actions, "real_rewards": rewards,
                "real_success": bool(terminated and rewards and rewards[-1] > 0)}
    finally:
        env.close()


def replay(env: gym.Env, task: Task, actions: Sequence[str]) -> dict[str, Any]:
    """Plays ``actions`` open-loop in a DreamGym env (seeded from the task id, so a run replays); returns its
    rewards and where it ended."""
    env.reset(seed=zlib.crc32(task.task_id.encode()), options={"task": task})
    rewards: list[float] = []
    end = None
    for i, action in enumerate(actions):
        _, reward, terminated, truncated, _ = env.step(action)
        rewards.append(float(reward))
        if terminated or truncated:
            end = i
            break
    last = len(actions) - 1
    first_reward = next((i for i, r in enumerate(rewards) if r > 0), None)
    return {"dream_rewards": rewards, "dream_end_step": end, "first_reward_step": first_reward,
            "rewarded": first_reward is not None,
            "rewarded_at_real_success": first_reward == last,
            "ended_early": end is not None and end < last,
            "success": end == last and rewards[-1] > 0}


def replay_one(job: tuple[list[gym.Env], dict[str, Any], Task, tqdm]) -> dict[str, Any]:
    """Replays one expert episode on a free env of the shared list (one worker thread per env)."""
    free, expert, task, bar = job
    env = free.pop()
    try:
        return {**expert, **replay(env, task, expert["actions"])}
    finally:
        free.append(env)
        bar.update(1)


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    """Runs the probe; returns the results."""
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--episodes", type=int, default=40)
    p.add_argument("--split", default="test", help="task split (test = unseen layouts)")
    p.add_argument("--task-type", default="pick_and_place_simple", help="'all' for every type")
    p.add_argument("--max-steps", type=int, default=30)
    p.add_argument("--parallel", type=int, default=16)
    p.add_argument("--retrieval", default="3,0", help="retrieval k values to compare")
    p.add_argument("--seed", type=int, default=0)
    add_server_args(p)
    add_output_args(p)
    p.set_defaults(model="default-alfworld", kv_cache_gib=2, max_model_len=2048)
    args = p.parse_args(argv)
    ks = [int(k) for k in args.retrieval.split(",")]
    if args.quick:
        args.episodes, args.parallel, ks = 4, 4, ks[:1]
    tasks = [t for t in get_domain("alfworld").tasks(args.split)
             if args.task_type == "all" or t.meta.get("task_type") == args.task_type]
    random.Random(args.seed).shuffle(tasks)
    tasks = [tasks[i % len(tasks)] for i in range(args.episodes)]
    experts = [expert_episode(t, args.max_steps) for t in tqdm(tasks, desc="expert (real engine)")]
    result: dict[str, Any] = {"provenance": provenance(), "config": vars(args), "conditions": []}
    with vllm_server(server_options(args)) as info:
        result["server"] = info
        for k in ks:
            envs = [gym.make("DreamGym-ALFWorld-v0", base_url=info["base_url"], model=info.get("model"),
                             retrieval_k=k, max_episode_steps=args.max_steps) for _ in range(args.parallel)]
            t0 = time.perf_counter()
            with tqdm(total=len(tasks), desc=f"replay in DreamGym (k={k})") as bar, \
                    ThreadPoolExecutor(max_workers=args.parallel) as ex:
                eps = list(ex.map(replay_one, [(envs, experts[i], tasks[i], bar) for i in range(len(tasks))]))
            for env in envs:
                env.close()
            n = len(eps)
            cond = {"retrieval_k": k, "episodes": eps, "seconds": round(time.perf_counter() - t0, 1),
                    "steps": sum(len(e["dream_rewards"]) for e in eps),
                    "real_success": sum(e["real_success"] for e in eps) / n,
                    "rewarded": sum(e["rewarded"] for e in eps) / n,
                    "rewarded_at_real_success": sum(e["rewarded_at_real_success"] for e in eps) / n,
                    "ended_early": sum(e["ended_early"] for e in eps) / n,
                    "success": sum(e["success"] for e in eps) / n,
                    "mean_expert_steps": float(np.mean([len(e["actions"]) for e in eps]))}
            result["conditions"].append(cond)
            print(f"k={k}: dream success {cond['success']:.3f}, rewarded {cond['rewarded']:.3f}, "
                  f"ended early {cond['ended_early']:.3f} ({cond['seconds']} s)", flush=True)
    table = markdown_table(
        ["retrieval k", "episodes", "expert steps (mean)", "real success",
         "dream env: success at the expert's last step", "any reward", "ended before the expert's last step", "s"],
        [[c["retrieval_k"], len(c["episodes"]), c["mean_expert_steps"], c["real_success"], c["success"],
          c["rewarded"], c["ended_early"], c["seconds"]] for c in result["conditions"]])

    def plot(path: Path) -> None:
        import matplotlib.pyplot as plt

        conds = result["conditions"]
        names = ["success at the expert's last step", "any reward", "ended early"]
        keys = ["success", "rewarded", "ended_early"]
        fig, ax = plt.subplots(figsize=(7, 4))
        width = 0.8 / len(conds)
        for j, c in enumerate(conds):
            ax.bar([i + j * width for i in range(len(keys))], [c[k] for k in keys], width,
                   label=f"retrieval k={c['retrieval_k']}")
        ax.set_xticks([i + width * (len(conds) - 1) / 2 for i in range(len(keys))], names)
        ax.set_ylim(0, 1)
        ax.set_ylabel(f"share of {len(conds[0]['episodes'])} expert episodes")
        ax.set_title("Real expert episodes replayed in DreamGym-ALFWorld (real success = 1.0)")
        ax.legend()
        fig.tight_layout()
        fig.savefig(path, dpi=120)

    finish(result, table, args.json, plot=None if args.no_plot else plot)
    return result


if __name__ == "__main__":
    main()
