"""The native vector env: batching, autoreset, per-env info."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
from fakes import FakeModel
from gymnasium.vector import AutoresetMode


def test_one_batched_model_call_per_step() -> None:
    model = FakeModel()
    envs = gym.make_vec("DreamGym-ALFWorld-v0", num_envs=4, experience_model=model)
    obs, infos = envs.reset(seed=0)
    assert len(obs) == 4 and all(isinstance(o, str) for o in obs)
    n0 = len(model.requests)
    obs, rew, term, _trunc, infos = envs.step(["look", "inventory", "bad action!", "look"])
    assert len(model.requests) - n0 == 3  # the guard answered the bad one
    assert obs[2] == "Nothing happens."
    assert infos["_action_error"].all() and infos["action_error"][2] and infos["action_error"][0] is None
    assert rew.dtype == np.float64 and term.dtype == bool
    envs.close()


def test_next_step_autoreset() -> None:
    envs = gym.make_vec("DreamGym-ALFWorld-v0", num_envs=2, experience_model=FakeModel(), max_episode_steps=2,
                        retrieval_k=0)
    envs.reset(seed=0)
    envs.step(["look", "look"])
    _, _, term, trunc, _ = envs.step(["look", "look"])
    assert trunc.all() and not term.any()
    obs, rew, term, trunc, _infos = envs.step(["look", "look"])  # reset step: actions ignored
    assert all(o.startswith("You are in the middle of a room") for o in obs)
    assert (rew == 0).all() and not trunc.any()


def test_same_step_autoreset_and_early_finish() -> None:
    envs = gym.make_vec("DreamGym-ALFWorld-v0", num_envs=2, experience_model=FakeModel(),
                        autoreset_mode=AutoresetMode.SAME_STEP, retrieval_k=0, check_outcome=False,
                        check_in_episode=False)  # the fake finishes on "finish", which no room admits
    envs.reset(seed=0)
    # The fake model ends the episode when the action contains "finish".
    obs, _rew, term, _trunc, infos = envs.step(["put mug 1 in/on finish 1", "look"])
    assert term[0] and not term[1]
    assert obs[0].startswith("You are in the middle of a room")  # already reset
    assert infos["final_obs"][0] == "After put mug 1 in/on finish 1."
    assert infos["_final_obs"][0] and not infos["_final_obs"][1]


def test_per_env_seeds_are_reproducible() -> None:
    def tasks(seed):
        envs = gym.make_vec("DreamGym-WebArena-v0", num_envs=3, experience_model=FakeModel())
        return list(envs.reset(seed=seed)[1]["task_id"])

    assert tasks(5) == tasks(5)
