"""Sim-to-real on ALFWorld: does a policy trained only in DreamGym work in the real engine?

Same policy class and the same environment-step budget everywhere:

* (a) ``real``: trained in the real engine (``ALFWorld-Real-v0``) for ``--steps`` steps;
* (b) ``dreamgym``: trained only in ``DreamGym-ALFWorld-v0`` with the trained default experience
  model (``default-alfworld``) served by vLLM, ``--steps`` synthetic steps, 0 real ones;
* (b') ``dreamgym-no-retrieval``: (b) with ``retrieval_k=0``;
* (b'') ``dreamgym-curriculum``: (b) with DreamGym's curriculum choosing the training tasks: the pool starts
  as the train split's tasks of ``--task-type``; each round plans ``--cur-tasks`` tasks x ``--cur-group``
  rollouts by reward variance, then the served model writes variations of the top tasks
  (``Curriculum.evolve``; only variations of the same task type are kept);
* (c) ``s2r``: (b), then ``--s2r-frac`` x ``--steps`` real steps, with at most as many episodes at once as
  fit whole in that budget (so every real step ends in an update); ``--s2r-from FILE`` starts it from the
  (b) policies an earlier run saved instead of training (b) again;
* (d) ``untrained``: the initial (uniform) policy.

Each is evaluated on held-out real problems (test split: unseen layouts) in the real engine, over
``--seeds`` seeds (mean and spread).

The policy is a linear softmax over goal-relative action features (``envs/alfworld/features.py``)
(``--grouped``: over kinds of action, each kind's weight split among its actions), trained with
REINFORCE; episodes run ``--parallel`` at a time (concurrent model requests). Tasks are one task type
(``--task-type``, default pick-and-place) so that the CPU budget buys learning.

    python benchmarks/bench_sim_to_real.py --json benchmarks/results/sim_to_real.json
    python benchmarks/bench_sim_to_real.py --quick        # real engine only, seconds
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
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
    pipeline_stats,
    provenance,
    server_options,
    vllm_server,
)
from _policy import LinearPolicy
from dreamgym_env.envs.alfworld.features import FEATURES, EpisodeMemory, parse_goal

import dreamgym_env  # noqa: F401
from dreamgym_env.config import EnvConfig
from dreamgym_env.curriculum import Curriculum, CurriculumConfig, TaskPool
from dreamgym_env.domain import get_domain
from dreamgym_env.model.factory import make_experience_model
from dreamgym_env.types import Task

#: Bonus the learner gives itself the first time it holds the goal object (a subgoal), both envs alike.
SHAPING = 0.3

#: Default bonus for the first time an episode shows the goal object (``--sight-shaping``): off.
SIGHT_SHAPING = 0.0

#: Default bonus for the first arrival at a goal receptacle holding the goal object (``--arrive-shaping``): off.
ARRIVE_SHAPING = 0.0

#: Index of the "put the goal object in the goal receptacle" feature.
PUT_GOAL = FEATURES.index("put_goal_in_goal_recep")

#: Every condition --conditions accepts.
CONDITIONS = ("real", "dreamgym", "dreamgym-no-retrieval", "dreamgym-curriculum", "s2r", "untrained")


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
    at_goal_recep: bool = False
    was_at_goal_holding: bool = False
    arrived_holding: bool = False


def _start(slot: Slot, task: Task, seed: int) -> None:
    """Resets ``slot`` to ``task``; ``seed`` seeds the env, so a run replays from its seed (the synthetic
    env's model requests carry seeds drawn from it)."""
    _, info = slot.env.reset(seed=seed, options={"task": task})
    slot.task = task
    slot.memory = EpisodeMemory(parse_goal(task.instruction))
    slot.actions = list(info.get("admissible_actions") or ["look"])
    slot.grads = []
    slot.rewards = []
    slot.at_goal_recep = False
    slot.was_at_goal_holding = False
    slot.arrived_holding = False


def run_episodes(env_fn: Callable[[], gym.Env], tasks: Sequence[Task], policy: LinearPolicy, *, steps: int | None,
                 episodes: int | None, parallel: int, rng: random.Random, learn: bool, desc: str,
                 concurrent: bool = False, curriculum: CurriculumRun | None = None, shaping: float = SHAPING,
                 sight_shaping: float = SIGHT_SHAPING, arrive_shaping: float = ARRIVE_SHAPING) -> dict[str, Any]:
    """Plays episodes ``parallel`` at a time until ``steps`` env steps (or ``episodes`` episodes) are done.

    ``concurrent`` steps the envs from threads (DreamGym: concurrent model requests). The real
    engine is stepped in turn: textworld's parser is not thread-safe (and the GIL leaves nothing to gain).
    ``curriculum`` draws the training tasks instead of ``tasks`` and is told each episode's return.
    The learner's own reward is success, plus ``shaping`` the first time the episode holds the goal object,
    plus ``sight_shaping`` the first time an observation shows it, plus ``arrive_shaping`` the first time the
    agent goes to a goal receptacle holding it (all read from the agent's actions and the env's text, both
    envs alike).

    Returns counts: steps, episodes, successes, the per-episode success curve, and how often an
    episode ever showed the goal object (``saw_goal_rate``) and had the agent hold it
    (``held_goal_rate``): in the synthetic env these say whether exploration can find the goal at all.
    A synthetic env's model counts (re-asks, repairs, fallbacks; ``model_stats``) are summed over the envs.
    The last step is followed too: how often the agent stood at a goal receptacle holding the goal
    object (``at_goal_holding_rate``, per episode), whether a goal put was then admissible
    (``goal_put_offered``, per such step), and how many goal puts the agent made (``goal_puts``) and the
    env paid (``goal_puts_paid``).
    """
    slots = [Slot(env_fn()) for _ in range(parallel)]
    if curriculum is not None:
        task_iter = iter(lambda: curriculum.next_task(rng), None)
    elif episodes is None:
        task_iter = iter(lambda: rng.choice(tasks), None)
    else:
        task_iter = iter(list(tasks)[:episodes])
    done_eps: list[int] = []
    saw_goal: list[bool] = []
    held_goal: list[bool] = []
    at_goal_holding: list[bool] = []
    last = {"offered": 0, "at_goal_steps": 0, "goal_puts": 0, "goal_puts_paid": 0}
    n_steps = 0
    started = 0
    active: list[Slot] = []
    for slot in slots:
        task = next(task_iter, None)
        if task is None:
            break
        _start(slot, task, rng.getrandbits(31))
        active.append(slot)
        started += 1
    total = steps if steps is not None else episodes
    bar = tqdm(total=total, desc=desc, leave=False)
    t0 = time.perf_counter()
    with ThreadPoolExecutor(max_workers=parallel) as pool:
        while active:
            chosen = []
            goal_puts: list[bool] = []
            for slot in active:
                assert slot.memory is not None
                if slot.memory.goal and slot.memory.holding == slot.memory.goal[1] and slot.at_goal_recep:
                    slot.was_at_goal_holding = True
                    last["at_goal_steps"] += 1
                    last["offered"] += any(slot.memory.features(a)[PUT_GOAL] for a in slot.actions)
                action, phi, expected = policy.act(slot.memory, slot.actions, rng)
                chosen.append(action)
                goal_puts.append(bool(phi[PUT_GOAL]) and slot.memory.holding == (slot.memory.goal or ("", ""))[1])
                slot.grads.append(phi - expected)
            if concurrent:
                results = list(pool.map(lambda sa: sa[0].env.step(sa[1]), zip(active, chosen)))
            else:
                results = [slot.env.step(a) for slot, a in zip(active, chosen)]
            n_steps += len(active)
            if steps is not None:
                bar.update(len(active))
            still: list[Slot] = []
            for slot, action, goal_put, (obs, reward, terminated, truncated, info) in zip(active, chosen, goal_puts,
                                                                                           results):
                assert slot.memory is not None
                had_goal_obj = slot.memory.got_goal_object
                had_seen_goal = bool(slot.memory.goal_object_seen_at)
                slot.memory.update(action, obs)
                slot.actions = list(info.get("admissible_actions") or ["look"])
                success = int(bool(terminated) and float(reward) > 0)
                if action.startswith("go to ") and slot.memory.goal:
                    slot.at_goal_recep = action.split(" ")[2] == slot.memory.goal[2]
                arrived = (action.startswith("go to ") and slot.at_goal_recep and not slot.arrived_holding
                           and slot.memory.goal is not None and slot.memory.holding == slot.memory.goal[1])
                slot.arrived_holding = slot.arrived_holding or arrived
                last["goal_puts"] += goal_put
                last["goal_puts_paid"] += goal_put and bool(success)
                # Agent-side shaping, read from the observations the env returned (same rule in both envs).
                slot.rewards.append(float(success) + shaping * (slot.memory.got_goal_object and not had_goal_obj)
                                    + sight_shaping * (bool(slot.memory.goal_object_seen_at) and not had_seen_goal)
                                    + arrive_shaping * arrived)
                if terminated or truncated:
                    done_eps.append(success)
                    saw_goal.append(bool(slot.memory.goal_object_seen_at))
                    held_goal.append(slot.memory.got_goal_object)
                    at_goal_holding.append(slot.was_at_goal_holding)
                    if learn:
                        policy.update(slot.grads, slot.rewards)
                    if curriculum is not None and slot.task is not None:
                        curriculum.record(slot.task, sum(slot.rewards))
                    if steps is None:
                        bar.update(1)
                    if steps is not None and n_steps >= steps:
                        continue
                    task = next(task_iter, None)
                    if task is None:
                        continue
                    _start(slot, task, rng.getrandbits(31))
                    started += 1
                still.append(slot)
            if steps is not None and n_steps >= steps:
                break  # unfinished episodes are dropped (no update)
            active = still
    bar.close()
    if learn:
        policy.flush()
    model_stats = pipeline_stats([slot.env for slot in slots])
    for slot in slots:
        slot.env.close()
    return {"steps": n_steps, "episodes": len(done_eps), "successes": int(sum(done_eps)),
            "success_rate": float(np.mean(done_eps)) if done_eps else 0.0, "curve": done_eps,
            "saw_goal_rate": float(np.mean(saw_goal)) if saw_goal else 0.0,
            "held_goal_rate": float(np.mean(held_goal)) if held_goal else 0.0,
            "at_goal_holding_rate": float(np.mean(at_goal_holding)) if at_goal_holding else 0.0,
            "goal_put_offered": last["offered"] / last["at_goal_steps"] if last["at_goal_steps"] else None,
            "goal_puts": last["goal_puts"], "goal_puts_paid": last["goal_puts_paid"],
            "seconds": round(time.perf_counter() - t0, 1),
            **({"model_stats": model_stats} if model_stats is not None else {}),
            **({"curriculum": curriculum.stats()} if curriculum is not None else {})}


@dataclass
class CurriculumRun:
    """DreamGym's curriculum driving one training run: reward-variance task selection over a pool seeded
    with the train tasks, and model-written variations after every round.

    The return recorded per episode is the learner's own (success + shaping), the signal it learns from.
    """

    curriculum: Curriculum
    model: Any
    rng: random.Random
    task_type: str
    episodes: int = 0
    generated_episodes: int = 0
    reports: list[dict[str, Any]] = field(default_factory=list)
    plan: list[str] = field(default_factory=list)

    @classmethod
    def start(cls, tasks: Sequence[Task], model: Any, seed: int, task_type: str, *, tasks_per_round: int,
              group_size: int) -> CurriculumRun:
        """A fresh in-memory pool of ``tasks``."""
        pool = TaskPool("alfworld")
        pool.add_tasks(tasks)
        config = CurriculumConfig(tasks_per_round=tasks_per_round, group_size=group_size, seeds_per_round=2)
        return cls(Curriculum(get_domain("alfworld"), pool, config), model, random.Random(seed), task_type)

    def next_task(self, rng: random.Random) -> Task:
        """The next task of the round's plan; a new round first writes variations of the top tasks."""
        cur = self.curriculum
        if not self.plan:
            if cur.pool.round > 0:
                report = cur.evolve(self.model, self.rng, keep=lambda t: t.meta.get("task_type") == self.task_type)
                self.reports.append({"round": cur.pool.round, "proposed": report.proposed,
                                     "accepted": len(report.accepted), "rejected": dict(report.rejected)})
            self.plan = list(reversed(cur.plan_round(rng)))
        task = cur.pool[self.plan.pop()].task
        if task.meta.get("generated_from"):
            self.generated_episodes += 1
        self.episodes += 1
        return task

    def record(self, task: Task, ret: float) -> None:
        """Feeds one finished episode's return back to the pool."""
        self.curriculum.record_episode(task.task_id, ret)

    def stats(self) -> dict[str, Any]:
        """Rounds, pool growth and how much training ran on generated tasks."""
        s = self.curriculum.summary()
        types = sorted({str(e.task.meta.get("task_type")) for e in self.curriculum.pool if e.origin == "generated"})
        return {**s, "generated_task_types": types, "episodes_started": self.episodes,
                "generated_episodes": self.generated_episodes, "evolve": self.reports}


# ----- the experiment -------------------------------------------------------------------------------------
def tasks_of(split: str, task_type: str) -> list[Task]:
    """The domain's tasks of one type in one split."""
    return [t for t in get_domain("alfworld").tasks(split) if t.meta.get("task_type") == task_type]


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--steps", type=int, default=3000, help="env steps of training for (a) and (b)")
    p.add_argument("--s2r-frac", type=float, default=0.1, help="real steps of (c), as a share of --steps")
    p.add_argument("--s2r-from", nargs="+", default=None, metavar="JSON",
                   help="s2r starts from the dreamgym policies (theta, baseline) saved in these earlier runs' JSON")
    p.add_argument("--seeds", type=int, default=3)
    p.add_argument("--first-seed", type=int, default=0, help="seeds run are first-seed .. first-seed+seeds-1 "
                   "(to add seeds to an earlier run)")
    p.add_argument("--eval-episodes", type=int, default=40, help="held-out real episodes per evaluation")
    p.add_argument("--parallel", type=int, default=16, help="episodes played at once")
    p.add_argument("--max-steps", type=int, default=30, help="episode step limit")
    p.add_argument("--task-type", default="pick_and_place_simple")
    p.add_argument("--lr", type=float, default=1.0)
    p.add_argument("--shaping", type=float, default=SHAPING,
                   help="learner's bonus the first time an episode holds the goal object")
    p.add_argument("--sight-shaping", type=float, default=SIGHT_SHAPING,
                   help="learner's bonus the first time an episode's observations show the goal object")
    p.add_argument("--arrive-shaping", type=float, default=ARRIVE_SHAPING,
                   help="learner's bonus the first time the agent goes to a goal receptacle holding the goal object")
    p.add_argument("--grouped", action="store_true",
                   help="the policy splits each kind of action's weight among the actions of that kind (same feature "
                        "row), so it chooses between kinds first: a rare kind (the goal put) is tried as often as a "
                        "common one (going somewhere) while untrained")
    p.add_argument("--batch", type=int, default=8, help="episodes per policy update (> 1: normalised advantages "
                   "over the batch; 1: after every episode against a running baseline)")
    p.add_argument("--conditions", default="real,dreamgym,dreamgym-no-retrieval,s2r,untrained",
                   help=f"comma list of: {', '.join(CONDITIONS)}")
    p.add_argument("--cur-tasks", type=int, default=4, help="dreamgym-curriculum: tasks per round")
    p.add_argument("--cur-group", type=int, default=4, help="dreamgym-curriculum: rollouts per task per round")
    p.add_argument("--temperature", type=float, default=0.8,
                   help="sampling temperature of the experience model (0 = greedy: the most likely next state)")
    add_server_args(p)
    add_output_args(p)
    p.set_defaults(model="default-alfworld", kv_cache_gib=2, max_model_len=2048)
    args = p.parse_args(argv)
    conditions = args.conditions.split(",")
    unknown = [c for c in conditions if c not in CONDITIONS]
    if unknown:
        raise SystemExit(f"unknown condition(s) {unknown}; valid: {', '.join(CONDITIONS)}")
    if args.quick:
        args.steps, args.seeds, args.eval_episodes, args.parallel = 200, 1, 8, 4
        if not args.base_url:  # without a running server, --quick plays the real engine only
            conditions = [c for c in conditions if not c.startswith("dreamgym") and (c != "s2r" or args.s2r_from)]
    train_tasks = tasks_of("train", args.task_type)
    test_tasks = tasks_of("test", args.task_type)
    if not train_tasks or not test_tasks:
        raise SystemExit(f"no {args.task_type} tasks in the train/test splits")
    result: dict[str, Any] = {"provenance": provenance(), "config": {k: v for k, v in vars(args).items()},
                              "train_tasks": len(train_tasks), "test_tasks": len(test_tasks), "runs": []}
    needs_server = any(c.startswith("dreamgym") for c in conditions) or ("s2r" in conditions and not args.s2r_from)
    saved: dict[int, dict[str, Any]] = {}
    if args.s2r_from:
        for path in args.s2r_from:
            saved.update({int(r["seed"]): {**r, "file": path} for r in json.loads(Path(path).read_text())["runs"]
                          if r["condition"] == "dreamgym"})
    s2r_steps = int(args.steps * args.s2r_frac)
    # Unfinished episodes are dropped at the budget, so (c) plays no more episodes at once than fit whole.
    s2r_parallel = max(1, min(args.parallel, s2r_steps // args.max_steps))

    def real() -> gym.Env:
        return gym.make("ALFWorld-Real-v0", max_episode_steps=args.max_steps)

    def evaluate(policy: LinearPolicy, seed: int) -> dict[str, Any]:
        rng = random.Random(10_000 + seed)
        eval_tasks = [test_tasks[i % len(test_tasks)] for i in range(args.eval_episodes)]
        return run_episodes(real, eval_tasks, policy, steps=None, episodes=len(eval_tasks), parallel=args.parallel,
                            rng=rng, learn=False, desc="eval (real)")

    shaping = {"shaping": args.shaping, "sight_shaping": args.sight_shaping, "arrive_shaping": args.arrive_shaping}

    def experiment(base_url: str | None, served: str | None) -> None:
        def dream(retrieval_k: int) -> Callable[[], gym.Env]:
            return lambda: gym.make("DreamGym-ALFWorld-v0", base_url=base_url, model=served,
                                    retrieval_k=retrieval_k, max_episode_steps=args.max_steps,
                                    temperature=args.temperature)

        for seed in range(args.first_seed, args.first_seed + args.seeds):
            trained: dict[str, LinearPolicy] = {}
            for cond in conditions:
                rng = random.Random(seed)
                pol = LinearPolicy.zeros(len(FEATURES), lr=args.lr, batch=args.batch, grouped=args.grouped)
                train_info: dict[str, Any] = {}
                if cond == "real":
                    train_info = run_episodes(real, train_tasks, pol, steps=args.steps, episodes=None,
                                              parallel=args.parallel, rng=rng, learn=True, **shaping,
                                              desc=f"(a) real s{seed}")
                elif cond in ("dreamgym", "dreamgym-no-retrieval"):
                    k = 0 if cond.endswith("no-retrieval") else 3
                    train_info = run_episodes(dream(k), train_tasks, pol, steps=args.steps, episodes=None,
                                              parallel=args.parallel, rng=rng, learn=True, **shaping,
                                              desc=f"({cond}) s{seed}", concurrent=True)
                elif cond == "dreamgym-curriculum":
                    model = make_experience_model(EnvConfig.from_kwargs({"base_url": base_url, "model": served})
                                                  .model_spec())
                    try:
                        cur = CurriculumRun.start(train_tasks, model, seed, args.task_type,
                                                  tasks_per_round=args.cur_tasks, group_size=args.cur_group)
                        train_info = run_episodes(dream(3), train_tasks, pol, steps=args.steps, episodes=None,
                                                  parallel=args.parallel, rng=rng, learn=True, **shaping,
                                                  desc=f"({cond}) s{seed}", concurrent=True, curriculum=cur)
                    finally:
                        model.close()
                elif cond == "s2r":
                    if "dreamgym" in trained:
                        pol = trained["dreamgym"].copy()
                    elif seed in saved:
                        pol.theta = np.array([saved[seed]["theta"][f] for f in FEATURES])
                        pol.baseline = float(saved[seed].get("baseline", 0.0))
                    else:
                        raise SystemExit(f"s2r needs the dreamgym condition before it in --conditions, or seed {seed} "
                                         "in --s2r-from")
                    train_info = run_episodes(real, train_tasks, pol, steps=s2r_steps, episodes=None,
                                              parallel=s2r_parallel, rng=rng, learn=True, **shaping,
                                              desc=f"(c) s2r s{seed}")
                    train_info["parallel"] = s2r_parallel
                    if "dreamgym" not in trained:
                        train_info["started_from"] = saved[seed]["file"]
                trained[cond] = pol
                ev = evaluate(pol, seed)
                real_steps = {"real": args.steps, "s2r": s2r_steps}.get(cond, 0)
                synth_steps = args.steps if cond.startswith("dreamgym") or cond == "s2r" else 0
                run = {"condition": cond, "seed": seed, "real_steps": real_steps, "synthetic_steps": synth_steps,
                       "train": {k: v for k, v in train_info.items()}, "eval_success": ev["success_rate"],
                       "eval_episodes": ev["episodes"], "theta": dict(zip(FEATURES, pol.theta.tolist())),
                       "baseline": pol.baseline}
                result["runs"].append(run)
                if args.json:  # keep what was measured if the run is stopped
                    partial = Path(args.json).with_suffix(".partial.json")
                    partial.parent.mkdir(parents=True, exist_ok=True)
                    partial.write_text(json.dumps(result, indent=2, default=str) + "\n")
                print(f"seed {seed} {cond:>22}: train success {train_info.get('success_rate', float('nan')):.2f} "
                      f"(goal seen {train_info.get('saw_goal_rate', float('nan')):.2f}, held "
                      f"{train_info.get('held_goal_rate', float('nan')):.2f}; {train_info.get('seconds', 0)} s) "
                      f"-> held-out real success {ev['success_rate']:.3f} (goal seen {ev['saw_goal_rate']:.2f}, "
                      f"held {ev['held_goal_rate']:.2f}); training last step: at goal recep holding goal "
                      f"{train_info.get('at_goal_holding_rate', float('nan')):.2f}, put offered "
                      f"{train_info.get('goal_put_offered')}, goal puts paid {train_info.get('goal_puts_paid')}/"
                      f"{train_info.get('goal_puts')}", flush=True)
                if ms := train_info.get("model_stats"):
                    print(f"    model: {ms['steps']} steps ({ms['guarded']} answered by the guard), "
                          f"{ms['implausible']} replies ruled out, {ms['resamples']} re-asks, "
                          f"{ms['implausible_kept']} kept; {ms['repairs']} parse re-asks, {ms['fallbacks']} fallbacks, "
                          f"{ms['observation_repairs']} observations repaired", flush=True)

    if needs_server:
        with vllm_server(server_options(args)) as info:
            result["server"] = info
            experiment(info["base_url"], info.get("model"))
    else:
        experiment(None, None)

    summary = []
    for cond in conditions:
        xs = [r["eval_success"] for r in result["runs"] if r["condition"] == cond]
        summary.append({"condition": cond, "mean": float(np.mean(xs)), "std": float(np.std(xs)), "n": len(xs),
                        "real_steps": next(r["real_steps"] for r in result["runs"] if r["condition"] == cond),
                        "synthetic_steps": next(r["synthetic_steps"] for r in result["runs"] if r["condition"] == cond)})
    result["summary"] = summary
    by = {s["condition"]: s["mean"] for s in summary}
    if "real" in by and "dreamgym" in by and by["real"] > 0:
        result["dreamgym_over_real"] = by["dreamgym"] / by["real"]
    table = markdown_table(["condition", "real steps", "synthetic steps", "held-out real success (mean ± sd)", "seeds"],
                           [[s["condition"], s["real_steps"], s["synthetic_steps"],
                             f"{s['mean']:.3f} ± {s['std']:.3f}", s["n"]] for s in summary])

    def plot(path: str) -> None:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4))
        ax1.bar([s["condition"] for s in summary], [s["mean"] for s in summary],
                yerr=[s["std"] for s in summary], capsize=4, color="tab:blue")
        ax1.set_ylabel("held-out real success")
        ax1.set_title(f"ALFWorld {args.task_type}: {args.steps} training steps")
        ax1.tick_params(axis="x", rotation=20)
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
        ax2.set_ylabel("training success (moving avg; in its own env)")
        ax2.legend()
        fig.tight_layout()
        fig.savefig(path, dpi=120)

    finish(result, table, args.json, None if args.no_plot else plot)
    if args.json:
        Path(args.json).with_suffix(".partial.json").unlink(missing_ok=True)  # the full results are written
    return result


if __name__ == "__main__":
    main()
