"""Bounded soak: many episodes on a vector env; Python heap growth must stay flat.

The fake model keeps nothing (unlike ``FakeModel``, which records requests), so any growth measured
here is the env's own: episode history, stats, info dicts, autoreset.
"""

from __future__ import annotations

import gc
import tracemalloc

import gymnasium as gym
import numpy as np
import pytest
from fakes import well_formed

from dreamgym_env.model.base import ModelReply


class ForgetfulModel:
    """Answers like ``fakes.well_formed`` and keeps no record."""

    name = "forgetful"

    def generate(self, requests):
        return [ModelReply(text=well_formed(r), prompt_tokens=1, completion_tokens=1) for r in requests]

    def close(self) -> None:
        pass


@pytest.mark.timeout(120)
def test_vector_env_memory_stays_flat() -> None:
    envs = gym.make_vec("DreamGym-ALFWorld-v0", num_envs=4, experience_model=ForgetfulModel(), retrieval_k=0,
                        max_episode_steps=10)
    envs.reset(seed=0)
    actions = ["look", "inventory", "go to countertop 1", "not a command"]
    tracemalloc.start()
    samples = []
    try:
        for block in range(20):
            for _ in range(100):  # 100 steps x 4 envs = 40 episodes of 10 steps per block
                envs.step(actions)
            gc.collect()
            samples.append(tracemalloc.get_traced_memory()[0])
    finally:
        tracemalloc.stop()
        envs.close()
    # Skip the warm-up blocks (caches, interned strings); fit bytes per block over the rest.
    y = np.asarray(samples[4:], dtype=float)
    slope = float(np.polyfit(np.arange(len(y)), y, 1)[0])
    print(f"\nsoak: {20 * 100 * 4} sub-env steps, heap {samples[0] / 1e6:.2f} -> {samples[-1] / 1e6:.2f} MB, "
          f"slope {slope / 1e3:.1f} KB per 400 sub-env steps")
    assert slope < 20_000, f"heap grows {slope:.0f} bytes per 400 sub-env steps: {samples}"
