"""ALFWorld-Real-v0 over the real engine: API, expert, dialects, bad input, teacher, conformance."""

from __future__ import annotations

import itertools
import subprocess
import sys

import gymnasium as gym
import pytest

pytest.importorskip("textworld", reason="needs the alfworld extra")

from dreamgym_env.envs.alfworld.alfred import TASK_TYPES
from dreamgym_env.envs.alfworld.engine import ALFWorldEngine, check_solvable, entity_names
from dreamgym_env.envs.alfworld.generator import generate_problem
from dreamgym_env.envs.alfworld.problem import InvalidProblemError
from dreamgym_env.envs.alfworld.real_env import ALFWorldRealEnv
from gymnasium.utils.env_checker import check_env

import dreamgym_env  # noqa: F401  (registers the envs)
from dreamgym_env.domain import get_domain
from dreamgym_env.error import MissingDependencyError

DOMAIN = get_domain("alfworld")


@pytest.fixture(scope="module")
def env() -> ALFWorldRealEnv:
    return gym.make("ALFWorld-Real-v0").unwrapped


def play_expert(env: ALFWorldRealEnv, problem, max_steps: int = 50):
    obs, info = env.reset(options={"problem": problem})
    rewards = []
    for _ in range(max_steps):
        obs, r, term, _, info = env.step(info["expert_action"])
        rewards.append(r)
        if term:
            break
    return obs, rewards, term, info


def test_registered_with_string_entry_point_and_cheap_import() -> None:
    spec = gym.spec("ALFWorld-Real-v0")
    assert isinstance(spec.entry_point, str) and spec.max_episode_steps == 50
    code = "import dreamgym_env, sys; assert 'textworld' not in sys.modules and 'alfworld' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_missing_dependency_names_the_extra() -> None:
    code = (
        "import sys; sys.modules['textworld'] = None\n"
        "import gymnasium as gym, dreamgym_env\n"
        "from dreamgym_env.error import MissingDependencyError\n"
        "try:\n    gym.make('ALFWorld-Real-v0')\nexcept MissingDependencyError as e:\n"
        "    assert e.extra == 'alfworld' and \"dreamgym-env[alfworld]\" in str(e), e\n    print('ok')\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert out.stdout.strip() == "ok", out.stderr
    assert issubclass(MissingDependencyError, ImportError)


def test_check_env(env: ALFWorldRealEnv) -> None:
    check_env(env, skip_render_check=True)


def test_reset_text_and_info(env: ALFWorldRealEnv) -> None:
    obs, info = env.reset(seed=3)
    assert obs.startswith("You are in the middle of a room. Looking quickly around you, you see a ")
    assert "\n\nYour task is to: " in obs and obs.endswith(".")
    assert info["task_id"] and info["task_type"] in TASK_TYPES
    acts = info["admissible_actions"]
    assert acts == sorted(set(acts)) and "look" in acts and "inventory" in acts
    assert "help" not in acts  # the dataset ("put") dialect has no help command
    obs2, _ = env.reset(seed=3)
    assert obs2 == obs


@pytest.mark.parametrize("task_type", TASK_TYPES)
def test_expert_solves_and_reward_is_one_exactly_at_the_goal(env: ALFWorldRealEnv, task_type: str) -> None:
    for split, seed in (("train", 11), ("test", 12)):
        problem = generate_problem(seed, task_type, split=split)
        obs, rewards, term, info = play_expert(env, problem)
        assert term and info["won"], (task_type, split, obs)
        assert rewards[-1] == 1.0 and set(rewards[:-1]) <= {0.0}
        assert "reward is 1" in info["reasoning"]


def test_invalid_commands_change_nothing(env: ALFWorldRealEnv) -> None:
    problem = generate_problem(5, "pick_clean_then_place_in_recep", split="train")
    env.reset(options={"problem": problem})
    before = env.engine.facts()
    for bad in ["dance", "go to the moon", "take unicorn 1 from countertop 1", "move mug 1 to fridge 1", "help", ""]:
        obs, r, term, _, info = env.step(bad)
        assert obs == "Nothing happens." and r == 0.0 and not term
        assert info["valid"] is False and info["action_error"]
        assert env.engine.facts() == before
    obs, _, _, _, info = env.step(12345)  # not even a string: still no exception
    assert obs == "Nothing happens." and "str" in info["action_error"]


def test_teacher_reasoning_uses_the_state(env: ALFWorldRealEnv) -> None:
    problem = generate_problem(5, "pick_clean_then_place_in_recep", split="train")
    _, info = env.reset(options={"problem": problem})
    first = info["expert_action"]  # "go to R" where the object is
    target = first.removeprefix("go to ")
    _, _, _, _, info = env.step(f"take {problem.goal.object_type.lower()} 1 from {target}")
    assert info["valid"] is False and f"not at {target}" in info["reasoning"]
    _, _, _, _, info = env.step(first)
    assert info["valid"] and target in info["reasoning"] and "not met" in info["reasoning"]
    while not info["expert_action"].startswith("take "):
        _, _, _, _, info = env.step(info["expert_action"])
    take = info["expert_action"]
    held = take.split()[1] + " " + take.split()[2]
    _, _, _, _, info = env.step(take)
    assert f"now holds {held}" in info["reasoning"] and "not clean yet" in info["reasoning"]
    _, _, _, _, info = env.step(take)
    assert info["valid"] is False and "already holds" in info["action_error"]


def test_dialects() -> None:
    problem = generate_problem(2, "pick_and_place_simple", split="train")
    put_env = ALFWorldRealEnv(dialect="put")
    obs, _, term, info = play_expert(put_env, problem)
    assert term and obs.startswith("You put the ") and " in/on the " in obs
    move_env = ALFWorldRealEnv(dialect="move")
    obs, info = move_env.reset(options={"problem": problem})
    assert "help" in info["admissible_actions"]
    first = info["expert_action"]
    obs, *_ = move_env.step(first)
    assert obs.startswith(f"You arrive at {first.removeprefix('go to ')}.")
    obs, _, term, info = play_expert(move_env, problem)
    assert term and obs.startswith("You move the ") and " to the " in obs
    # Dataset harnesses write "put O in R" / "put O on R": the put dialect accepts both.
    put_env.reset(options={"problem": problem})
    info = {"expert_action": ""}
    _, info = put_env.reset(options={"problem": problem})
    while not info["expert_action"].startswith("put "):
        *_, info = put_env.step(info["expert_action"])
    obs, r, *_ = put_env.step(info["expert_action"].replace(" in/on ", " on "))
    assert r == 1.0 and obs.startswith("You put the ")


def test_shipped_tasks_replay_their_first_observation(env: ALFWorldRealEnv) -> None:
    tasks = list(DOMAIN.tasks("train")) + list(DOMAIN.tasks("test"))
    sample = [next(t for t in tasks if t.meta["task_type"] == tt) for tt in TASK_TYPES]
    for task in sample:
        obs, info = env.reset(options={"task": task})
        assert obs == task.initial_observation
        assert info["task_id"] == task.task_id


def _replay_episodes(env: ALFWorldRealEnv, episodes: int) -> int:
    tasks = {t.task_id: t for t in [*DOMAIN.tasks("train"), *DOMAIN.tasks("test")]}
    by_episode = {}
    for t in DOMAIN.seed_transitions():
        by_episode.setdefault(t.episode_id, []).append(t)
    checked = 0
    for ep in itertools.islice(by_episode.values(), episodes):
        ep.sort(key=lambda t: t.step)
        obs, info = env.reset(options={"task": tasks[ep[0].task_id]})
        assert obs == ep[0].state
        for t in ep:
            # Admissible commands are sorted and deduplicated, as upstream.
            assert t.meta["admissible_actions"] == sorted(set(t.meta["admissible_actions"]))
            assert info["admissible_actions"] == t.meta["admissible_actions"]
            obs, r, term, _, info = env.step(t.action)
            assert (obs, float(r), term, info["valid"]) == (t.next_state, t.reward, t.done, t.valid)
            assert info["reasoning"] == t.reasoning
            checked += 1
    return checked


def test_conformance_stored_trajectories_replay_identically(env: ALFWorldRealEnv) -> None:
    assert _replay_episodes(env, 8) > 30


@pytest.mark.slow
def test_conformance_all_stored_trajectories(env: ALFWorldRealEnv) -> None:
    assert _replay_episodes(env, 10**6) == len(DOMAIN.seed_transitions())


def test_entity_names_follow_upstream_numbering() -> None:
    ids = ["cabinet_bar_a", "cabinet_bar_b", "cabinet_bar_c", "sink_bar_x_bar_sinkbasin", "agent1"]
    assert entity_names(ids) == {"cabinet_bar_a": "cabinet 3", "cabinet_bar_b": "cabinet 2",
                                 "cabinet_bar_c": "cabinet 1", "sink_bar_x_bar_sinkbasin": "sinkbasin 1",
                                 "agent1": "agent1"}


def test_unknown_task_and_dialect_are_clear_errors() -> None:
    with pytest.raises(ValueError, match="dialect"):
        ALFWorldRealEnv(dialect="shout")
    env = ALFWorldRealEnv()
    with pytest.raises(InvalidProblemError, match="no 'problem'"):
        env.reset(options={"task": DOMAIN.make_task("put a mug in fridge.")})


@pytest.mark.slow
def test_engine_planner_certifies_a_problem() -> None:
    # The engine's own PDDL planner (fast-downward) agrees the problem is solvable. Slow: seconds.
    problem = generate_problem(1, "pick_and_place_simple", layout="FloorPlan402")
    engine = ALFWorldEngine("put")
    plan = check_solvable(engine, problem)
    assert plan and plan[-1].startswith("put ")


def test_disk_cache_replays_identically(tmp_path) -> None:
    problem = generate_problem(4, "pick_heat_then_place_in_recep", split="train")
    cold = ALFWorldEngine("put", cache_size=0, cache_dir=tmp_path)
    cold.load(problem)
    first = cold.reset()
    files = list(tmp_path.glob("*.pkl.z"))
    assert len(files) == 1
    warm = ALFWorldEngine("put", cache_size=0, cache_dir=tmp_path)
    warm.load(problem)
    assert warm.reset() == first and warm.admissible_commands == cold.admissible_commands
    files[0].write_bytes(b"garbage")  # a corrupt entry is translated again, not trusted
    again = ALFWorldEngine("put", cache_size=0, cache_dir=tmp_path)
    again.load(problem)
    assert again.reset() == first


def test_expert_solves_procedural_rooms(env: ALFWorldRealEnv) -> None:
    problem = generate_problem(0, "pick_heat_then_place_in_recep", layout="Procedural-Kitchen-0")
    obs, rewards, term, _ = play_expert(env, problem)
    assert term and rewards[-1] == 1.0, obs
