"""Regenerates the shipped ALFWorld data from the real engine (deterministic).

    python -m dreamgym_env.envs.alfworld.make_data                 # rules.json, tasks.jsonl, seed_transitions.jsonl
    python -m dreamgym_env.envs.alfworld.make_data --collect 1000 --out runs/alfworld.jsonl   # on-demand data

Every task is certified solvable: the privileged expert plays it in the real engine to the goal
(problems it cannot solve are rejected with the reason). Seed transitions come from the project's
collection loop (``dreamgym_env.data.collect``) over the train tasks with the expert/noisy/random mix.
"""

from __future__ import annotations

import argparse
import collections
import json
import sys
import time
from collections.abc import Iterable
from pathlib import Path

from dreamgym_env.types import Task, Transition, write_jsonl

from .alfred import TASK_TYPES, AlfredFacts, load_facts
from .engine import ALFWorldEngine
from .expert import expert_action
from .generator import generate_problems
from .problem import InvalidProblemError, Problem
from .world import World

DATA_DIR = Path(__file__).parent / "data"
TRAIN_PER_TYPE = 30
TEST_PER_TYPE = 8
SEED_EPISODES = 120


def certify(engine: ALFWorldEngine, problem: Problem, max_steps: int = 50) -> tuple[str, int]:
    """Plays the expert on ``problem`` in the real engine. Returns ``(first_observation, steps)``.

    Raises:
        InvalidProblemError: the expert does not reach the goal (the problem is then not shipped).
    """
    engine.load(problem)
    obs = engine.reset()
    if engine.won:
        raise InvalidProblemError(problem.problem_id, "the goal already holds at the start")
    for step in range(1, max_steps + 1):
        world = World.from_facts(engine.facts())
        cmd = expert_action(world, problem.goal, engine.dialect, engine.facts_db)
        _, admissible, won = engine.step(cmd)
        if not admissible:
            raise InvalidProblemError(problem.problem_id, f"expert command {cmd!r} not admissible at step {step}")
        if won:
            return obs, step
    raise InvalidProblemError(problem.problem_id, f"expert did not reach the goal in {max_steps} steps")


def make_task(problem: Problem, split: str, first_obs: str, expert_steps: int, facts: AlfredFacts) -> Task:
    """The project's task record for a certified problem."""
    return Task(
        task_id=problem.problem_id, domain="alfworld", instruction=problem.instruction,
        initial_observation=first_obs,
        meta={"split": split, "task_type": problem.goal.task_type, "layout": problem.layout,
              "room_type": problem.room_type, "expert_steps": expert_steps, "alfworld": facts.version,
              "logic": facts.fingerprint(), "problem": problem.to_dict()},
    )


def build_tasks(train_per_type: int = TRAIN_PER_TYPE, test_per_type: int = TEST_PER_TYPE, seed: int = 0,
                progress: bool = True) -> tuple[list[Task], list[str]]:
    """Generates and certifies the task pool. Returns the tasks and the rejection reasons."""
    from tqdm.auto import tqdm

    facts = load_facts()
    engine = ALFWorldEngine("put", cache_size=0)
    tasks, rejected = [], []
    for split, n in (("train", train_per_type), ("test", test_per_type)):
        problems = generate_problems(TASK_TYPES, n, split, seed=seed, facts=facts)
        for problem in tqdm(problems, total=n * len(TASK_TYPES), desc=f"certify {split}", disable=not progress):
            try:
                obs, steps = certify(engine, problem)
            except InvalidProblemError as e:
                rejected.append(str(e))
                continue
            tasks.append(make_task(problem, split, obs, steps, facts))
    return tasks, rejected


def write_rules(facts: AlfredFacts, path: Path) -> None:
    """Writes the ALFRED object rules the domain needs without the engine (lowercase classes)."""
    rules = {
        "alfworld": facts.version,
        "can_contain": {r.lower(): sorted(o.lower() for o in objs if not o.endswith("Sliced"))
                        for r, objs in sorted(facts.can_contain.items())},
        "cleanable": sorted(o.lower() for o in facts.properties["Cleanable"] if not o.endswith("Sliced")),
        "heatable": sorted(o.lower() for o in facts.properties["Heatable"] if not o.endswith("Sliced")),
        "coolable": sorted(o.lower() for o in facts.properties["Coolable"] if not o.endswith("Sliced")),
        "sliceable": sorted(o.lower() for o in facts.properties["Sliceable"]),
    }
    path.write_text(json.dumps(rules, indent=1, sort_keys=True) + "\n")


def collect_transitions(episodes: int, split: str = "train", seed: int = 0, progress: bool = True) -> list[Transition]:
    """Collects transitions with the project's collection loop (expert 0.6 / noisy 0.3 / random 0.1)."""
    from dreamgym_env.data.collect import CollectConfig, collect

    return list(collect(CollectConfig(domain="alfworld", episodes=episodes, split=split, seed=seed), progress=progress))


def summarize(transitions: Iterable[Transition]) -> dict[str, object]:
    """Counts episodes, success rate (overall and per policy), invalid share and task types."""
    trs = list(transitions)
    episodes: dict[str, list[Transition]] = collections.defaultdict(list)
    for t in trs:
        episodes[t.episode_id].append(t)
    won = {e: any(t.reward > 0 for t in ts) for e, ts in episodes.items()}
    by_policy: dict[str, list[bool]] = collections.defaultdict(list)
    for e, ts in episodes.items():
        by_policy[str(ts[0].meta.get("policy"))].append(won[e])
    return {
        "transitions": len(trs),
        "episodes": len(episodes),
        "success_rate": round(sum(won.values()) / max(1, len(won)), 3),
        "success_by_policy": {p: f"{sum(v)}/{len(v)}" for p, v in sorted(by_policy.items())},
        "invalid_share": round(sum(1 for t in trs if t.valid is False) / max(1, len(trs)), 3),
    }


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    ap = argparse.ArgumentParser(prog="python -m dreamgym_env.envs.alfworld.make_data", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--train-per-type", type=int, default=TRAIN_PER_TYPE, help="train tasks per task type")
    ap.add_argument("--test-per-type", type=int, default=TEST_PER_TYPE, help="held-out-layout tasks per task type")
    ap.add_argument("--seed-episodes", type=int, default=SEED_EPISODES, help="episodes in seed_transitions.jsonl")
    ap.add_argument("--only", choices=("tasks", "seeds"), help="rebuild only rules+tasks, or only the seed transitions")
    ap.add_argument("--collect", type=int, metavar="EPISODES", help="only collect EPISODES episodes to --out")
    ap.add_argument("--out", type=Path, help="output .jsonl for --collect")
    ap.add_argument("--split", default="train", help="task split for --collect")
    ap.add_argument("--seed", type=int, default=0, help="seed for --collect")
    args = ap.parse_args(argv)

    if args.collect is not None:
        if args.out is None:
            ap.error("--collect needs --out")
        t0 = time.time()
        trs = collect_transitions(args.collect, args.split, args.seed)
        write_jsonl(args.out, (t.to_dict() for t in trs))
        stats = summarize(trs)
        stats.update(seconds=round(time.time() - t0, 1), file=str(args.out),
                     megabytes=round(args.out.stat().st_size / 1e6, 2))
        print(json.dumps(stats))
        return 0

    out = DATA_DIR
    out.mkdir(parents=True, exist_ok=True)
    stats: dict[str, object] = {}
    if args.only != "seeds":
        facts = load_facts()
        write_rules(facts, out / "rules.json")
        t0 = time.time()
        tasks, rejected = build_tasks(args.train_per_type, args.test_per_type)
        write_jsonl(out / "tasks.jsonl", (t.to_dict() for t in tasks))
        for r in rejected:
            print("rejected:", r, file=sys.stderr)
        stats.update(tasks=len(tasks), rejected=len(rejected), task_seconds=round(time.time() - t0, 1))
    if args.only != "tasks":
        t0 = time.time()
        trs = collect_transitions(args.seed_episodes, "train", 0)
        write_jsonl(out / "seed_transitions.jsonl", (t.to_dict() for t in trs))
        stats.update(summarize(trs), collect_seconds=round(time.time() - t0, 1))
    from dreamgym_env.types import load_tasks, load_transitions

    tasks = load_tasks(out / "tasks.jsonl")
    trs = load_transitions(out / "seed_transitions.jsonl")
    by_type = collections.Counter(t.meta["task_type"] for t in tasks if t.meta["split"] == "train")
    task_type_of = {t.task_id: t.meta["task_type"] for t in tasks}
    types = collections.Counter((t.meta["split"], t.meta["task_type"]) for t in tasks)
    stats.update(
        tasks_by_split_type={f"{s}/{k}": v for (s, k), v in sorted(types.items())},
        train_types=dict(by_type),
        seed_episode_types=dict(collections.Counter(task_type_of.get(t.task_id, "?") for t in trs if t.step == 0)),
        megabytes={p.name: round(p.stat().st_size / 1e6, 2) for p in sorted(out.glob("*.json*"))},
    )
    print(json.dumps(stats, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
