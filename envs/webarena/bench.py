"""Measures the reference sites: task counts, steps/s and scripted-policy success rates.

``python -m dreamgym_env.envs.webarena.bench`` prints one JSON object.
"""

from __future__ import annotations

import argparse
import collections
import json
import time
from typing import Any

from dreamgym_env.domain import get_domain

from .env import WebArenaRefEnv
from .policies import POLICIES, make_policy


def task_counts() -> dict[str, Any]:
    """Shipped tasks per split, site, eval type and string-match approach."""
    d = get_domain("webarena")
    tasks = list(d.tasks("train")) + list(d.tasks("test"))
    return {
        "total": len(tasks),
        "split": dict(collections.Counter(t.meta["split"] for t in tasks)),
        "site": dict(collections.Counter(t.meta["sites"][0] for t in tasks)),
        "eval_type": dict(collections.Counter(k for t in tasks for k in t.meta["eval_types"])),
        "eval_combo": dict(collections.Counter("+".join(t.meta["eval_types"]) for t in tasks)),
        "string_approach": dict(collections.Counter(k for t in tasks
                                                    for k in (t.meta["config"]["eval"].get("reference_answers")
                                                              or {}))),
        "templates": len({t.meta["template"] for t in tasks}),
    }


def run_policy(name: str, seed: int = 0) -> dict[str, Any]:
    """Plays every shipped task once with a policy; returns success rate and speed."""
    d = get_domain("webarena")
    tasks = list(d.tasks("train")) + list(d.tasks("test"))
    env = WebArenaRefEnv()
    wins, steps = 0.0, 0
    per_site: collections.Counter[str] = collections.Counter()
    site_steps: collections.Counter[str] = collections.Counter()
    site_time: collections.Counter[str] = collections.Counter()
    t0 = time.perf_counter()
    for i, task in enumerate(tasks):
        t1 = time.perf_counter()
        p = make_policy(name, seed=seed * 100_003 + i)
        obs, info = env.reset(options={"task": task})
        p.reset(obs, info)
        r = 0.0
        n = 0
        for _ in range(30):
            obs, r, term, _, info = env.step(p.act(obs, info))
            n += 1
            if term:
                break
        steps += n
        wins += r
        site = task.meta["sites"][0]
        per_site[site] += r
        site_time[site] += time.perf_counter() - t1
        site_steps[site] += n
    dt = time.perf_counter() - t0
    return {"policy": name, "episodes": len(tasks), "success_rate": round(wins / len(tasks), 4),
            "success_by_site": dict(per_site), "steps": steps, "seconds": round(dt, 2),
            "steps_per_s": round(steps / dt, 1),
            "steps_per_s_by_site": {k: round(site_steps[k] / site_time[k], 1) for k in sorted(site_steps)}}


def main(argv: list[str] | None = None) -> int:
    """Command line entry point."""
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    out = {"tasks": task_counts(), "policies": [run_policy(n, args.seed) for n in POLICIES]}
    print(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
