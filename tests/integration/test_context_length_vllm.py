"""A prompt longer than the served model's context, against a real vLLM server (the trained ALFWorld
default, 2,048 positions): vLLM's 400 is recognised, the prompt is shortened and answered, or the step
falls back, counted; it never raises into the RL loop."""

from __future__ import annotations

import random

import gymnasium as gym
import pytest

from dreamgym_env.domain import get_domain
from dreamgym_env.pipeline import CONTEXT_ERROR
from dreamgym_env.types import Task

pytestmark = [pytest.mark.integration, pytest.mark.timeout(600),
              pytest.mark.skipif(get_domain("alfworld").default_model_dir() is None,
                                 reason="envs/alfworld/data/model is not shipped")]

NAMES = ("cabinet", "drawer", "shelf", "countertop", "stoveburner", "garbagecan", "fridge", "sinkbasin")


def _crowded_room(chars: int = 4000) -> str:
    """An ALFWorld-style first observation listing hundreds of receptacles (~1,200 tokens for the
    trained tokenizer; with the retrieved examples the prompt exceeds 2,048 tokens)."""
    rng = random.Random(0)
    items = ", ".join(f"a {rng.choice(NAMES)} {rng.randint(1, 99)}" for _ in range(500))
    return ("-= Welcome to TextWorld, ALFRED! =-\n\nYou are in the middle of a room. Looking quickly around you, "
            f"you see {items}")[:chars]


def _env(server):
    return gym.make("DreamGym-ALFWorld-v0", base_url=server.base_url, model="default-alfworld",
                    check_in_episode=False)


def test_a_page_too_long_for_the_context_is_shortened_and_answered(trained_server):
    env = _env(trained_server)
    env.reset(options={"task": Task("crowded", "alfworld", "put a mug in shelf 1.", _crowded_room())})
    obs, _r, _term, _trunc, info = env.step("look")
    assert info["prompt_shortened"] and not info["fallback"], info["parse_error"]
    assert 0 < info["prompt_tokens"] and isinstance(obs, str) and obs
    assert env.unwrapped.pipeline.stats.prompt_shortenings >= 1
    env.close()


def test_a_prompt_that_cannot_be_shortened_enough_falls_back(trained_server):
    env = _env(trained_server)
    goal = "put a mug in shelf 1, " + "then check every shelf and drawer in this room again, " * 200
    obs0, _ = env.reset(options={"task": Task("long-goal", "alfworld", goal, "You are in a room.")})
    obs, r, term, _trunc, info = env.step("look")  # the instruction is never clipped: no shortening fits
    assert info["fallback"] and info["parse_error"] == CONTEXT_ERROR
    assert obs == obs0 and r == 0.0 and not term
    env.close()
