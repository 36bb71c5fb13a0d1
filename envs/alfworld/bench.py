"""Measures the ALFWorld pieces on this machine (single process).

    python -m dreamgym_env.envs.alfworld.bench [--problems 60] [--steps 400]

Prints JSON: problems generated/s (generator only, and certified by the expert in the real engine),
problem load (PDDL translation) time, and real-engine steps/s (``ALFWorldRealEnv.step`` with the
teacher and expert running, i.e. what collection pays per step).
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import time

from .alfred import TASK_TYPES, load_facts
from .engine import ALFWorldEngine
from .generator import generate_problem
from .make_data import certify
from .real_env import ALFWorldRealEnv


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    ap = argparse.ArgumentParser(prog="python -m dreamgym_env.envs.alfworld.bench", description=__doc__)
    ap.add_argument("--problems", type=int, default=60, help="problems to generate (and certify)")
    ap.add_argument("--steps", type=int, default=400, help="env steps to time")
    args = ap.parse_args(argv)
    facts = load_facts()
    out: dict[str, object] = {"alfworld": facts.version}

    t0 = time.perf_counter()
    problems = [generate_problem(10_000 + i, TASK_TYPES[i % 6], split="train", facts=facts) for i in range(args.problems)]
    out["generated_per_s"] = round(args.problems / (time.perf_counter() - t0), 1)

    engine = ALFWorldEngine("put", cache_size=0)
    loads = []
    t0 = time.perf_counter()
    for p in problems:
        t1 = time.perf_counter()
        engine.load(p)
        loads.append(time.perf_counter() - t1)
        certify(engine, p)
    out["certified_per_s"] = round(args.problems / (time.perf_counter() - t0), 2)
    out["load_s_median"] = round(statistics.median(loads), 3)
    out["load_s_max"] = round(max(loads), 3)

    env = ALFWorldRealEnv("put", cache_size=len(problems))
    rng = random.Random(0)
    for p in problems[:10]:  # warm the translation cache: time steps, not loads
        env.reset(options={"problem": p})
    n = 0
    t0 = time.perf_counter()
    while n < args.steps:
        _, info = env.reset(options={"problem": problems[n % 10]})
        for _ in range(20):
            action = info["expert_action"] if rng.random() < 0.5 else rng.choice(info["admissible_actions"])
            *_, term, _, info = env.step(action)
            n += 1
            if term:
                break
    out["env_steps_per_s"] = round(n / (time.perf_counter() - t0), 1)
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
