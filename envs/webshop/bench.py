"""Measures the WebShop reference engine: ``python -m dreamgym_env.envs.webshop.bench``.

Prints catalog load and index time, split sizes, the expert's score on the test goals, engine
steps per second and uncached searches per second.
"""

from __future__ import annotations

import random
import statistics
import time


def main() -> None:
    """Runs the measurements and prints one line each."""
    from .env import WebShopRealEnv
    from .loader import load_shipped_catalog
    from .policies import ExpertPolicy
    from .search import SearchEngine

    t0 = time.perf_counter()
    catalog = load_shipped_catalog()
    t1 = time.perf_counter()
    SearchEngine(catalog.products)
    t2 = time.perf_counter()
    print(f"catalog load {t1 - t0:.3f} s ({len(catalog)} products, {len(catalog.goals)} goals); "
          f"BM25 index {t2 - t1:.3f} s")
    env = WebShopRealEnv(split="test")
    print("goals per split:", {k: len(env.split_goals(k)) for k in ("train", "dev", "test")})

    rewards, steps, t = [], 0, time.perf_counter()
    for i, g in enumerate(env.goals):
        obs, info = env.reset(seed=i, options={"goal": g.goal_id})
        policy = ExpertPolicy(seed=i)
        policy.reset(obs, info)
        r, term = 0.0, False
        for _ in range(15):
            obs, r, term, _, info = env.step(policy.act(obs, info))
            steps += 1
            if term:
                break
        rewards.append(r if term else 0.0)
    dt = time.perf_counter() - t
    print(f"expert on {len(rewards)} test goals: mean reward {statistics.mean(rewards):.4f}, "
          f"success (reward 1) {sum(x == 1.0 for x in rewards) / len(rewards):.3f}; "
          f"env+expert {steps / dt:.0f} steps/s")

    engine, rng, n = env.engine, random.Random(0), 0
    words = "hair shoes tea mouse black natural long lasting case cable pillow chair".split()
    t = time.perf_counter()
    while time.perf_counter() - t < 3.0:
        engine.reset(env.goals[n % len(env.goals)])
        for _ in range(15):
            a = rng.choice(engine.admissible_actions())
            if a == "search[...]":
                a = f"search[{' '.join(rng.sample(words, 3))}]"
            n += 1
            if engine.step(a).done:
                break
    print(f"engine random walk: {n / (time.perf_counter() - t):.0f} steps/s")
    t = time.perf_counter()
    for _ in range(300):
        engine.search_engine.search(" ".join(rng.sample(words, 3)))
    print(f"uncached BM25 search: {300 / (time.perf_counter() - t):.0f} searches/s")


if __name__ == "__main__":
    main()
