"""The native vector env against issue 7's contract and Gymnasium's vector-env conventions.

Per-env seeds and info arrays, one batched embedding + one batched k-NN query per step, early
finishers, per-slot failures and retries, and a ``close()`` that leaves no thread or socket behind.
"""

from __future__ import annotations

import json
import threading
import time

import gymnasium as gym
import numpy as np
import psutil
import pytest
from fakes import FakeModel, well_formed
from gymnasium.vector import AutoresetMode, VectorEnv
from gymnasium.wrappers.vector import RecordEpisodeStatistics
from stubs import REPLY, StubServer

import dreamgym_env
from dreamgym_env.replay import VectorIndex, open_replay

ALF = "DreamGym-ALFWorld-v0"


def _sample_actions(envs: VectorEnv, seed: int) -> tuple[str, ...]:
    envs.action_space.seed(seed)
    return tuple(envs.action_space.sample())


def _check_info_arrays(infos: dict, n: int) -> None:
    """Gymnasium's vector info layout: each key an array of n values with a boolean ``_key`` mask
    (nested dicts, like ``timings``, the same way)."""
    for key, value in infos.items():
        if key.startswith("_"):
            continue
        assert infos[f"_{key}"].dtype == bool and infos[f"_{key}"].shape == (n,), key
        if isinstance(value, dict):
            _check_info_arrays(value, n)
        else:
            assert len(value) == n, key


@pytest.mark.parametrize("env_id", list(dreamgym_env.ENV_IDS))
def test_gymnasium_vector_env_checks(env_id: str) -> None:
    """What Gymnasium's own vector envs guarantee: spaces, batched returns, masks, seeding, wrappers."""
    envs = gym.make_vec(env_id, num_envs=3, experience_model=FakeModel(), retrieval_k=0)
    assert isinstance(envs, VectorEnv) and envs.num_envs == 3
    assert isinstance(envs.metadata["autoreset_mode"], AutoresetMode)
    assert envs.observation_space == gym.vector.utils.batch_space(envs.single_observation_space, 3)
    assert envs.action_space == gym.vector.utils.batch_space(envs.single_action_space, 3)

    obs, infos = envs.reset(seed=7)
    assert envs.observation_space.contains(obs)
    assert infos["_task_id"].all() and len(infos["task_id"]) == 3
    again, infos2 = envs.reset(seed=7)
    assert again == obs and list(infos2["task_id"]) == list(infos["task_id"])  # reset(seed) is reproducible

    # Random actions from the action space (mostly invalid text): batched returns of the right types.
    for t in range(3):
        obs, rew, term, trunc, infos = envs.step(_sample_actions(envs, t))
        assert envs.observation_space.contains(obs)
        assert rew.shape == term.shape == trunc.shape == (3,)
        assert rew.dtype == np.float64 and term.dtype == bool and trunc.dtype == bool
        _check_info_arrays(infos, 3)
    with pytest.raises(ValueError, match="actions"):
        envs.step(("look",))

    # Gymnasium's vector wrappers read metadata["autoreset_mode"] and the batched returns.
    wrapped = RecordEpisodeStatistics(envs)
    wrapped.reset(seed=0)
    wrapped.step(_sample_actions(envs, 0))
    wrapped.close()
    assert envs.closed
    envs.close()  # a second close is a no-op


def test_per_env_seeds_match_single_envs() -> None:
    seeds = [3, 11, 42]
    envs = gym.make_vec(ALF, num_envs=3, experience_model=FakeModel())
    _, infos = envs.reset(seed=seeds)
    single = gym.make(ALF, experience_model=FakeModel())
    assert list(infos["task_id"]) == [single.reset(seed=s)[1]["task_id"] for s in seeds]
    _, by_int = envs.reset(seed=3)  # an int seeds sub-env i with seed + i, as Gymnasium's vector envs do
    assert list(by_int["task_id"]) == [single.reset(seed=3 + i)[1]["task_id"] for i in range(3)]
    with pytest.raises(ValueError, match="seeds"):
        envs.reset(seed=[1, 2])


def test_reset_mask_resets_only_those_envs() -> None:
    envs = gym.make_vec(ALF, num_envs=3, experience_model=FakeModel(), retrieval_k=0,
                        repair_observation=False)  # the fake's replies stand: the repair would tell look/inventory from the episode
    envs.reset(seed=0)
    envs.step(["look", "look", "look"])
    obs, infos = envs.reset(options={"reset_mask": np.array([False, True, False])})
    assert list(infos["_task_id"]) == [False, True, False]
    assert obs[0] == obs[2] == "After look." and obs[1].startswith("You are in the middle of a room")


class _CountingEmbedder:
    def __init__(self, inner) -> None:
        self.inner, self.name, self.dim, self.calls = inner, inner.name, inner.dim, []

    def encode(self, texts):
        self.calls.append(len(texts))
        return self.inner.encode(texts)


def test_one_batched_embedding_and_one_knn_query_per_step(embedder, monkeypatch) -> None:
    from dreamgym_env.domain import get_domain

    counting = _CountingEmbedder(embedder)
    replay = open_replay(None, counting)
    replay.add(get_domain("alfworld").seed_transitions()[:60])
    queries: list[int] = []
    real_query = VectorIndex.query

    def query(self, vectors, k):
        queries.append(len(vectors))
        return real_query(self, vectors, k)

    monkeypatch.setattr(VectorIndex, "query", query)
    model = FakeModel()
    envs = gym.make_vec(ALF, num_envs=8, experience_model=model, replay=replay)
    envs.reset(seed=0)
    counting.calls.clear()
    for _ in range(3):
        infos = envs.step(["look"] * 7 + ["not an action"])[-1]
        assert [len(r) for r in infos["retrieved"]] == [3] * 7 + [0]  # the guarded one needs no retrieval
    assert counting.calls == [7, 7, 7] and queries == [7, 7, 7]
    assert len(model.requests) == 21  # and all of a step's requests go to the model in one generate() call
    envs.close()


def test_early_finisher_is_reset_while_the_others_go_on() -> None:
    """NextStep autoreset: a finished sub-env is reset on the next step (no model call), the rest step on."""
    model = FakeModel()
    envs = gym.make_vec(ALF, num_envs=3, experience_model=model, retrieval_k=0, check_outcome=False,
                        check_in_episode=False,  # the fake finishes on "finish", which no room admits
                        repair_observation=False)  # the fake's replies stand: the repair would tell look/inventory from the episode
    envs.reset(seed=0)
    _, _, term, _, _ = envs.step(["put mug 1 in/on finish 1", "look", "look"])  # the fake model ends sub-env 0
    assert list(term) == [True, False, False]
    n = len(model.requests)
    obs, rew, _, _, infos = envs.step(["look", "inventory", "inventory"])
    assert len(model.requests) - n == 2  # only the two running episodes were simulated
    assert obs[0].startswith("You are in the middle of a room") and obs[1] == obs[2] == "After inventory."
    eps = envs.unwrapped._episodes
    assert [ep.t for ep in eps] == [0, 2, 2]
    assert list(infos["_task_id"]) == [True, True, True] and rew[0] == 0.0


def test_unreadable_reply_affects_only_its_slot() -> None:
    def reply(req):
        return "garbage" if "<action>inventory</action>" in req.messages[1]["content"] else well_formed(req)

    envs = gym.make_vec(ALF, num_envs=3, experience_model=FakeModel(reply), retrieval_k=0,
                        repair_observation=False)  # the fake's replies stand: the repair would tell look/inventory from the episode
    envs.reset(seed=0)
    obs, *_, infos = envs.step(["look", "inventory", "look"])
    assert list(infos["fallback"]) == [False, True, False]
    assert infos["parse_error"][1] and infos["parse_error"][0] is None and infos["parse_error"][2] is None
    assert obs[0] == obs[2] == "After look."


class _KeepAliveStub(StubServer):
    """The stub speaking HTTP/1.1 with keep-alive (as vLLM does), so client connections stay pooled;
    requests whose action is in ``slow`` stall past the client timeout the first time they are seen."""

    def __init__(self, slow: tuple[str, ...] = (), delay_s: float = 0.0) -> None:
        self.slow, self.delay_s, self.seen = slow, delay_s, []
        self._seen_lock = threading.Lock()
        super().__init__()

    def _handler(self):
        base = super()._handler()
        stub = self

        class Handler(base):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                length = int(self.headers["Content-Length"])
                raw = self.rfile.read(length)
                body = json.loads(raw)
                user = body["messages"][-1]["content"]
                action = user.rsplit("<action>", 1)[-1].split("</action>", 1)[0]
                with stub._seen_lock:
                    first = action not in stub.seen
                    stub.seen.append(action)
                if first and action in stub.slow:
                    time.sleep(stub.delay_s)
                    return  # the client timed out and hung up; nothing to answer
                self._send(200, {"id": "x", "object": "chat.completion", "created": 0, "model": body["model"],
                                 "choices": [{"index": 0, "finish_reason": "stop",
                                              "message": {"role": "assistant", "content": REPLY}}],
                                 "usage": {"prompt_tokens": 7, "completion_tokens": 5, "total_tokens": 12}})

        return Handler


def _client_sockets(port: int) -> list:
    return [c for c in psutil.Process().net_connections("tcp")
            if c.raddr and c.raddr.port == port and c.status == psutil.CONN_ESTABLISHED]


def _dreamgym_threads() -> list[str]:
    return [t.name for t in threading.enumerate() if t.name.startswith("dreamgym-http")]


def test_close_leaves_no_thread_or_socket() -> None:
    stub = _KeepAliveStub()
    try:
        assert not _dreamgym_threads()
        envs = gym.make_vec(ALF, num_envs=4, base_url=stub.url, retrieval_k=0)
        envs.reset(seed=0)
        for _ in range(2):
            envs.step(["look", "inventory", "look", "go to countertop 1"])
        assert _client_sockets(stub.port), "keep-alive connections should be pooled while the env is open"
        assert _dreamgym_threads()
        envs.close()
        assert _client_sockets(stub.port) == []
        assert _dreamgym_threads() == []
    finally:
        stub.stop()


def test_timeout_is_retried_for_that_slot_only() -> None:
    stub = _KeepAliveStub(slow=("inventory",), delay_s=1.5)
    try:
        envs = gym.make_vec(ALF, num_envs=3, base_url=stub.url, retrieval_k=0, timeout_s=0.5, max_retries=2,
                            structured_outputs=True, check_in_episode=False,  # every action reaches the stub
                            repair_observation=False)  # the fake's replies stand: the repair would tell look/inventory from the episode
        envs.reset(seed=0)
        obs, *_, infos = envs.step(["look", "inventory", "go to countertop 1"])
        envs.close()
    finally:
        stub.stop()
    posts = [a for a in stub.seen if a]
    assert sorted(posts) == ["go to countertop 1", "inventory", "inventory", "look"]
    assert obs == ("s", "s", "s") and not any(infos["fallback"])
