"""Child process of the RSS soak test: a fresh interpreter, so earlier tests' memory does not blur RSS.

    python soak_child.py BASE_URL STORE_PATH STEPS EVERY   -> prints {"rss_mib": [...]} as its last line
"""

from __future__ import annotations

import json
import sys

import gymnasium as gym
import numpy as np
import psutil

import dreamgym_env  # noqa: F401  (registers the ids)


def main() -> None:
    base_url, store, steps, every = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    proc = psutil.Process()
    envs = gym.make_vec("DreamGym-ALFWorld-v0", num_envs=8, max_episode_steps=10, base_url=base_url,
                        model="default-alfworld", replay_path=store, record_transitions=True)
    envs.reset(seed=0)
    rng = np.random.default_rng(0)
    verbs = ["look", "inventory", "go to countertop 1", "open drawer 1", "take mug 1 from countertop 1", "x!"]
    rss = []
    for t in range(steps):
        envs.step([verbs[i] for i in rng.integers(0, len(verbs), 8)])
        if t % every == every - 1:
            rss.append(proc.memory_info().rss / 2**20)
    envs.close()
    print(json.dumps({"rss_mib": rss}))


if __name__ == "__main__":
    main()
