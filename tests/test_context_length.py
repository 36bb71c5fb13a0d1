"""Prompts longer than the model's context: shortened and asked again, else a counted fallback.

The fake model plays a server with a small context; the backends' side (vLLM's 400, the in-process
model's positions) is in test_openai_backend.py and test_constrained.py, the real server in
tests/integration/test_context_length_vllm.py.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import gymnasium as gym
from fakes import FakeModel

from dreamgym_env.model.base import CONTEXT_LENGTH, ModelReply, ModelRequest
from dreamgym_env.pipeline import CONTEXT_ERROR, CONTEXT_RETRIES

ACTION = {"DreamGym-WebShop-v0": "search[red shoes]", "DreamGym-ALFWorld-v0": "look",
          "DreamGym-WebArena-v0": "goto [http://reddit.local/search?q=shoes]"}


class SmallContextModel(FakeModel):
    """Refuses prompts longer than ``fraction`` of the first prompt it saw (``0`` = refuses all)."""

    def __init__(self, fraction: float) -> None:
        super().__init__()
        self.fraction = fraction
        self.limit: int | None = None

    def generate(self, requests: Sequence[ModelRequest]) -> list[ModelReply]:
        out = []
        for r in requests:
            n = len(r.messages[-1]["content"])
            self.limit = int(n * self.fraction) if self.limit is None else self.limit
            if n > self.limit:
                self.requests.append(r)
                out.append(ModelReply(text="", finish_reason=CONTEXT_LENGTH))
            else:
                out.extend(super().generate([r]))
        return out


def test_a_prompt_over_the_context_is_shortened_until_it_fits(env_id: str) -> None:
    model = SmallContextModel(0.85)
    env = gym.make(env_id, experience_model=model, repair_observation=False)  # the fake's replies stand: the repair would tell look/inventory from the episode
    env.reset(seed=0)
    obs, _r, _term, _trunc, info = env.step(ACTION[env_id])
    sizes = [len(q.messages[-1]["content"]) for q in model.requests]
    assert len(sizes) >= 2 and sizes[-1] <= model.limit < sizes[0]
    assert all(b < a for a, b in itertools.pairwise(sizes))  # each try shorter
    assert model.requests[-1].messages[-1]["content"].endswith(f"<action>{ACTION[env_id]}</action>")
    assert info["prompt_shortened"] and not info["fallback"] and not info["repaired"]
    assert info["parse_error"] is None and obs.startswith("After ")
    stats = env.unwrapped.pipeline.stats
    assert stats.prompt_shortenings == len(sizes) - 1 and stats.fallbacks == 0
    assert info["prompt_shortened_rate"] > 0


def test_a_prompt_that_never_fits_falls_back_counted_without_a_repair(env_id: str) -> None:
    model = SmallContextModel(0.0)
    env = gym.make(env_id, experience_model=model)
    obs0, _ = env.reset(seed=0)
    obs, r, term, trunc, info = env.step(ACTION[env_id])
    assert len(model.requests) == 1 + CONTEXT_RETRIES  # no repair message: it would only be longer
    assert not any("could not be read" in q.messages[-1]["content"] for q in model.requests)
    assert info["fallback"] and info["parse_error"] == CONTEXT_ERROR and info["prompt_shortened"]
    assert obs == obs0 and r == 0.0 and not term and not trunc
    assert env.unwrapped.pipeline.stats.fallbacks == 1
