"""Several OpenAI-compatible endpoints behind one experience model: prefix-affinity routing, failover,
recovery, and the typed error when every endpoint is down.

Stub HTTP servers on loopback play the replicas (this is the client code around the model); two real
vLLM servers are in tests/integration/test_multi_endpoint_vllm.py.
"""

from __future__ import annotations

import threading
import time
from collections import Counter

import gymnasium as gym
import pytest
from stubs import StubServer as Stub

from dreamgym_env.error import ServerUnavailableError
from dreamgym_env.model.base import ModelRequest
from dreamgym_env.model.factory import ModelSpec, make_experience_model, release_shared_models
from dreamgym_env.model.multi_endpoint import MultiEndpointModel, routing_key, split_base_urls
from dreamgym_env.model.openai_backend import OpenAIExperienceModel, OpenAIModelConfig
from dreamgym_env.serving import free_port


def step_request(task: int, step: int) -> ModelRequest:
    """A request shaped like a DreamGym step: static system prompt, then the task, then what changes."""
    return ModelRequest(messages=({"role": "system", "content": "rules"},
                                  {"role": "user", "content": f"Task: task {task}\n\nHistory: step {step}"}),
                        max_tokens=8)


def multi(urls: list[str], cooldown_s: float = 30.0) -> MultiEndpointModel:
    return MultiEndpointModel([OpenAIExperienceModel(OpenAIModelConfig(base_url=u, max_retries=1, backoff_s=0.01,
                                                                       timeout_s=5)) for u in urls],
                              cooldown_s=cooldown_s)


def tasks_seen(stub: Stub) -> set[str]:
    return {b["messages"][1]["content"].split("\n")[0] for b in stub.bodies}


@pytest.fixture
def stubs():
    a, b = Stub(), Stub()
    yield a, b
    a.close()
    b.close()


def test_split_base_urls() -> None:
    assert split_base_urls("http://a/v1, http://b/v1/ http://a/v1") == ["http://a/v1", "http://b/v1"]
    assert split_base_urls(" , ") == []


def test_routing_key_is_the_prompt_head() -> None:
    assert routing_key(step_request(1, 1)) == routing_key(step_request(1, 9))
    assert routing_key(step_request(1, 1)) != routing_key(step_request(2, 1))


def test_each_episode_sticks_to_one_endpoint_and_episodes_spread(stubs) -> None:
    a, b = stubs
    m = multi([a.url, b.url])
    reqs = [step_request(task, step) for step in range(4) for task in range(24)]
    replies = m.generate(reqs)
    assert len(replies) == len(reqs) and all(r.text for r in replies)
    on_a, on_b = tasks_seen(a), tasks_seen(b)
    assert not on_a & on_b, "an episode's steps went to two servers (its prefix cache is split)"
    assert len(on_a | on_b) == 24 and on_a and on_b, "all episodes went to one server"
    assert len(a.bodies) + len(b.bodies) == len(reqs) and m.rerouted == 0
    m.close()


def test_a_dead_endpoint_fails_over_then_is_skipped_then_comes_back(stubs) -> None:
    a, b = stubs
    m = multi([a.url, b.url], cooldown_s=3.0)
    tried_a = Counter()
    generate_a = m.endpoints[0].generate
    m.endpoints[0].generate = lambda reqs: (tried_a.update(n=len(reqs)), generate_a(reqs))[1]
    reqs = [step_request(task, 0) for task in range(16)]
    home = Counter(m.order(r)[0] for r in reqs)
    assert home[0] and home[1]
    a.stop()
    assert all(r.text for r in m.generate(reqs))  # a's episodes moved to b
    assert len(b.bodies) == 16 and m.rerouted == home[0] and tried_a["n"] >= 1
    tried_before = tried_a["n"]
    m.generate(reqs)  # a is cooling down: not even tried
    assert m.rerouted == 2 * home[0] and len(b.bodies) == 32
    assert tried_a["n"] == tried_before
    a.start()
    time.sleep(3.1)  # the cooldown ends
    m.generate(reqs)
    assert len(a.bodies) == home[0], "a's episodes did not come back to it"
    m.close()


def test_every_endpoint_down_is_a_typed_error_naming_them() -> None:
    urls = [f"http://127.0.0.1:{free_port()}/v1" for _ in range(2)]
    m = multi(urls)
    t0 = time.perf_counter()
    with pytest.raises(ServerUnavailableError) as e:
        m.generate([step_request(0, 0)])
    assert time.perf_counter() - t0 < 10
    assert all(u in str(e.value) for u in urls) and "no endpoint answered" in str(e.value)
    m.close()


def test_factory_builds_it_from_a_comma_separated_base_url(stubs) -> None:
    a, b = stubs
    spec = ModelSpec(base_url=f"{a.url},{b.url}")
    try:
        model = make_experience_model(spec)
        assert isinstance(model, MultiEndpointModel) and len(model.endpoints) == 2
        assert isinstance(make_experience_model(ModelSpec(base_url=a.url)), OpenAIExperienceModel)
    finally:
        release_shared_models()


def test_factory_rebuilds_a_shared_model_its_user_closed(stubs) -> None:
    a, _ = stubs
    spec = ModelSpec(base_url=a.url, structured_outputs=False)
    try:
        first = make_experience_model(spec)
        assert make_experience_model(spec) is first  # shared while open
        first.close()
        second = make_experience_model(spec)
        assert second is not first and not getattr(second, "closed", False)
        assert second.generate([step_request(0, 0)])[0].text  # usable, not "cannot schedule new futures"
    finally:
        release_shared_models()


def test_vector_env_over_two_endpoints_and_close_leaves_no_thread(stubs) -> None:
    a, b = stubs
    before = {t.name for t in threading.enumerate()}
    envs = gym.make_vec("DreamGym-ALFWorld-v0", num_envs=8, base_url=f"{a.url},{b.url}", retrieval_k=0,
                        structured_outputs=False)
    envs.reset(seed=0)
    for _ in range(3):
        envs.step(["look"] * 8)
    assert a.bodies and b.bodies
    envs.close()
    release_shared_models()
    left = {t.name for t in threading.enumerate()} - before
    assert not {n for n in left if n.startswith(("dreamgym-multi", "dreamgym-http"))}
