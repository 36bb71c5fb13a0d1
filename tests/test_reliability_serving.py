"""Serving security: loopback by default, ``--api-key`` passed to vLLM, and the client sends the key.

A stub OpenAI server on loopback that demands a bearer token plays vLLM started with ``--api-key``.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from stubs import REPLY, StubServer

from dreamgym_env.error import ModelRequestError
from dreamgym_env.model.base import ModelRequest
from dreamgym_env.model.openai_backend import OpenAIExperienceModel, OpenAIModelConfig
from dreamgym_env.serving import ServerConfig, VLLMServer

REQ = ModelRequest(messages=({"role": "user", "content": "hi"},), max_tokens=8)


@pytest.fixture
def stub():
    s = StubServer(api_key="s3cret")
    yield s
    s.close()


def _model(url: str, **kw) -> OpenAIExperienceModel:
    return OpenAIExperienceModel(OpenAIModelConfig(base_url=url, backoff_s=0.01, timeout_s=5, max_retries=1, **kw))


def test_client_sends_the_api_key(stub: StubServer) -> None:
    m = _model(stub.url, api_key="s3cret")
    [r] = m.generate([REQ])
    assert r.text == REPLY
    assert stub.auth_headers and all(h == "Bearer s3cret" for h in stub.auth_headers)
    m.close()


def test_client_takes_the_key_from_the_environment(stub: StubServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DREAMGYM_API_KEY", "s3cret")
    m = _model(stub.url)
    assert m.generate([REQ])[0].text == REPLY
    m.close()


def test_wrong_or_missing_key_is_a_typed_error_saying_what_to_do(stub: StubServer,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DREAMGYM_API_KEY", raising=False)
    for key in ("wrong", None):
        m = _model(stub.url, api_key=key)
        with pytest.raises(ModelRequestError, match="API key"):
            m.generate([REQ])
        m.close()
    assert "Bearer s3cret" not in stub.auth_headers


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
