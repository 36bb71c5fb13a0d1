"""Broken experience-model replies through the env: repair, then a counted fallback; never an exception.

Each corpus reply is answered twice (original + repair): a reply the parser rejects must end in a
counted fallback (state unchanged, reward 0); one it accepts must give a reward in the domain's range.
"""

from __future__ import annotations

import collections
import json
import time

import gymnasium as gym
import pytest
from fakes import FakeModel

import dreamgym_env
from dreamgym_env.model.parse import parse_reply

ENV_IDS = list(dreamgym_env.ENV_IDS)
VALID = {"DreamGym-WebShop-v0": "search[red shoes]", "DreamGym-ALFWorld-v0": "look",
         "DreamGym-WebArena-v0": "goto [http://reddit.local/search?q=shoes]"}
GOOD = "<think>ok</think>\n<state>The page scrolls.</state>\n<reward>0</reward>\n<done>false</done>"


def _reply(reward: str = "0", done: str = "false", state: str = "s", think: str = "t") -> str:
    return f"<think>{think}</think>\n<state>{state}</state>\n<reward>{reward}</reward>\n<done>{done}</done>"


CORPUS: dict[str, list[str]] = {
    "empty": ["", " ", "\n\n", "\x00"],
    "truncated": [GOOD[:n] for n in (5, 12, 20, 30, 45, 60, 70, 80)] + ["<think>x</think><state>cut mid-sent"],
    "missing_field": ["<think>t</think><state>s</state><done>false</done>", "<state>s</state><reward>0</reward>",
                      "<think>t</think><reward>1</reward><done>true</done>", "<think>t</think><state>s</state>"],
    "bad_reward": [_reply(r) for r in ("yes", "2", "-1", "NaN", "nan", "inf", "-inf", "1e999", "one", "", "1/2",
                                       "0x1", "1_0", "100%", "[1]", "1 1", "true", "\u0661", "0.5.1", "1e-400")],
    "bad_done": [_reply(done=d) for d in ("the task is now complete and finished", "maybe", "", "yes and no",
                                          "it is not finished", "TRUE", "1", "done.", "\u2705", "probably")],
    "nested_repeated": [
        "<think><think>t</think></think><state><state>s</state></state><reward>0</reward><done>false</done>",
        _reply() + _reply(reward="1", done="true"),
        "<think>I say <reward>1</reward><done>true</done></think><state>s</state><reward>0</reward><done>false</done>",
        "<think>t</think><state>x <reward>1</reward> y</state><reward>0</reward><done>false</done>",
        "<think>t</think><state>s</state><reward><reward>1</reward></reward><done>true</done>",
        "<reward>1</reward><done>true</done>" + _reply(),
        "<THINK>t</Think><STATE>s</state><Reward>0</REWARD><done>False</done>",
    ],
    "huge": ["x" * 100_000, _reply(state="y" * 100_000), "<state>" * 15_000, "<think>" * 15_000,
             _reply(think="z" * 100_000), "<think>t</think><state>s</state><reward>" * 5_000,
             _reply(reward="0" * 50_000 + "1")],
    "json_not_tags": [json.dumps({"state": "s", "reward": 1, "done": True}),
                      json.dumps({"think": "t", "next_state": "s", "reward": "1", "done": "true"}), "[1, true]",
                      "```json\n{\"reward\": 1}\n```"],
    "tags_in_json": ['{"text": "<think>t</think><state>s</state><reward>0</reward><done>false</done>"}'],
    "prose": ["The agent wins. Reward: 1. Done: true.", "I cannot simulate this.", "<|im_end|>", "\ufffd" * 50],
}


@pytest.mark.timeout(120)
@pytest.mark.parametrize("env_id", ENV_IDS)
def test_model_output_corpus(env_id: str) -> None:
    counts: collections.Counter = collections.Counter()
    for category, replies in CORPUS.items():
        for bad in replies:
            for repair in (bad, GOOD):
                model = FakeModel(replies=[bad, repair])
                env = gym.make(env_id, experience_model=model, retrieval_k=0,
                               repair_observation=False)  # the fake's replies stand: the repair would tell look/inventory from the episode
                domain = env.unwrapped.domain
                lo, hi = domain.reward_range
                obs, _ = env.reset(seed=0)
                t0 = time.perf_counter()
                obs2, r, term, _trunc, info = env.step(VALID[env_id])
                assert time.perf_counter() - t0 < 2.0, f"slow on {category} reply {bad[:40]!r}"
                counts[(category, "tried")] += 1
                assert lo <= r <= hi and isinstance(obs2, str) and env.observation_space.contains(obs2)
                first = parse_reply(bad, domain.reward_range)
                if first.error is None:  # read at once (lenient forms); no repair needed
                    assert len(model.requests) == 1 and not info["fallback"]
                    counts[(category, "read")] += 1
                    continue
                assert len(model.requests) == 2 and info["repaired"]
                if repair is bad:
                    assert info["fallback"] and info["parse_error"]
                    assert obs2 == obs and r == 0.0 and not term
                    assert env.unwrapped.pipeline.stats.fallbacks == 1
                    counts[(category, "fallback")] += 1
                else:
                    assert not info["fallback"] and obs2 == "The page scrolls." and r == 0.0
                    counts[(category, "repaired")] += 1
    print(f"\n{env_id}: " + ", ".join(f"{c}: {counts[(c, 'tried')]} tried, {counts[(c, 'read')]} read, "
                                     f"{counts[(c, 'repaired')]} repaired, {counts[(c, 'fallback')]} fallback"
                                     for c in CORPUS))
    assert counts[("empty", "fallback")] == len(CORPUS["empty"])


@pytest.mark.parametrize("text", [r for rs in CORPUS.values() for r in rs], ids=lambda t: repr(t)[:30])
def test_parser_on_corpus(text: str) -> None:
    t0 = time.perf_counter()
    p = parse_reply(text, (0.0, 1.0))
    assert time.perf_counter() - t0 < 0.5
    assert 0.0 <= p.reward <= 1.0 and p.reward == p.reward
    if p.error is not None:
        assert p.reward == 0.0 and p.done is False
    assert "<reward>" not in p.next_state.lower()


def test_reward_is_never_read_from_think_or_state() -> None:
    p = parse_reply("<think>I say <reward>1</reward><done>true</done></think><state>s</state>"
                    "<reward>0</reward><done>false</done>")
    assert p.error is None and p.reward == 0.0 and p.done is False
    p = parse_reply("<think>t</think><state>x <reward>1</reward> y</state><reward>0</reward><done>false</done>")
    assert p.error is None and p.reward == 0.0 and "reward" not in p.next_state


def test_fake_claimed_reward_before_think_is_ignored() -> None:
    p = parse_reply("<reward>1</reward><done>true</done>" + _reply())
    assert p.reward == 0.0 and p.done is False


def _alfworld_with(model: FakeModel, **kwargs) -> tuple[gym.Env, str]:
    from dreamgym_env.domain import get_domain

    env = gym.make("DreamGym-ALFWorld-v0", experience_model=model, retrieval_k=0, **kwargs)
    _, info = env.reset(seed=3)
    task = env.unwrapped._episode.task
    # A place whose arrival the repair leaves as the fake model says it (not an openable one).
    go = next(a for a in info["admissible_actions"] if a.startswith("go to ") and get_domain("alfworld")
              .repair_observation(a, f"On the {a[6:]}, you see a cup 1.", task) == f"On the {a[6:]}, you see a cup 1.")
    return env, go


def test_a_reply_the_domain_rules_out_is_asked_again_with_another_seed() -> None:
    # v3 answers some admissible commands with "Nothing happens.", which the engine never does.
    arrival = _reply(state="On the {place}, you see a cup 1.")
    model = FakeModel(replies=[_reply(state="Nothing happens.")],
                      reply_fn=lambda r: arrival.format(place=r.messages[-1]["content"].split("go to ")[-1]
                                                        .split("<")[0].strip()))
    env, go = _alfworld_with(model)
    obs, _, _, _, info = env.step(go)
    first, again = model.requests
    assert obs == f"On the {go.removeprefix('go to ')}, you see a cup 1."
    assert info["resampled"] and not info["repaired"] and not info["fallback"]
    assert again.seed != first.seed and again.temperature >= 0.8 and again.messages == first.messages
    assert info["implausible_rate"] == 1.0 and info["implausible_kept_rate"] == 0.0
    env.close()


@pytest.mark.parametrize("queue", [["not a reply", "NOTHING"], ["NOTHING", "not a reply"]],
                         ids=["unreadable-then-ruled-out", "ruled-out-then-unreadable"])
def test_a_step_both_repaired_and_resampled_says_both(queue: list[str]) -> None:
    # One parse re-ask and one resample in the same step, in either order: info reports both.
    arrival = _reply(state="On the {place}, you see a cup 1.")
    model = FakeModel(replies=[_reply(state="Nothing happens.") if q == "NOTHING" else q for q in queue],
                      reply_fn=lambda r: arrival.format(place=r.messages[1]["content"].split("go to ")[-1]
                                                        .split("<")[0].strip()))  # the step's own message
    env, go = _alfworld_with(model)
    obs, _, _, _, info = env.step(go)
    assert len(model.requests) == 3 and obs == f"On the {go.removeprefix('go to ')}, you see a cup 1."
    assert info["repaired"] and info["resampled"] and not info["fallback"]
    env.close()


def test_a_reply_still_ruled_out_is_kept_and_counted() -> None:
    model = FakeModel(reply_fn=lambda r: _reply(state="Nothing happens."))
    env, go = _alfworld_with(model)
    obs, reward, _, _, info = env.step(go)
    assert obs == "Nothing happens." and reward == 0.0 and len(model.requests) == 2
    assert info["resampled"] and info["implausible_kept_rate"] == 1.0
    env.close()
    model = FakeModel(reply_fn=lambda r: _reply(state="Nothing happens."))
    env, go = _alfworld_with(model, resample_retries=0)
    obs, *_, info = env.step(go)
    assert obs == "Nothing happens." and len(model.requests) == 1 and not info["resampled"]
    assert info["implausible_rate"] == 1.0 and info["implausible_kept_rate"] == 1.0
    env.close()
