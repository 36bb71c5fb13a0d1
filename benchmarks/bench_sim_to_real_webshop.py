"""Sim-to-real on WebShop: does a policy trained only in DreamGym shop well in the reference shop?

The WebShop counterpart of ``bench_sim_to_real.py``. Same policy class and the same environment-step
budget for (a) and (b):

* (a) ``real``: trained in the reference engine (``WebShop-Real-v0``) for ``--steps`` steps;
* (b) ``dreamgym``: trained only in ``DreamGym-WebShop-v0`` for ``--steps`` synthetic steps (0 real ones),
  with an experience model served by vLLM: ``--model`` is a local model folder, by default
  ``runs/gpu2/webshop`` (a 5.5M-parameter model trained for WebShop; it is a training output, not
  shipped in the repository: train one or pass another folder or alias);
* (d) ``untrained``: the initial (uniform) policy.

Training goals are the domain's train tasks; every condition is evaluated on ``--eval-episodes``
held-out real goals (the test split: upstream's first 500 goals, which the reference engine's
``split="test"`` serves) in ``WebShop-Real-v0``, over ``--seeds`` seeds (mean and spread). The figures
are the held-out mean reward (WebShop's score in [0, 1], paid at ``click[buy now]``; an episode that
never buys scores 0) and the success rate (score 1.0).

The policy is a linear softmax over goal-relative action features (``envs/webshop/features.py``:
they read only the instruction, the page text and ``info["admissible_actions"]``, so the same code
plays both envs) trained with REINFORCE on the purchase score; episodes run ``--parallel`` at a time
(concurrent model requests in the DreamGym env).

    python benchmarks/bench_sim_to_real_webshop.py --json benchmarks/results/sim_to_real_webshop.json
    python benchmarks/bench_sim_to_real_webshop.py --quick        # real engine only, seconds
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
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
from _policy import LinearPolicy
from dreamgym_env.envs.webshop.features import FEATURES, EpisodeMemory, candidate_actions

import dreamgym_env  # noqa: F401
from dreamgym_env.domain import get_domain
from dreamgym_env.types import Task

#: Every condition --conditions accepts.
CONDITIONS = ("real", "dreamgym", "untrained")

#: The experience model (b) trains in, unless --model says otherwise (a local folder; not shipped).
DEFAULT_MODEL = "runs/gpu2/webshop"


# ----- episodes -----------------------------------------------------------------------------------------
@dataclass
class Slot:
    """One env and its running episode."""

    env: gym.Env
    task: Task | None = None
    memory: EpisodeMemory | None = None
    actions: list[str] = field(default_factory=list)
    grads: list[np.ndarray] = field(default_factory=list)
    rewards: list[float] = field(default_factory=list)


def _start(slot: Slot, task: Task, seed: int) -> None:
    """Resets ``slot`` to ``task``; ``seed`` seeds the env, so a run replays from its seed (the synthetic
    env's model requests carry seeds drawn from it)."""
    obs, info = slot.env.reset(seed=seed, options={"task": task})
    admissible = info.get("admissible_actions")
    slot.task = task
    slot.memory = EpisodeMemory(task.instruction, obs, admissible)
    slot.actions = candidate_actions(task.instruction, admissible)
    slot.grads = []
    slot.rewards = []


def run_episodes(env_fn: Callable[[], gym.Env], tasks: Sequence[Task], policy: LinearPolicy, *, steps: int | None,
                 episodes: int | None, parallel: int, rng: random.Random, learn: bool, desc: str,
                 concurrent: bool = False) -> dict[str, Any]:
    """Plays episodes ``parallel`` at a time until ``steps`` env steps (or ``episodes`` episodes) are done.

    ``concurrent`` steps the envs from threads (DreamGym: concurrent model requests); the reference
    engine is stepped in turn (pure Python: the GIL leaves nothing to gain).

    Returns counts: steps, episodes, the per-episode score curve, the mean score (``mean_reward``; 0
    for an episode that never buys), the success rate (score 1.0), how often an episode bought at all
    (``buy_rate``), its mean length, and in the DreamGym env how often the model's reply could not be
    parsed (``fallback_rate``, per step; ``parse_errors``: the commonest reasons), its prompt did not fit
    the context (``prompt_shortened_rate``) or its outcome was corrected by the domain's rules
    (``outcome_corrected_rate``).
    """
    slots = [Slot(env_fn()) for _ in range(parallel)]
    if episodes is None:
        task_iter = iter(lambda: rng.choice(tasks), None)
    else:
        task_iter = iter(list(tasks)[:episodes])
    scores: list[float] = []
    bought: list[bool] = []
    lengths: list[int] = []
    fallbacks = corrected = shortened = 0
    parse_errors: Counter[str] = Counter()
    n_steps = 0
    active: list[Slot] = []
    for slot in slots:
        task = next(task_iter, None)
        if task is None:
            break
        _start(slot, task, rng.getrandbits(31))
        active.append(slot)
    total = steps if steps is not None else episodes
    bar = tqdm(total=total, desc=desc, leave=False)
    t0 = time.perf_counter()
    with ThreadPoolExecutor(max_workers=parallel) as pool:
        while active:
            chosen = []
            for slot in active:
                assert slot.memory is not None
                action, phi, expected = policy.act(slot.memory, slot.actions, rng)
                chosen.append(action)
                slot.grads.append(phi - expected)
            if concurrent:
                results = list(pool.map(lambda sa: sa[0].env.step(sa[1]), zip(active, chosen)))
            else:
                results = [slot.env.step(a) for slot, a in zip(active, chosen)]
            n_steps += len(active)
            if steps is not None:
                bar.update(len(active))
            still: list[Slot] = []
            for slot, action, (obs, reward, terminated, truncated, info) in zip(active, chosen, results):
                assert slot.memory is not None and slot.task is not None
                admissible = info.get("admissible_actions")
                slot.memory.update(action, obs, admissible)
                slot.actions = candidate_actions(slot.task.instruction, admissible)
                fallbacks += bool(info.get("fallback"))
                corrected += bool(info.get("outcome_note"))
                shortened += bool(info.get("prompt_shortened"))
                if info.get("parse_error"):
                    parse_errors[str(info["parse_error"])[:80]] += 1
                score = float(reward) if terminated else 0.0
                slot.rewards.append(score)
                if terminated or truncated:
                    scores.append(score)
                    bought.append(bool(terminated))
                    lengths.append(len(slot.rewards))
                    if learn:
                        policy.update(slot.grads, slot.rewards)
                    if steps is None:
                        bar.update(1)
                    if steps is not None and n_steps >= steps:
                        continue
                    task = next(task_iter, None)
                    if task is None:
                        continue
                    _start(slot, task, rng.getrandbits(31))
                still.append(slot)
            if steps is not None and n_steps >= steps:
                break  # unfinished episodes are dropped (no update)
            active = still
    bar.close()
    if learn:
        policy.flush()
    for slot in slots:
        slot.env.close()
    seconds = time.perf_counter() - t0
    return {"steps": n_steps, "episodes": len(scores),
            "mean_reward": float(np.mean(scores)) if scores else 0.0,
            "success_rate": float(np.mean([s >= 1.0 for s in scores])) if scores else 0.0,
            "buy_rate": float(np.mean(bought)) if bought else 0.0,
            "mean_length": float(np.mean(lengths)) if lengths else 0.0,
            "fallback_rate": fallbacks / n_steps if n_steps else 0.0,
            "outcome_corrected_rate": corrected / n_steps if n_steps else 0.0,
            "prompt_shortened_rate": shortened / n_steps if n_steps else 0.0,
            "parse_errors": dict(parse_errors.most_common(5)),
            "curve": [round(s, 4) for s in scores], "seconds": round(seconds, 1),
            "steps_per_s": round(n_steps / seconds, 2) if seconds > 0 else None}


# ----- the experiment -------------------------------------------------------------------------------------
def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--steps", type=int, default=2000, help="env steps of training for (a) and (b)")
    p.add_argument("--seeds", type=int, default=3)
    p.add_argument("--first-seed", type=int, default=0, help="seeds run are first-seed .. first-seed+seeds-1 "
                   "(to add seeds to an earlier run)")
    p.add_argument("--eval-episodes", type=int, default=200, help="held-out real episodes per evaluation")
    p.add_argument("--parallel", type=int, default=16, help="episodes played at once")
    p.add_argument("--max-steps", type=int, default=15, help="episode step limit (WebShop's registered one)")
    p.add_argument("--lr", type=float, default=0.5)
    p.add_argument("--batch", type=int, default=1, help="episodes per policy update (> 1: normalised advantages "
                   "over the batch; 1: after every episode against a running baseline)")
    p.add_argument("--retrieval-k", type=int, default=3, help="(b): retrieved real transitions per model step")
    p.add_argument("--conditions", default="real,dreamgym,untrained", help=f"comma list of: {', '.join(CONDITIONS)}")
    p.add_argument("--temperature", type=float, default=0.0,
                   help="sampling temperature of the experience model (0 = greedy: the most likely next state)")
    add_server_args(p)
    add_output_args(p)
    p.set_defaults(model=DEFAULT_MODEL, kv_cache_gib=2, max_model_len=2048)
    args = p.parse_args(argv)
    conditions = args.conditions.split(",")
    unknown = [c for c in conditions if c not in CONDITIONS]
    if unknown:
        raise SystemExit(f"unknown condition(s) {unknown}; valid: {', '.join(CONDITIONS)}")
    if args.quick:
        args.steps, args.seeds, args.eval_episodes, args.parallel = 500, 1, 50, 4
        if not args.base_url:  # without a running server, --quick plays the real engine only
            conditions = [c for c in conditions if c != "dreamgym"]
    domain = get_domain("webshop")
    train_tasks = list(domain.tasks("train"))
    test_tasks = list(domain.tasks("test"))
    if not train_tasks or not test_tasks:
        raise SystemExit("no WebShop tasks in the train/test splits")
    result: dict[str, Any] = {"provenance": provenance(), "config": {k: v for k, v in vars(args).items()},
                              "features": list(FEATURES), "train_tasks": len(train_tasks),
                              "test_tasks": len(test_tasks), "runs": []}

    def real_train() -> gym.Env:
        return gym.make("WebShop-Real-v0", split="train", max_episode_steps=args.max_steps)

    def real_test() -> gym.Env:
        return gym.make("WebShop-Real-v0", split="test", max_episode_steps=args.max_steps)

    def evaluate(policy: LinearPolicy, seed: int) -> dict[str, Any]:
        rng = random.Random(10_000 + seed)
        eval_tasks = [test_tasks[i % len(test_tasks)] for i in range(args.eval_episodes)]
        return run_episodes(real_test, eval_tasks, policy, steps=None, episodes=len(eval_tasks),
                            parallel=args.parallel, rng=rng, learn=False, desc="eval (real)")

    def experiment(base_url: str | None, served: str | None) -> None:
        def dream() -> gym.Env:
            return gym.make("DreamGym-WebShop-v0", base_url=base_url, model=served, retrieval_k=args.retrieval_k,
                            max_episode_steps=args.max_steps, temperature=args.temperature)

        for seed in range(args.first_seed, args.first_seed + args.seeds):
            for cond in conditions:
                rng = random.Random(seed)
                pol = LinearPolicy.zeros(len(FEATURES), lr=args.lr, batch=args.batch)
                train_info: dict[str, Any] = {}
                if cond == "real":
                    train_info = run_episodes(real_train, train_tasks, pol, steps=args.steps, episodes=None,
                                              parallel=args.parallel, rng=rng, learn=True, desc=f"(a) real s{seed}")
                elif cond == "dreamgym":
                    train_info = run_episodes(dream, train_tasks, pol, steps=args.steps, episodes=None,
                                              parallel=args.parallel, rng=rng, learn=True,
                                              desc=f"(b) dreamgym s{seed}", concurrent=True)
                ev = evaluate(pol, seed)
                run = {"condition": cond, "seed": seed,
                       "real_steps": args.steps if cond == "real" else 0,
                       "synthetic_steps": args.steps if cond == "dreamgym" else 0,
                       "train": train_info, "eval_mean_reward": ev["mean_reward"],
                       "eval_success": ev["success_rate"], "eval_buy_rate": ev["buy_rate"],
                       "eval_mean_length": ev["mean_length"], "eval_episodes": ev["episodes"],
                       "theta": dict(zip(FEATURES, pol.theta.tolist())), "baseline": pol.baseline}
                result["runs"].append(run)
                if args.json:  # keep what was measured if the run is stopped
                    partial = Path(args.json).with_suffix(".partial.json")
                    partial.parent.mkdir(parents=True, exist_ok=True)
                    partial.write_text(json.dumps(result, indent=2, default=str) + "\n")
                tr = (f"train reward {train_info['mean_reward']:.3f}, success {train_info['success_rate']:.2f} "
                      f"({train_info['episodes']} episodes, {train_info['seconds']} s"
                      + (f", fallback {train_info['fallback_rate']:.2f}" if cond == "dreamgym" else "") + ") -> "
                      if train_info else "")
                print(f"seed {seed} {cond:>10}: {tr}held-out real reward {ev['mean_reward']:.3f}, success "
                      f"{ev['success_rate']:.3f}, bought {ev['buy_rate']:.2f}, {ev['mean_length']:.1f} steps",
                      flush=True)

    if "dreamgym" in conditions:
        with vllm_server(server_options(args)) as info:
            result["server"] = info
            experiment(info["base_url"], info.get("model"))
    else:
        experiment(None, None)

    summary = []
    for cond in conditions:
        runs = [r for r in result["runs"] if r["condition"] == cond]
        rew = [r["eval_mean_reward"] for r in runs]
        suc = [r["eval_success"] for r in runs]
        summary.append({"condition": cond, "reward_mean": float(np.mean(rew)), "reward_std": float(np.std(rew)),
                        "success_mean": float(np.mean(suc)), "success_std": float(np.std(suc)), "n": len(runs),
                        "real_steps": runs[0]["real_steps"], "synthetic_steps": runs[0]["synthetic_steps"]})
    result["summary"] = summary
    by = {s["condition"]: s["reward_mean"] for s in summary}
    if "real" in by and "dreamgym" in by and by["real"] > 0:
        result["dreamgym_over_real"] = by["dreamgym"] / by["real"]
    table = markdown_table(
        ["condition", "real steps", "synthetic steps", "held-out real reward (mean ± sd)",
         "held-out real success (mean ± sd)", "seeds"],
        [[s["condition"], s["real_steps"], s["synthetic_steps"], f"{s['reward_mean']:.3f} ± {s['reward_std']:.3f}",
          f"{s['success_mean']:.3f} ± {s['success_std']:.3f}", s["n"]] for s in summary])

    def plot(path: str) -> None:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4))
        x = np.arange(len(summary))
        ax1.bar(x - 0.2, [s["reward_mean"] for s in summary], 0.4, yerr=[s["reward_std"] for s in summary],
                capsize=4, color="tab:blue", label="mean reward")
        ax1.bar(x + 0.2, [s["success_mean"] for s in summary], 0.4, yerr=[s["success_std"] for s in summary],
                capsize=4, color="tab:green", label="success (score 1)")
        ax1.set_xticks(x, [s["condition"] for s in summary])
        ax1.set_ylim(0, 1)
        ax1.set_ylabel("held-out real WebShop")
        ax1.set_title(f"WebShop: {args.steps} training steps")
        ax1.legend()
        for cond in conditions:
            curves = [r["train"].get("curve") for r in result["runs"] if r["condition"] == cond and r["train"]]
            if not curves:
                continue
            n = min(len(c) for c in curves)
            if n < 5:
                continue
            mean = np.mean([c[:n] for c in curves], axis=0)
            w = max(1, n // 10)
            ax2.plot(np.convolve(mean, np.ones(w) / w, mode="valid"), label=cond)
        ax2.set_xlabel("training episode")
        ax2.set_ylabel("training reward (moving avg; in its own env)")
        if ax2.lines:
            ax2.legend()
        fig.tight_layout()
        fig.savefig(path, dpi=120)

    finish(result, table, args.json, None if args.no_plot else plot)
    if args.json:
        Path(args.json).with_suffix(".partial.json").unlink(missing_ok=True)  # the full results are written
    return result


if __name__ == "__main__":
    main()
