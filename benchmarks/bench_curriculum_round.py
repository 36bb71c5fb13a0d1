"""Bookkeeping cost of one curriculum round on each domain's real task pool (no model calls).

    python benchmarks/bench_curriculum_round.py
"""

from __future__ import annotations

import os
import random
import tempfile
import time

from dreamgym_env.curriculum import Curriculum, CurriculumConfig
from dreamgym_env.domain import get_domain


def main(rounds: int = 20) -> None:
    """Plans 8 tasks x 8 rollouts per round and records 64 random 0/1 returns, per domain."""
    for name in ("alfworld", "webshop", "webarena"):
        domain = get_domain(name)
        path = os.path.join(tempfile.mkdtemp(), "pool.json")
        t0 = time.perf_counter()
        cur = Curriculum.open(path, domain, CurriculumConfig(group_size=8, tasks_per_round=8))
        t_open = time.perf_counter() - t0
        rng = random.Random(0)
        t0 = time.perf_counter()
        for r in range(rounds):
            for i, tid in enumerate(cur.plan_round(rng)):
                cur.record_episode(tid, float(rng.random() < 0.5), f"{r}-{i}")
        dt = (time.perf_counter() - t0) / rounds
        print(f"{name}: {len(cur.pool)} tasks, open+seed {t_open * 1e3:.0f} ms, {dt * 1e3:.1f} ms per round "
              f"(plan 8x8 + 64 records incl. 1 atomic save), pool file {os.path.getsize(path) / 1e3:.0f} kB")


if __name__ == "__main__":
    main()
