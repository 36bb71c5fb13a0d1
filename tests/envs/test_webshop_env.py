"""WebShop-Real-v0, the scripted shoppers, the DreamGym-WebShop domain and the shipped data."""

from __future__ import annotations

import statistics
import subprocess
import sys

import gymnasium as gym
import pytest
from dreamgym_env.envs.webshop.env import WebShopRealEnv
from dreamgym_env.envs.webshop.generator import GeneratorConfig
from dreamgym_env.envs.webshop.loader import load_shipped_catalog
from dreamgym_env.envs.webshop.make_data import DATA_DIR, SHIPPED_DIR, write_catalog
from gymnasium.utils.env_checker import check_env

import dreamgym_env  # noqa: F401  (registers the envs)
from dreamgym_env.data.collect import run_episode
from dreamgym_env.domain import Outcome, get_domain
from dreamgym_env.types import load_tasks, load_transitions

DOMAIN = get_domain("webshop")


@pytest.fixture(scope="module")
def env() -> WebShopRealEnv:
    return gym.make("WebShop-Real-v0").unwrapped


def play(env, policy_name: str, goal_id: str, seed: int, max_steps: int = 15):
    policy = DOMAIN.make_policy(policy_name, seed=seed)
    obs, info = env.reset(seed=seed, options={"goal": goal_id})
    policy.reset(obs, info)
    steps = []
    for _ in range(max_steps):
        action = policy.act(obs, info)
        nobs, r, term, _, ninfo = env.step(action)
        steps.append((obs, info, action, nobs, r, term, ninfo))
        obs, info = nobs, ninfo
        if term:
            break
    return steps


def test_registered_with_string_entry_point_and_cheap_import():
    spec = gym.spec("WebShop-Real-v0")
    assert spec.entry_point == "dreamgym_env.envs.webshop.env:WebShopRealEnv" and spec.max_episode_steps == 15
    code = "import sys, dreamgym_env; print(sorted(m for m in sys.modules if m.startswith('dreamgym_env.envs.webshop.')))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_check_env(env):
    check_env(env, skip_render_check=True)


def test_text_rich_mode_and_render():
    e = WebShopRealEnv(observation_mode="text_rich", render_mode="ansi")
    obs, _ = e.reset(seed=3)
    assert obs.startswith("WebShop\nInstruction:\n") and obs.endswith("[button] Search [button_]\n")
    assert e.render() == obs
    with pytest.raises(ValueError, match="observation_mode"):
        WebShopRealEnv(observation_mode="html")


def test_reset_with_a_domain_task_meets_the_collect_contract(env):
    task = DOMAIN.tasks("test")[0]
    obs, info = env.reset(seed=0, options={"task": task})
    assert obs == task.initial_observation and info["task_id"] == task.task_id
    assert info["admissible_actions"] == ["search[...]"] and info["goal"]["goal_id"] == task.task_id
    _, _, _, _, info2 = env.step("search[" + task.instruction.split(",")[0] + "]")
    for key in ("reasoning", "valid", "admissible_actions", "action_error"):
        assert key in info2
    assert info2["valid"] and info2["action_error"] is None and "BM25" in info2["reasoning"]
    assert any(a.startswith("click[b0") for a in info2["admissible_actions"])


def test_bad_action_in_env(env):
    obs, _ = env.reset(seed=1)
    for bad in ("click[]", "search[", "click[nope]", "x" * 20_000, "search[" + "y" * 10_000 + "]"):
        obs2, r, term, _, info = env.step(bad)
        assert obs2 == obs and r == 0 and not term and not info["valid"] and info["action_error"]
        assert "not available" in info["reasoning"]


def test_expert_buys_the_goal(env):
    goals = env.split_goals("test")[:60]
    rewards = []
    for i, g in enumerate(goals):
        steps = play(env, "expert", g.goal_id, seed=i)
        assert steps[-1][5], "expert must finish by buying"
        assert all(s[6]["valid"] for s in steps)
        rewards.append(steps[-1][4])
    assert statistics.mean(rewards) > 0.95 and sum(r == 1.0 for r in rewards) >= 0.9 * len(rewards)
    last = steps[-1][6]
    assert "Score = r_type" in last["reasoning"] and last["reward_info"]["asin"]


def test_noisy_and_random_shoppers_do_worse_but_run(env):
    goals = env.split_goals("test")[:30]
    mean = {}
    for name in ("noisy", "random"):
        rs = []
        for i, g in enumerate(goals):
            steps = play(env, name, g.goal_id, seed=100 + i)
            rs.append(steps[-1][4] if steps[-1][5] else 0.0)
        mean[name] = statistics.mean(rs)
    assert mean["random"] < mean["noisy"] < 1.0


def test_same_seed_same_episode(env):
    g = env.split_goals("train")[5].goal_id
    a = [(s[2], s[3]) for s in play(env, "noisy", g, seed=7)]
    b = [(s[2], s[3]) for s in play(env, "noisy", g, seed=7)]
    assert a == b


def test_framework_collect_loop_runs_an_episode(env):
    task = DOMAIN.tasks("train")[0]
    ts = run_episode(env, DOMAIN, task, "expert", seed=0, max_steps=15)
    assert ts[-1].done and ts[-1].reward > 0 and all(t.reasoning for t in ts)
    assert ts[0].meta["admissible_actions"] == ["search[...]"]


def test_domain_guard_never_rejects_what_the_engine_accepts(env):
    """Across noisy/random play: an accepted action passes check_action; derived actions match the engine."""
    checked = 0
    for i, g in enumerate(env.split_goals("train")[:25]):
        for name in ("noisy", "random"):
            for obs, info, action, nobs, r, term, ninfo in play(env, name, g.goal_id, seed=i):
                if ninfo["valid"]:
                    assert DOMAIN.check_action(action, obs) is None, (action, obs)
                    checked += 1
                engine_acts = set(info["admissible_actions"])
                derived = set(DOMAIN.admissible_actions(None, [], obs) or [])
                if info["page"] == "item":
                    assert derived <= engine_acts
                else:
                    assert derived == engine_acts, obs
    assert checked > 100


@pytest.mark.parametrize("action, state_kind, expected", [
    ("click[buy now]", "results", "not clickable"), ("search[x]", "results", "no search bar"),
    ("click[]", "search", "not a WebShop action"), ("click[ ]", "item", "empty argument"), ("click[search]", "search", "search"),
    ("Click[next >]", "results", "lower case"), ("go north", "search", "not a WebShop action"),
])
def test_domain_guard_rejects_certain_mistakes(env, action, state_kind, expected):
    obs, _ = env.reset(seed=2)
    if state_kind == "results":
        obs, *_ = env.step("search[shoes]")
    err = DOMAIN.check_action(action, obs)
    assert err is not None and expected in err


def test_domain_check_outcome_snaps_scores_and_ends_on_buy(env):
    task = DOMAIN.tasks("test")[0]
    n = len(task.meta["goal"]["attributes"]) + len(task.meta["goal"]["goal_options"]) + 1
    item_state = None
    obs, info = env.reset(seed=0, options={"task": task})
    for obs, info, action, *_ in play(env, "expert", task.task_id, seed=0):
        if info["page"] == "item":
            item_state = obs
    out, note = DOMAIN.check_outcome(task, item_state, "click[buy now]", Outcome("done", (n - 1) / n + 0.01, False))
    assert out.done and abs(out.reward - (n - 1) / n) < 1e-9 and "snapped" in note and "ends" in note
    out, note = DOMAIN.check_outcome(task, item_state, "click[20 inch]", Outcome("x", 0.5, True))
    assert out.reward == 0 and not out.done and note
    out, note = DOMAIN.check_outcome(task, item_state, "click[buy now]", Outcome("done", 1.0, True))
    assert out.reward == 1.0 and note is None


def test_shipped_tasks_and_seed_transitions():
    tasks = load_tasks(DATA_DIR / "tasks.jsonl")
    by_split = {s: [t for t in tasks if t.meta["split"] == s] for s in ("train", "test")}
    assert len(by_split["test"]) == 500 and len(by_split["train"]) >= 500
    catalog = load_shipped_catalog()
    assert len(catalog) >= 3000
    for t in tasks[:50] + tasks[-50:]:
        g = catalog.goal_by_id(t.task_id)
        assert g.instruction_text == t.instruction == t.meta["goal"]["instruction_text"]
        assert t.initial_observation == DOMAIN.initial_observation_for(t.instruction)
    ts = load_transitions(DATA_DIR / "seed_transitions.jsonl")
    assert len(ts) >= 300 and all(t.source == "real" and t.reasoning for t in ts)
    assert {t.meta["policy"] for t in ts} == {"expert", "noisy", "random"}
    assert any(t.done and t.reward == 1.0 for t in ts) and any(not t.valid for t in ts)
    assert all(t.domain == "webshop" for t in ts) and DOMAIN.seed_transitions()


def test_shipped_catalog_is_what_the_generator_writes(tmp_path):
    write_catalog(GeneratorConfig(), tmp_path)
    for f in sorted(SHIPPED_DIR.glob("*.json.gz")):
        assert (tmp_path / f.name).read_bytes() == f.read_bytes(), f"{f.name}: run make_data to regenerate"
