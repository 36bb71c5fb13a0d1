"""The OpenAI-compatible client: bounded retries, typed errors, structured-output fallback.

A stub HTTP server on loopback plays a misbehaving server; the real vLLM server is in tests/integration.
"""

from __future__ import annotations

import time

import pytest
from stubs import REPLY
from stubs import StubServer as Stub

from dreamgym_env.error import ModelRequestError, ServerUnavailableError
from dreamgym_env.model.base import CONTEXT_LENGTH, ModelRequest, ReplyFormat
from dreamgym_env.model.openai_backend import OpenAIExperienceModel, OpenAIModelConfig
from dreamgym_env.serving import free_port

REQ = ModelRequest(messages=({"role": "user", "content": "hi"},), max_tokens=8, reply_format=ReplyFormat())


def model(url: str, **kw) -> OpenAIExperienceModel:
    return OpenAIExperienceModel(OpenAIModelConfig(base_url=url, backoff_s=0.01, timeout_s=5, **kw))


def test_asks_the_server_for_its_model_and_sends_the_regex() -> None:
    stub = Stub()
    try:
        m = model(stub.url)
        [r] = m.generate([REQ])
        assert r.text == REPLY and r.prompt_tokens == 7 and r.completion_tokens == 5
        body = stub.bodies[0]
        assert body["model"] == "stub-model"
        assert body["structured_outputs"]["regex"] == ReplyFormat().regex()
        m.close()
    finally:
        stub.close()


def test_a_prompt_over_the_context_is_a_reply_to_shorten_not_an_error() -> None:
    stub = Stub(context_chars=100)
    try:
        m = model(stub.url)
        long = ModelRequest(messages=({"role": "user", "content": "x" * 500},), max_tokens=8)
        over, ok = m.generate([long, REQ])
        assert over.finish_reason == CONTEXT_LENGTH and over.text == ""
        assert ok.text == REPLY and ok.finish_reason == "stop"
        assert len(stub.bodies) == 2  # not retried: shortening is the caller's job
    finally:
        stub.close()


def test_retries_5xx_then_succeeds() -> None:
    stub = Stub(script=[500, 503])
    try:
        m = model(stub.url, max_retries=3)
        assert m.generate([REQ])[0].text == REPLY
        assert len(stub.bodies) == 3
    finally:
        stub.close()


def test_gives_up_after_bounded_retries() -> None:
    stub = Stub(script=[502] * 10)
    try:
        m = model(stub.url, max_retries=2)
        with pytest.raises(ServerUnavailableError, match="dreamgym serve"):
            m.generate([REQ])
        assert len(stub.bodies) == 3
    finally:
        stub.close()


def test_4xx_is_not_retried() -> None:
    stub = Stub(script=[422])
    try:
        with pytest.raises(ModelRequestError):
            model(stub.url).generate([REQ])
        assert len(stub.bodies) == 1
    finally:
        stub.close()


def test_server_without_structured_outputs() -> None:
    stub = Stub(reject_structured=True)
    try:
        m = model(stub.url)
        assert m.generate([REQ, REQ])[1].text == REPLY
        assert "structured_outputs" not in stub.bodies[-1]
    finally:
        stub.close()


def test_server_down_is_a_typed_error_after_bounded_time() -> None:
    url = f"http://127.0.0.1:{free_port()}/v1"  # nothing listens here
    m = model(url, max_retries=2)
    t0 = time.perf_counter()
    with pytest.raises(ServerUnavailableError) as e:
        m.generate([REQ])
    assert time.perf_counter() - t0 < 10
    assert url in str(e.value) and "DREAMGYM_BASE_URL" in str(e.value)


def test_concurrent_batch_keeps_order() -> None:
    stub = Stub()
    try:
        m = model(stub.url)
        reqs = [ModelRequest(messages=({"role": "user", "content": str(i)},), max_tokens=4) for i in range(16)]
        assert len(m.generate(reqs)) == 16
        assert sorted(b["messages"][0]["content"] for b in stub.bodies) == sorted(str(i) for i in range(16))
        m.close()
    finally:
        stub.close()
