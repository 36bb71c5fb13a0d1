"""A vector env over two real vLLM servers (replicas of the trained ALFWorld default): every episode's
steps go to one server, both servers work, and when one is stopped mid-rollout the other answers
every slot with no error reaching the RL loop."""

from __future__ import annotations

import re

import gymnasium as gym
import httpx
import pytest

from dreamgym_env.domain import get_domain

pytestmark = [pytest.mark.integration, pytest.mark.timeout(1200),
              pytest.mark.skipif(get_domain("alfworld").default_model_dir() is None,
                                 reason="envs/alfworld/data/model is not shipped")]


def _answered(base_url: str) -> float:
    """Requests the server has finished (vLLM's ``/metrics``)."""
    text = httpx.get(base_url.removesuffix("/v1") + "/metrics", timeout=10).text
    return sum(float(v) for v in re.findall(r"^vllm:request_success_total(?:\{[^}]*\})? ([0-9.eE+-]+)$", text,
                                            re.MULTILINE))


def test_vector_env_spreads_episodes_over_two_servers_and_survives_losing_one(trained_server):
    from dreamgym_env.model.multi_endpoint import MultiEndpointModel
    from dreamgym_env.serving import ServerConfig, VLLMServer

    second = VLLMServer(ServerConfig(model="default-alfworld", kv_cache_gib=1)).start(timeout_s=600)
    try:
        urls = [trained_server.base_url, second.base_url]
        before = [_answered(u) for u in urls]
        n = 8
        envs = gym.make_vec("DreamGym-ALFWorld-v0", num_envs=n, base_url=",".join(urls), model="default-alfworld",
                            max_retries=1, timeout_s=60)
        model = envs.unwrapped._owned_model
        assert isinstance(model, MultiEndpointModel)
        envs.reset(seed=0)
        for action in ("look", "inventory"):
            _, _, _, _, infos = envs.step([action] * n)
            assert all(e is None for e in infos["parse_error"])
        served = [_answered(u) - b for u, b in zip(urls, before)]
        assert all(s > 0 for s in served) and sum(served) == 2 * n, served
        assert model.rerouted == 0
        second.stop()
        _, _, _, _, infos = envs.step(["look"] * n)  # the survivor answers every slot
        assert all(e is None for e in infos["parse_error"]) and not any(infos["fallback"])
        assert model.answered[0] == served[0] + n  # ("look"/"inventory" end no episode, so no slot resets)
        assert model.rerouted == served[1] // 2  # the second server's episodes, once each
        envs.close()
    finally:
        second.stop()
