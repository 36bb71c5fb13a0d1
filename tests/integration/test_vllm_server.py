"""The whole model path against a real vLLM server: env -> retrieval -> prompt -> vLLM -> parse.

Whatever the (untrained) model says, every step must come back well-formed.
"""

from __future__ import annotations

import random

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

import dreamgym_env
from dreamgym_env.domain import get_domain
from dreamgym_env.error import ServerUnavailableError
from dreamgym_env.model.openai_backend import OpenAIExperienceModel, OpenAIModelConfig

pytestmark = [pytest.mark.integration, pytest.mark.timeout(1800)]

#: Small token budget: the untrained model's replies are only checked for form, and CI time is finite.
BUDGET = {"max_new_tokens": 128}


def test_server_health_and_models(vllm_server) -> None:
    m = OpenAIExperienceModel(OpenAIModelConfig(base_url=vllm_server.base_url))
    assert m.check_server() == [vllm_server.served_model_name]
    m.close()


def test_env_steps_against_real_server(vllm_server, env_id: str) -> None:
    env = gym.make(env_id, base_url=vllm_server.base_url, **BUDGET)
    domain = get_domain(dreamgym_env.ENV_IDS[env_id])
    obs, info = env.reset(seed=0)
    rng = random.Random(0)
    answered = 0
    for _ in range(2):
        # A demo action the model answers (not one the guard or the episode's history answers, e.g.
        # WebArena's go_back to a page seen before); a real seed action if the agent finds none.
        action = env.unwrapped.pipeline.demo_model_action(env.unwrapped.episode, rng)
        obs, reward, terminated, truncated, info = env.step(action)
        assert env.observation_space.contains(obs)
        assert domain.reward_range[0] <= reward <= domain.reward_range[1]
        assert isinstance(terminated, bool) and isinstance(truncated, bool)
        assert info["action_error"] is None and not info["told"]
        assert info["prompt_tokens"] > 0 and info["completion_tokens"] > 0
        assert len(info["retrieved"]) == 3
        assert info["latency_s"] > 0
        if info["fallback"]:
            # With vLLM's regex the only way to fail is a reply cut at max_tokens.
            assert "cut off" in info["parse_error"] and info["repaired"]
        else:
            answered += 1
            assert info["parse_error"] is None and info["reasoning"]
        if terminated or truncated:
            obs, info = env.reset(seed=1)
    # An invalid action is answered by the guard, never by a crash.
    _obs2, reward, *_ , info = env.step("this is not an action")
    assert info["action_error"] and reward == 0.0
    stats = env.unwrapped.pipeline.stats
    assert stats.model_calls >= 2
    print(f"{env_id}: {answered}/2 model-answered steps parsed without fallback; stats {stats}")


def test_check_env_with_real_server(vllm_server, env_id: str) -> None:
    env = gym.make(env_id, base_url=vllm_server.base_url, **BUDGET)
    check_env(env.unwrapped, skip_render_check=True)


def test_vector_env_sends_concurrent_requests(vllm_server) -> None:
    envs = gym.make_vec("DreamGym-ALFWorld-v0", num_envs=4, base_url=vllm_server.base_url, max_new_tokens=64)
    _, reset_infos = envs.reset(seed=0)
    go = next(a for a in reset_infos["admissible_actions"][2] if a.startswith("go to "))
    obs, rew, _term, _trunc, infos = envs.step(["look", "inventory", go, "not valid"])
    assert len(obs) == 4 and all(isinstance(o, str) and o for o in obs)
    assert infos["action_error"][3] and infos["action_error"][0] is None
    assert np.all((rew >= 0) & (rew <= 1))
    assert (infos["completion_tokens"][:3] > 0).all()
    envs.close()


@pytest.mark.parametrize("env_id", list(dreamgym_env.ENV_IDS))
def test_adversarial_actions_get_no_reward_from_the_real_model(vllm_server, env_id: str) -> None:
    """8 injection / fake-tag / encoded actions per domain (tests/test_reliability_reward_hacking.py) in one
    batched step: whatever the real model replies, no spurious positive reward."""
    from test_reliability_reward_hacking import adversarial_actions

    actions = random.Random(0).sample(adversarial_actions(env_id), 8)
    envs = gym.make_vec(env_id, num_envs=8, base_url=vllm_server.base_url, max_new_tokens=64)
    envs.reset(seed=0)
    obs, rew, _term, _trunc, _infos = envs.step(actions)
    assert len(obs) == 8 and (rew == 0).all(), list(zip(actions, rew))
    envs.close()


def test_server_stopped_mid_rollout_raises_typed_error(vllm_server) -> None:
    """Runs last in this module: stops the shared server, then the env must fail cleanly."""
    env = gym.make("DreamGym-ALFWorld-v0", base_url=vllm_server.base_url, max_retries=1, max_new_tokens=16)
    env.reset(seed=0)
    env.step("look")
    vllm_server.stop()
    with pytest.raises(ServerUnavailableError, match="dreamgym serve"):
        env.step("inventory")
