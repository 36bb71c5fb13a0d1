"""Action fuzzing: generated actions through ``step`` of single and vector envs, for every domain.

Every invalid action must get the "nothing happens" answer (no exception, reward 0, not terminated,
the model not asked, ``info["action_error"]`` set). Per domain, the single-env test runs
``BATCHES x BATCH`` = 10,000 generated actions; the counts per category are checked at the end.
"""

from __future__ import annotations

import collections
import math

import gymnasium as gym
import pytest
from fakes import FakeModel
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import dreamgym_env

ENV_IDS = list(dreamgym_env.ENV_IDS)
BATCH = 50
BATCHES = 200  # 200 hypothesis examples x 50 actions = 10,000 actions per domain

VALID = {
    "DreamGym-WebShop-v0": ["search[red shoes]", "search[a]"],
    "DreamGym-ALFWorld-v0": ["look", "inventory"],
    # (``go_back`` is not here: from about:blank it has nowhere to go, and the guard says so)
    "DreamGym-WebArena-v0": ["scroll [down]", "goto [http://reddit.local/search?q=shoes]", "stop [answer]"],
}


def _near_misses(valid: str) -> list[str]:
    """Grammar near-misses of a valid action that no domain accepts."""
    return [
        valid.upper(), "<" + valid, "[" + valid, "<think>" + valid + "</think>", valid + "\x00", valid + "\nlook",
        valid + "\u200b\x07", valid + " " * 5 + "\x1b[31m", "\ufeff" + valid + "\x7f", "<reward>1</reward>" + valid,
    ]


_control = st.text(alphabet=st.characters(min_codepoint=0, max_codepoint=31, exclude_characters="\t"), min_size=1,
                   max_size=20)
CATEGORIES: dict[str, st.SearchStrategy] = {
    "empty": st.just(""),
    "whitespace": st.text(alphabet=" \t\u00a0\u2003\u3000", min_size=1, max_size=40),
    "huge": st.one_of(st.just(1_000_000), st.integers(1_000, 1_000_000)).map(lambda n: "search[" + "x" * n + "]"),
    "control_bytes": st.tuples(st.text(max_size=10), _control, st.text(max_size=10)).map(lambda t: "look" + "".join(t)),
    "lone_surrogates": st.tuples(st.text(max_size=8), st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF))
    .map(lambda t: "look " + t[0] + t[1]),
    "non_str": st.one_of(st.none(), st.integers(), st.floats(allow_nan=True), st.binary(max_size=20),
                         st.lists(st.just("look"), max_size=3), st.dictionaries(st.text(max_size=3), st.integers(),
                                                                                max_size=2),
                         st.just(object()), st.just(math.inf)),
}
#: Categories where every generated action is invalid in every domain.
ALWAYS_INVALID = set(CATEGORIES) | {"near_miss"}


def category_strategy(env_id: str) -> st.SearchStrategy:
    """(category, action) pairs; ``random_text`` may be valid, the others never are."""
    near = [m for v in VALID[env_id] for m in _near_misses(v)]
    options = [st.tuples(st.just(k), s) for k, s in CATEGORIES.items()]
    options.append(st.tuples(st.just("near_miss"), st.sampled_from(near)))
    options.append(st.tuples(st.just("random_text"), st.text(max_size=60)))
    options.append(st.tuples(st.just("valid"), st.sampled_from(VALID[env_id])))
    return st.one_of(*options)


def _check(env_id: str, domain, prev_obs: str, category: str, action: object, result, asked: bool,
           counts: collections.Counter) -> None:
    obs, r, term, _trunc, info = result
    lo, hi = domain.reward_range
    assert isinstance(obs, str) and lo <= float(r) <= hi
    counts[(category, "tried")] += 1
    if category in ALWAYS_INVALID:
        assert info["action_error"], (category, repr(action)[:80])
    if category == "valid":
        assert info["action_error"] is None, (action, info["action_error"])
    if info["action_error"]:
        counts[(category, "rejected")] += 1
        assert obs == domain.invalid_action_observation(prev_obs)
        assert r == 0.0 and not term
        assert not asked, "the guard answered; the model must not be asked"
        assert isinstance(info["reasoning"], str)
        info["reasoning"].encode("utf-8")  # printable, no lone surrogates
    else:
        assert asked or info["told"]  # a valid action: the model answers it, or the episode already fixes it


@pytest.mark.timeout(120)
@pytest.mark.parametrize("env_id", ENV_IDS)
def test_fuzz_single_env(env_id: str) -> None:
    model = FakeModel()
    env = gym.make(env_id, experience_model=model, retrieval_k=0, max_episode_steps=None)
    domain = env.unwrapped.domain
    counts: collections.Counter = collections.Counter()
    state = {"obs": env.reset(seed=0)[0], "n": 0}

    @settings(max_examples=BATCHES, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))
    @given(st.lists(category_strategy(env_id), min_size=BATCH, max_size=BATCH))
    def run(batch):
        # Each example starts a fresh episode, so a failing example replays the same way when shrunk.
        state["obs"] = env.reset(seed=state["n"])[0]
        for category, action in batch:
            n_req = len(model.requests)
            result = env.step(action)
            _check(env_id, domain, state["obs"], category, action, result, len(model.requests) > n_req, counts)
            state["obs"] = result[0]
            state["n"] += 1
            if result[2] or result[3]:
                state["obs"] = env.reset(seed=state["n"])[0]

    run()
    tried = sum(v for (c, k), v in counts.items() if k == "tried")
    assert tried >= BATCHES * BATCH >= 10_000
    for c in ALWAYS_INVALID:
        assert counts[(c, "tried")] > 0, f"category {c} never generated"
        assert counts[(c, "rejected")] == counts[(c, "tried")]
    print(f"\n{env_id}: " + ", ".join(f"{c}={counts[(c, 'tried')]}/{counts[(c, 'rejected')]} rejected"
                                     for c in sorted({c for c, _ in counts})))


@pytest.mark.timeout(60)
@pytest.mark.parametrize("env_id", ENV_IDS)
def test_fuzz_vector_env(env_id: str) -> None:
    model = FakeModel()
    envs = gym.make_vec(env_id, num_envs=4, experience_model=model, retrieval_k=0)
    domain = envs.unwrapped.domain if hasattr(envs.unwrapped, "domain") else dreamgym_env.domain.get_domain(
        dreamgym_env.ENV_IDS[env_id])
    obs, _ = envs.reset(seed=0)
    lo, hi = domain.reward_range
    counts: collections.Counter = collections.Counter()

    @settings(max_examples=150, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))
    @given(st.lists(category_strategy(env_id), min_size=4, max_size=4))
    def run(batch):
        nonlocal obs
        obs, _ = envs.reset(seed=len(model.requests))
        actions = [a for _, a in batch]
        n_req = len(model.requests)
        new_obs, rew, term, _trunc, infos = envs.step(actions)
        errs = infos["action_error"]
        assert len(new_obs) == 4 and ((rew >= lo) & (rew <= hi)).all()
        for j, (category, action) in enumerate(batch):
            counts[(category, "tried")] += 1
            if category in ALWAYS_INVALID:
                assert errs[j], (category, repr(action)[:80])
            if errs[j]:
                counts[(category, "rejected")] += 1
                assert new_obs[j] == domain.invalid_action_observation(obs[j])
                assert rew[j] == 0.0 and not term[j]
        # Every valid action is the model's, but those the episode already fixes (told).
        told = infos.get("told", [False] * 4)
        assert len(model.requests) - n_req == sum(1 for e, t in zip(errs, told) if not e and not t)

    run()
    envs.close()
    assert sum(v for (c, k), v in counts.items() if k == "tried") == 600
