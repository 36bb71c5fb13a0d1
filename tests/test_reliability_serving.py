"""Serving security: loopback by default, ``--api-key`` passed to vLLM, and the client sends the key.

A stub OpenAI server on loopback that demands a bearer token plays vLLM started with ``--api-key``.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from dreamgym_env.error import ModelRequestError
from dreamgym_env.model.base import ModelRequest
from dreamgym_env.model.openai_backend import OpenAIExperienceModel, OpenAIModelConfig
from dreamgym_env.serving import ServerConfig, VLLMServer

REPLY = "<think>t</think>\n<state>s</state>\n<reward>0</reward>\n<done>false</done>"
REQ = ModelRequest(messages=({"role": "user", "content": "hi"},), max_tokens=8)


class KeyedStub:
    """Answers only requests that carry ``Authorization: Bearer <key>`` (401 otherwise, as vLLM does)."""

    def __init__(self, key: str) -> None:
        self.seen: list[str | None] = []
        stub = self

        class H(BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def _send(self, code, obj):
                data = json.dumps(obj).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _authorized(self) -> bool:
                stub.seen.append(self.headers.get("Authorization"))
                if self.headers.get("Authorization") != f"Bearer {key}":
                    self._send(401, {"error": {"message": "Unauthorized"}})
                    return False
                return True

            def do_GET(self):
                if self._authorized():
                    self._send(200, {"object": "list", "data": [{"id": "stub-model", "object": "model"}]})

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                if self._authorized():
                    self._send(200, {"id": "x", "object": "chat.completion", "created": 0, "model": body["model"],
                                     "choices": [{"index": 0, "finish_reason": "stop",
                                                  "message": {"role": "assistant", "content": REPLY}}],
                                     "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}})

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def stub():
    s = KeyedStub("s3cret")
    yield s
    s.close()


def _model(url: str, **kw) -> OpenAIExperienceModel:
    return OpenAIExperienceModel(OpenAIModelConfig(base_url=url, backoff_s=0.01, timeout_s=5, max_retries=1, **kw))


def test_client_sends_the_api_key(stub: KeyedStub) -> None:
    m = _model(stub.url, api_key="s3cret")
    [r] = m.generate([REQ])
    assert r.text == REPLY
    assert stub.seen and all(h == "Bearer s3cret" for h in stub.seen)
    m.close()


def test_client_takes_the_key_from_the_environment(stub: KeyedStub, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DREAMGYM_API_KEY", "s3cret")
    m = _model(stub.url)
    assert m.generate([REQ])[0].text == REPLY
    m.close()


def test_wrong_or_missing_key_is_a_typed_error_saying_what_to_do(stub: KeyedStub,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DREAMGYM_API_KEY", raising=False)
    for key in ("wrong", None):
        m = _model(stub.url, api_key=key)
        with pytest.raises(ModelRequestError, match="API key"):
            m.generate([REQ])
        m.close()
    assert "Bearer s3cret" not in stub.seen


def test_server_binds_loopback_by_default_and_passes_the_key(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text("{}")
    assert ServerConfig().host == "127.0.0.1" and ServerConfig().api_key is None
    cmd = VLLMServer(ServerConfig(model=str(tmp_path), api_key="s3cret", port=12345)).command()
    assert cmd[cmd.index("--host") + 1] == "127.0.0.1"
    assert cmd[cmd.index("--api-key") + 1] == "s3cret"
    assert "--api-key" not in VLLMServer(ServerConfig(model=str(tmp_path), port=12345)).command()


def test_cli_serve_defaults_to_loopback() -> None:
    from dreamgym_env.cli import build_parser

    args = build_parser().parse_args(["serve"])
    assert args.host == "127.0.0.1" and args.api_key is None
