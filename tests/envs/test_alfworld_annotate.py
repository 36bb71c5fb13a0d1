"""LLM teacher annotation (dreamgym_env.training.annotate) on ALFWorld transitions.

The unit tests use a small fake client and only test the code around the model; the integration
test talks to a real OpenAI-compatible server named by ``DREAMGYM_TEST_BASE_URL``.
"""

from __future__ import annotations

import dataclasses
from types import SimpleNamespace

import httpx
import openai
import pytest

from dreamgym_env.domain import get_domain
from dreamgym_env.error import ModelRequestError, ServerUnavailableError
from dreamgym_env.training.annotate import TeacherConfig, annotate, build_messages, clean_reply

DOMAIN = get_domain("alfworld")


class FakeClient:
    """Answers chat completions with ``reply(messages)``; can fail the first ``fail`` calls."""

    def __init__(self, reply=lambda messages: "<think>It is valid.</think> The agent moves. Reward 0.",
                 fail: int = 0, error: type[Exception] | None = None) -> None:
        self.calls: list[dict] = []
        self.fail, self.error, self.reply = fail, error, reply
        self.models = SimpleNamespace(list=lambda: SimpleNamespace(data=[SimpleNamespace(id="fake-teacher")]))
        self.chat = SimpleNamespace(completions=SimpleNamespace(create=self._create))

    def _create(self, **kwargs):
        self.calls.append(kwargs)
        if len(self.calls) <= self.fail:
            req = httpx.Request("POST", "http://fake/v1/chat/completions")
            if self.error is openai.BadRequestError:
                raise openai.BadRequestError("bad", response=httpx.Response(400, request=req), body=None)
            raise openai.APIConnectionError(request=req)
        return SimpleNamespace(choices=[SimpleNamespace(message=SimpleNamespace(content=self.reply(kwargs["messages"])))])


def _transitions(n: int = 6):
    trs = list(DOMAIN.seed_transitions()[:n])
    return [dataclasses.replace(t, reasoning="") if i % 2 == 0 else t for i, t in enumerate(trs)]


def test_fills_missing_reasoning_in_order() -> None:
    trs = _transitions()
    client = FakeClient()
    out = list(annotate(trs, TeacherConfig(concurrency=3), client=client, progress=False))
    assert [t.uid for t in out] == [t.uid for t in trs]
    for before, after in zip(trs, out):
        if before.reasoning:
            assert after == before  # already annotated: untouched
        else:
            assert after.reasoning == "It is valid. The agent moves. Reward 0."
            assert after.meta["teacher"] == "fake-teacher"
    assert len(client.calls) == sum(1 for t in trs if not t.reasoning)


def test_prompt_carries_the_transition_and_domain_rules() -> None:
    t = DOMAIN.seed_transitions()[0]
    messages = build_messages(t, DOMAIN.system_prompt())
    assert messages[0]["content"].startswith(DOMAIN.system_prompt()[:40])
    assert t.action in messages[1]["content"] and t.next_state in messages[1]["content"]
    assert t.instruction in messages[1]["content"]


def test_overwrite_and_clean_reply() -> None:
    trs = _transitions(2)
    out = list(annotate(trs, TeacherConfig(overwrite=True), client=FakeClient(lambda m: "A. B. C. D."), progress=False))
    assert all(t.reasoning == "A. B. C." for t in out)
    assert clean_reply("  <think>x</think>\n\n y ") == "x y"
    empty = list(annotate(trs[:1], TeacherConfig(overwrite=True), client=FakeClient(lambda m: ""), progress=False))
    assert empty[0].meta["teacher_error"] == "empty reply"


def test_retries_connection_errors_then_raises_typed_errors() -> None:
    trs = _transitions(1)
    client = FakeClient(fail=2)
    out = list(annotate(trs, TeacherConfig(max_retries=2), client=client, progress=False))
    assert out[0].reasoning and len(client.calls) == 3
    with pytest.raises(ServerUnavailableError):
        list(annotate(trs, TeacherConfig(max_retries=1), client=FakeClient(fail=5), progress=False))
    bad = FakeClient(fail=5, error=openai.BadRequestError)
    with pytest.raises(ModelRequestError):
        list(annotate(trs, TeacherConfig(max_retries=3), client=bad, progress=False))
    assert len(bad.calls) == 1  # 4xx is never retried


@pytest.mark.integration
def test_real_teacher_server(vllm_server) -> None:
    base_url = vllm_server.base_url
    trs = [dataclasses.replace(DOMAIN.seed_transitions()[0], reasoning="")]
    out = list(annotate(trs, TeacherConfig(base_url=base_url, max_tokens=40, system_prompt=DOMAIN.system_prompt()),
                        progress=False))
    assert out[0].reasoning.strip() and out[0].meta["teacher"]
