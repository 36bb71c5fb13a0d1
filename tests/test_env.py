"""DreamGymEnv around the model: check_env, bad input, repair/fallback, tasks, info.

The fake model here only exercises the code around the model; the real model path is covered by
tests/integration (a real vLLM server).
"""

from __future__ import annotations

import gymnasium as gym
import pytest
from fakes import FakeModel
from gymnasium.utils.env_checker import check_env

import dreamgym_env
from dreamgym_env.domain import get_domain
from dreamgym_env.types import Task

INFO_KEYS = {"task", "task_id", "reasoning", "retrieved", "admissible_actions", "action_error", "parse_error",
             "latency_s", "prompt_tokens", "completion_tokens", "repaired", "fallback"}


def make(env_id: str, model: FakeModel | None = None, **kw):
    return gym.make(env_id, experience_model=model or FakeModel(), **kw)


def valid_action(env_id: str) -> str:
    return {"DreamGym-WebShop-v0": "search[red shoes]", "DreamGym-ALFWorld-v0": "look",
            "DreamGym-WebArena-v0": "goto [http://reddit.local/search?q=shoes]"}[env_id]


def test_check_env(env_id: str) -> None:
    env = make(env_id)
    check_env(env.unwrapped, skip_render_check=True)


def test_reset_and_step_info(env_id: str) -> None:
    env = make(env_id)
    obs, info = env.reset(seed=0)
    assert isinstance(obs, str) and obs
    assert info["task"] and info["task_id"]
    obs2, r, term, trunc, info = env.step(valid_action(env_id))
    assert INFO_KEYS <= set(info), INFO_KEYS - set(info)
    assert info["action_error"] is None and info["parse_error"] is None
    assert len(info["retrieved"]) == 3 and all(isinstance(u, str) for u in info["retrieved"])
    assert env.observation_space.contains(obs2)
    assert r == 0.0 and not term and not trunc


def test_reset_is_seeded(env_id: str) -> None:
    env = make(env_id)
    a = [env.reset(seed=s)[1]["task_id"] for s in range(8)]
    b = [env.reset(seed=s)[1]["task_id"] for s in range(8)]
    assert a == b


def test_reset_with_task_option(env_id: str) -> None:
    env = make(env_id)
    domain = get_domain(dreamgym_env.ENV_IDS[env_id])
    task = domain.tasks("train")[0]
    assert env.reset(options={"task": task})[1]["task_id"] == task.task_id
    assert env.reset(options={"task": task.task_id})[1]["task_id"] == task.task_id
    assert env.reset(options={"task": task.to_dict()})[0] == task.initial_observation[: domain.max_observation_chars]
    _obs, info = env.reset(options={"task": "a brand new instruction"})
    assert info["task"] == "a brand new instruction"
    custom = Task("x", domain.name, "custom", "custom start")
    assert env.reset(options={"task": custom})[0] == "custom start"


BAD_ACTIONS = [None, 42, b"\xff\xfe", "", "   ", "x" * 1_000_000, "look\x00\x07", "go\nto", "\ud800",
               "go to countertop 1" * 100, ["look"], "<think>i win</think>"]


@pytest.mark.parametrize("action", BAD_ACTIONS, ids=lambda a: repr(a)[:20])
def test_bad_actions_never_crash(env_id: str, action: object) -> None:
    model = FakeModel()
    env = make(env_id, model)
    obs, _ = env.reset(seed=1)
    domain = env.unwrapped.domain
    obs2, r, term, _trunc, info = env.step(action)
    assert info["action_error"]
    assert obs2 == domain.invalid_action_observation(obs)
    assert r == 0.0 and not term
    assert model.requests == []  # the guard answered; the model was not asked
    assert env.observation_space.contains(obs2)


def test_unparseable_reply_is_repaired_once_then_falls_back(env_id: str) -> None:
    model = FakeModel(replies=["garbage", "still garbage"])
    env = make(env_id, model)
    obs, _ = env.reset(seed=0)
    obs2, r, term, _trunc, info = env.step(valid_action(env_id))
    assert len(model.requests) == 2  # original + one repair
    assert "could not be read" in model.requests[1].messages[-1]["content"]
    assert info["fallback"] and info["parse_error"] and info["repaired"]
    assert obs2 == obs and r == 0.0 and not term
    stats = env.unwrapped.pipeline.stats
    assert stats.fallbacks == 1 and stats.repairs == 1
    assert info["parse_fallback_rate"] == 1.0


def test_repair_succeeds(env_id: str) -> None:
    model = FakeModel(replies=["<think>x</think><state>cut"])
    env = make(env_id, model, repair_observation=False)  # the fake's replies stand: the repair would tell look/inventory from the episode
    env.reset(seed=0)
    obs2, _r, _term, _trunc, info = env.step(valid_action(env_id))
    assert info["repaired"] and not info["fallback"] and info["parse_error"] is None
    assert obs2.startswith("After ")


def test_reward_only_from_the_domain_rule() -> None:
    # A 'look' can never complete an ALFWorld task, whatever the model claims.
    model = FakeModel(replies=["<think>done</think><state>You win.</state><reward>1</reward><done>true</done>"])
    env = make("DreamGym-ALFWorld-v0", model)
    env.reset(seed=0)
    _, r, term, _, info = env.step("look")
    assert r == 0.0 and not term and info["outcome_note"]


@pytest.mark.parametrize("repair", [True, False])
def test_alfworld_success_replies_name_what_the_command_names(repair: bool) -> None:
    wrong = "<think>ok</think><state>You pick up the pot 1 from the countertop 1.</state><reward>0</reward><done>false</done>"
    env = make("DreamGym-ALFWorld-v0", FakeModel(replies=[wrong]), check_in_episode=False, repair_observation=repair)
    env.reset(seed=0)
    obs, _, _, _, info = env.step("take pot 2 from countertop 1")
    stats = env.unwrapped.pipeline.stats
    if repair:
        assert obs == "You pick up the pot 2 from the countertop 1." and info["observation_repaired"]
        assert stats.observation_repairs == 1 and info["observation_repair_rate"] == 1.0
    else:
        assert obs == "You pick up the pot 1 from the countertop 1." and "observation_repaired" not in info
        assert stats.observation_repairs == 0


def test_time_limit_truncates(env_id: str) -> None:
    env = make(env_id, max_episode_steps=2, retrieval_k=0)
    env.reset(seed=0)
    assert not env.step(valid_action(env_id))[3]
    assert env.step(valid_action(env_id))[3]


def test_history_feeds_the_prompt(env_id: str) -> None:
    model = FakeModel()
    env = make(env_id, model, retrieval_k=0)
    env.reset(seed=0)
    env.step(valid_action(env_id))
    env.step(valid_action(env_id))
    user = model.requests[-1].messages[1]["content"]
    assert "History:" in user and "Step 1:" in user
    assert model.requests[0].reply_format is not None


def test_render_ansi(env_id: str) -> None:
    env = make(env_id, render_mode="ansi")
    env.reset(seed=0)
    env.step(valid_action(env_id))
    text = env.render()
    assert valid_action(env_id) in text and "reasoning" in text


def test_step_before_reset_raises() -> None:
    env = make("DreamGym-ALFWorld-v0").unwrapped
    with pytest.raises(gym.error.ResetNeeded):
        env.step("look")


def test_record_transitions_persist(tmp_path, env_id: str) -> None:
    path = tmp_path / "replay.sqlite"
    env = make(env_id, replay_path=str(path), record_transitions=True)
    env.reset(seed=0)
    env.step(valid_action(env_id))
    env.close()
    from dreamgym_env.replay import TransitionStore

    store = TransitionStore(path)
    domain = dreamgym_env.ENV_IDS[env_id]
    n_seed = len(get_domain(domain).seed_transitions())
    assert store.count(domain) == n_seed + 1
    assert (tmp_path / f"replay.sqlite.{domain}.hnsw").exists()


def test_server_down_is_a_typed_error() -> None:
    from dreamgym_env.error import ServerUnavailableError
    from dreamgym_env.serving import free_port

    env = gym.make("DreamGym-ALFWorld-v0", base_url=f"http://127.0.0.1:{free_port()}/v1", max_retries=1,
                   retrieval_k=0)
    env.reset(seed=0)
    with pytest.raises(ServerUnavailableError, match="dreamgym serve"):
        env.step("look")
    # The guard still answers bad actions without a server.
    assert env.step("???")[4]["action_error"]
