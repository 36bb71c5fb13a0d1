"""The benchmark scripts that need no vLLM server, in their --quick mode (CI smoke test).

The server-using ones run in tests/integration/test_benchmarks_smoke.py against the session's server.
"""

from __future__ import annotations

import json
import random
import subprocess
import sys
from pathlib import Path
from typing import ClassVar

import numpy as np
import pytest

BENCH = Path(__file__).resolve().parent.parent / "benchmarks"

pytestmark = pytest.mark.timeout(600)


def run_quick(script: str, tmp_path: Path, *extra: str) -> dict:
    """Runs ``benchmarks/<script> --quick --json`` and returns its JSON (the .md and .png must exist too)."""
    out = tmp_path / f"{Path(script).stem}.json"
    proc = subprocess.run([sys.executable, str(BENCH / script), "--quick", "--json", str(out), *extra],
                          check=False, capture_output=True, text=True, timeout=540)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert out.with_suffix(".md").read_text().count("|") > 10
    assert out.with_suffix(".png").stat().st_size > 1000
    result = json.loads(out.read_text())
    prov = result["provenance"]
    assert prov["machine"]["cpu"] and prov["machine"]["usable_cores"] >= 1 and "gpus" in prov["machine"]
    assert len(prov["loadavg_start"]) == 3 and len(prov["loadavg_end"]) == 3
    assert prov["packages"]["gymnasium"] and prov["packages"]["hnswlib"]
    return result


def test_bench_retrieval_quick(tmp_path: Path) -> None:
    result = run_quick("bench_retrieval.py", tmp_path)
    (index,) = result["indices"]
    assert index["n"] == 400 and index["dim"] == 384 and index["bytes_per_transition"] > 4 * 384
    assert all(e["recall_at_5"] >= 0.9 and e["p99_ms"] > 0 for e in index["per_ef"])
    assert result["embedders"][0]["sentences_per_s"] > 0


def test_bench_real_vs_synthetic_quick(tmp_path: Path) -> None:
    result = run_quick("bench_real_vs_synthetic.py", tmp_path)
    sides = {r["side"] for r in result["runs"]}
    assert sides == {"real engine", "synthetic, instant stub model"}
    assert all(r["substeps_per_s"] > 0 for r in result["runs"])


def test_bench_sim_to_real_quick(tmp_path: Path) -> None:
    result = run_quick("bench_sim_to_real.py", tmp_path)
    conds = {s["condition"]: s for s in result["summary"]}
    assert set(conds) == {"real", "untrained"}
    real_run = next(r for r in result["runs"] if r["condition"] == "real")
    assert real_run["train"]["steps"] >= 200 and real_run["eval_episodes"] == 8
    assert 0.0 <= conds["real"]["mean"] <= 1.0 and conds["untrained"]["real_steps"] == 0


def test_bench_sim_to_real_s2r_updates_from_saved_policy(tmp_path: Path) -> None:
    # (c) from a saved (b) policy: its real budget (20 steps in --quick) must end in whole episodes,
    # each followed by an update (with 16 episodes at once none would finish, and (c) would equal (b)).
    sys.path.insert(0, str(BENCH))
    from bench_sim_to_real import FEATURES

    theta = {f: 0.0 for f in FEATURES}
    saved = tmp_path / "b.json"
    saved.write_text(json.dumps({"runs": [{"condition": "dreamgym", "seed": 0, "theta": theta, "baseline": 0.1}]}))
    result = run_quick("bench_sim_to_real.py", tmp_path, "--conditions", "s2r", "--s2r-from", str(saved),
                       "--parallel", "16", "--max-steps", "20", "--batch", "1")
    (run,) = result["runs"]
    assert run["condition"] == "s2r" and run["real_steps"] == 20 and run["train"]["parallel"] == 1
    assert run["train"]["episodes"] == 1 and run["train"]["started_from"] == str(saved)
    assert run["theta"] != theta  # the update moved the policy


@pytest.mark.parametrize("script", ["bench_sim_to_real", "bench_sim_to_real_webshop"])
def test_sim_to_real_seeds_every_reset_from_the_run_seed(script: str, monkeypatch: pytest.MonkeyPatch) -> None:
    # Unseeded resets drew the synthetic env's per-request model seeds from OS entropy, so a seed's run never
    # replayed (seed 1 of (b) gave 0.750 and 0.000 on the same code).
    import importlib
    import random

    import gymnasium as gym

    from dreamgym_env.domain import get_domain

    monkeypatch.syspath_prepend(str(BENCH))
    bench = importlib.import_module(script)

    class Recorder(gym.Env):
        seeds: ClassVar[list[int | None]] = []

        def reset(self, *, seed: int | None = None, options: dict | None = None) -> tuple[str, dict]:
            Recorder.seeds.append(seed)
            return "You are in the middle of a room.", {"admissible_actions": ["look"]}

        def step(self, action: str) -> tuple[str, float, bool, bool, dict]:
            return "Nothing happens.", 0.0, True, False, {"admissible_actions": ["look"]}

    domain = "alfworld" if script == "bench_sim_to_real" else "webshop"
    tasks = list(get_domain(domain).tasks("train"))[:3]

    def seeds_of(run_seed: int) -> list[int | None]:
        Recorder.seeds = []
        bench.run_episodes(Recorder, tasks, bench.LinearPolicy.zeros(len(bench.FEATURES)), steps=None, episodes=3,
                           parallel=2, rng=random.Random(run_seed), learn=False, desc="t")
        return Recorder.seeds

    first = seeds_of(0)
    assert len(first) == 3 and all(isinstance(s, int) for s in first)
    assert seeds_of(0) == first and seeds_of(1) != first


def test_sim_to_real_sight_shaping_pays_the_first_sight_of_the_goal_object(monkeypatch: pytest.MonkeyPatch) -> None:
    # --sight-shaping: the learner's own bonus the first time an observation shows the goal object (once per
    # episode, read from the env's text); 0 (the default) leaves the rewards as before.
    import importlib
    import random

    import gymnasium as gym

    from dreamgym_env.domain import get_domain

    monkeypatch.syspath_prepend(str(BENCH))
    bench = importlib.import_module("bench_sim_to_real")
    task = next(t for t in get_domain("alfworld").tasks("train") if t.meta.get("task_type") == "pick_and_place_simple")
    obj = bench.parse_goal(task.instruction)[1]

    class Shows(gym.Env):
        def reset(self, *, seed: int | None = None, options: dict | None = None) -> tuple[str, dict]:
            self.t = 0
            return "You are in the middle of a room.", {"admissible_actions": ["go to drawer 1", "go to desk 1"]}

        def step(self, action: str) -> tuple[str, float, bool, bool, dict]:
            self.t += 1
            obs = f"You arrive at {action[6:]}. On the {action[6:]}, you see a {obj} 1."
            return obs, 0.0, self.t == 3, False, {"admissible_actions": ["go to drawer 1", "go to desk 1"]}

    class Recording(bench.LinearPolicy):
        def update(self, grads: list, rewards: list) -> None:
            seen.append(list(rewards))

    for bonus, first in ((0.0, 0.0), (0.2, 0.2)):
        seen: list[list[float]] = []
        bench.run_episodes(Shows, [task], Recording.zeros(len(bench.FEATURES)), steps=None, episodes=1, parallel=1,
                           rng=random.Random(0), learn=True, desc="t", sight_shaping=bonus)
        assert seen == [[first, 0.0, 0.0]]


def test_sim_to_real_arrive_shaping_pays_the_first_arrival_holding_the_goal_object(
        monkeypatch: pytest.MonkeyPatch) -> None:
    # --arrive-shaping: the learner's bonus the first time it goes to a goal receptacle holding the goal object
    # (not again on a later arrival, nor for an arrival empty-handed); the hold bonus stays as it was.
    import importlib
    import random

    import gymnasium as gym

    from dreamgym_env.domain import get_domain

    monkeypatch.syspath_prepend(str(BENCH))
    bench = importlib.import_module("bench_sim_to_real")
    task = next(t for t in get_domain("alfworld").tasks("train") if t.meta.get("task_type") == "pick_and_place_simple")
    _, obj, recep = bench.parse_goal(task.instruction)
    script = [f"go to {recep} 1", f"take {obj} 1 from desk 1", f"go to {recep} 1", "go to desk 1", f"go to {recep} 1"]

    class Replies(gym.Env):
        def reset(self, *, seed: int | None = None, options: dict | None = None) -> tuple[str, dict]:
            self.t = 0
            return "You are in the middle of a room.", {"admissible_actions": script}

        def step(self, action: str) -> tuple[str, float, bool, bool, dict]:
            self.t += 1
            obs = (f"You pick up the {obj} 1 from the desk 1." if action.startswith("take")
                   else f"You arrive at {action[6:]}. On the {action[6:]}, you see nothing.")
            return obs, 0.0, self.t == len(script), False, {"admissible_actions": script}

    class Scripted(bench.LinearPolicy):
        def act(self, memory: object, actions: list, rng: random.Random) -> tuple:
            played.append(script[len(played)])
            zero = np.zeros(len(bench.FEATURES))
            return played[-1], zero, zero

        def update(self, grads: list, rewards: list) -> None:
            seen.append(list(rewards))

    for bonus in (0.0, 0.5):
        seen: list[list[float]] = []
        played: list[str] = []
        bench.run_episodes(Replies, [task], Scripted.zeros(len(bench.FEATURES)), steps=None, episodes=1, parallel=1,
                           rng=random.Random(0), learn=True, desc="t", arrive_shaping=bonus)
        assert seen == [[0.0, bench.SHAPING, bonus, 0.0, 0.0]]


def test_pipeline_stats_sums_the_synthetic_envs_and_skips_the_real_engine() -> None:
    # The sim-to-real JSON records how often the model's replies were ruled out and re-asked (model_stats).
    import gymnasium as gym

    sys.path.insert(0, str(BENCH))
    from _common import pipeline_stats

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from fakes import FakeModel

    envs = [gym.make("DreamGym-ALFWorld-v0", experience_model=FakeModel()) for _ in range(2)]
    for i, env in enumerate(envs):
        _, info = env.reset(seed=i)
        for _ in range(i + 1):
            env.step(info["admissible_actions"][0])
    stats = pipeline_stats(envs)
    assert stats is not None and stats["steps"] == 3 and "implausible_rate" in stats and "resamples" in stats
    assert stats["steps"] == sum(e.unwrapped.pipeline.stats.steps for e in envs)
    assert pipeline_stats([gym.make("ALFWorld-Real-v0")]) is None


def test_bench_alfworld_first_visits_quick(tmp_path: Path) -> None:
    # The real engine never starts with a goal object in a goal receptacle, and names the place gone to.
    result = run_quick("bench_alfworld_first_visits.py", tmp_path)
    real = result["conditions"]["real"]
    assert list(result["conditions"]) == ["real"] and real["visits"] == 8
    assert real["goal_listed"] == real["wrong_place"] == real["repeats"] == real["open_shown"] == 0.0
    assert real["listed_revisits"] > 0 and real["revisit_changed"] == 0.0
    assert real["opened_returns"] > 0 and real["return_closed"] == 0.0  # what the agent opened stays open
    assert real["opens_tried"] > 0 and real["open_refused"] == 0.0  # an admissible open always opens
    assert all(e["action"].startswith("go to ") and e["observation"] for e in real["examples"])


def test_bench_sim_to_real_webshop_quick(tmp_path: Path) -> None:
    result = run_quick("bench_sim_to_real_webshop.py", tmp_path)
    conds = {s["condition"]: s for s in result["summary"]}
    assert set(conds) == {"real", "untrained"}
    real_run = next(r for r in result["runs"] if r["condition"] == "real")
    assert real_run["train"]["steps"] >= 200 and real_run["train"]["episodes"] > 0
    assert 0.0 <= conds["real"]["reward_mean"] <= 1.0 and conds["untrained"]["real_steps"] == 0


def test_batch_learner_normalises_advantages_and_flushes() -> None:
    sys.path.insert(0, str(BENCH))
    from _policy import LinearPolicy

    lose = [np.array([1.0, 0.0])] * 2  # score-function terms of an episode that chose feature 0
    win = [np.array([0.0, 1.0])] * 2  # ... and of one that chose feature 1 and was paid at its end
    pol = LinearPolicy.zeros(2, lr=1.0, gamma=1.0, batch=2)
    pol.update(lose, [0.0, 0.0])
    assert not pol.theta.any()  # waits for the batch
    pol.update(win, [0.0, 1.0])
    assert pol.theta[1] > 0 > pol.theta[0] and not pol.pending
    same = LinearPolicy.zeros(2, batch=2)
    same.update(lose, [0.0, 0.0])
    same.update(win, [0.0, 0.0])
    assert not same.theta.any()  # equal returns: nothing to tell apart
    partial = LinearPolicy.zeros(2, batch=8)
    partial.update(lose, [0.0, 0.0])
    partial.update(win, [0.0, 1.0])
    partial.flush()  # the end of training learns from a partial batch
    assert partial.theta[1] > 0 and not partial.pending
    big = LinearPolicy.zeros(2, lr=1.0, gamma=1.0, batch=2)
    big.update(lose, [0.0, 0.0])
    big.update(win, [0.0, 100.0])
    np.testing.assert_allclose(big.theta, pol.theta)  # the reward's scale does not matter


def test_grouped_policy_weighs_kinds_of_action_not_actions() -> None:
    sys.path.insert(0, str(BENCH))
    from _policy import LinearPolicy

    # three actions of one kind (same feature row) and one of another, untrained
    phi = np.array([[1.0, 0.0], [1.0, 0.0], [1.0, 0.0], [0.0, 1.0]])
    plain = LinearPolicy.zeros(2).probabilities(phi)
    np.testing.assert_allclose(plain, [0.25] * 4)
    grouped = LinearPolicy.zeros(2, grouped=True)
    np.testing.assert_allclose(grouped.probabilities(phi), [1 / 6] * 3 + [0.5])
    grouped.theta = np.array([np.log(3.0), 0.0])  # the common kind now weighs three times the rare one
    np.testing.assert_allclose(grouped.probabilities(phi), [0.25] * 4)
    assert grouped.copy().grouped and not LinearPolicy.zeros(2).copy().grouped

    class Memory:
        def features(self, action: str) -> np.ndarray:
            return phi[int(action)]

    picks = [LinearPolicy.zeros(2, grouped=True).act(Memory(), ["0", "1", "2", "3"], random.Random(i))
             for i in range(400)]
    rare = [pick for pick in picks if pick[0] == "3"]
    assert 160 < len(rare) < 240  # about half, where the plain policy gives a quarter
    _, chosen, expected = rare[0]
    np.testing.assert_allclose(chosen - expected, [-0.5, 0.5])  # the score function under grouped probabilities


def _s2r_file(path: Path, runs: list[tuple[str, int, float]], commit: str | None = None, **config) -> str:
    cfg = {"steps": 3000, "max_steps": 30, "lr": 0.5, "task_type": "pick_and_place_simple", "eval_episodes": 40,
           "s2r_frac": 0.1, "temperature": 0.8, **config}
    data = {"config": cfg, "runs": [{"condition": c, "seed": s, "eval_success": x, "real_steps": 0,
                                     "synthetic_steps": 3000, "train": {"success_rate": 0.0}} for c, s, x in runs]}
    if commit:
        data["provenance"] = {"git_commit": commit}
    path.write_text(json.dumps(data))
    return str(path)


def test_sim_to_real_summary_merges_seeds_and_refuses_mismatches(tmp_path: Path) -> None:
    sys.path.insert(0, str(BENCH))
    from sim_to_real_summary import main as summary_main

    a = _s2r_file(tmp_path / "a.json", [("real", 0, 0.5), ("dreamgym", 0, 0.1)], commit="aaa1111")
    b = _s2r_file(tmp_path / "b.json", [("real", 0, 0.5), ("real", 1, 0.0), ("dreamgym", 1, 0.3)])
    result = summary_main([a, b, "--out", str(tmp_path / "sum")])
    by = {s["condition"]: s for s in result["summary"]}
    assert by["real"]["per_seed"] == [0.5, 0.0] and by["real"]["n"] == 2  # seed 0 repeated exactly: once
    assert abs(by["dreamgym"]["mean"] - 0.2) < 1e-9 and by["dreamgym"]["seeds_with_any_success"] == 2
    assert abs(result["dreamgym_over_real"] - 0.8) < 1e-9
    assert (tmp_path / "sum.png").stat().st_size > 1000 and "0.200 ± 0.100" in (tmp_path / "sum.md").read_text()
    assert result["paired"] == {"seeds": [0, 1], "real_mean": 0.25, "dreamgym_mean": 0.2, "ratio": 0.8}
    assert abs(by["real"]["se"] - 0.25) < 1e-9 and "On the 2 seeds run in both" in (tmp_path / "sum.md").read_text()
    assert by["real"]["seeds_by_commit"] == {"aaa1111": [0], "unknown": [1]}  # each run keeps its code version
    assert "dreamgym: aaa1111 seeds 0, unknown seeds 1" in (tmp_path / "sum.md").read_text()
    other_lr = _s2r_file(tmp_path / "c.json", [("real", 2, 0.1)], lr=0.3)
    with pytest.raises(SystemExit, match="lr"):
        summary_main([a, other_lr])
    zero_a = summary_main([_s2r_file(tmp_path / "z.json", [("real", 0, 0.0), ("dreamgym", 0, 0.2)])])
    assert zero_a["paired"]["ratio"] is None  # no ratio to an (a) that never succeeded, and no crash
    other_shaping = _s2r_file(tmp_path / "e.json", [("real", 2, 0.1)], sight_shaping=0.1)
    with pytest.raises(SystemExit, match="sight_shaping"):
        summary_main([a, other_shaping])  # a learner variant is not merged with the default learner's runs
    grouped = _s2r_file(tmp_path / "g.json", [("real", 2, 0.1)], grouped=True)
    with pytest.raises(SystemExit, match="grouped"):
        summary_main([a, grouped])  # nor is the grouped policy's (files from before the flag ran plain)
    conflict = _s2r_file(tmp_path / "d.json", [("dreamgym", 0, 0.9)])
    with pytest.raises(SystemExit, match="seed 0 is already"):
        summary_main([a, conflict])
    rerun = summary_main([a, conflict, "--condition-from", f"dreamgym={conflict}"])  # the rerun replaces a's
    assert [s["per_seed"] for s in rerun["summary"] if s["condition"] == "dreamgym"] == [[0.9]]


def test_sim_to_real_summary_bootstraps_the_targets(tmp_path: Path) -> None:
    sys.path.insert(0, str(BENCH))
    from sim_to_real_summary import bootstrap_ratio
    from sim_to_real_summary import main as summary_main

    met = bootstrap_ratio([0.9, 1.0, 0.95], [0.4, 0.5, 0.6], paired=True, target=0.95)
    assert met["verdict"] == "met" and met["ci95"][0] > 1.5 and met["p_at_least_target"] == 1.0
    missed = bootstrap_ratio([0.1, 0.0, 0.05], [0.4, 0.5, 0.6, 0.5], paired=False, target=0.95)
    assert missed["verdict"] == "missed" and missed["ci95"][1] < 0.5
    wide = bootstrap_ratio([0.0, 1.0], [0.5, 0.5], paired=False, target=0.95)
    assert wide["verdict"] == "not settled" and wide["ci95"] == [0.0, 2.0] and 0.0 < wide["p_at_least_target"] < 1.0
    zeros = bootstrap_ratio([0.1, 0.2], [0.0, 0.4], paired=True, target=0.95)
    assert zeros["dropped_zero_den"] > 0 and zeros["resamples"] + zeros["dropped_zero_den"] == 10_000
    assert bootstrap_ratio([0.5], [0.5, 0.4], paired=False, target=0.95) is None  # one seed: no spread
    f = _s2r_file(tmp_path / "t.json", [("real", 0, 0.4), ("real", 1, 0.6), ("real", 2, 0.5), ("dreamgym", 0, 0.5),
                                        ("dreamgym", 1, 0.7), ("s2r", 5, 0.9)])
    result = summary_main([f, "--out", str(tmp_path / "t")])
    b = result["targets"]["(b) >= 95% of (a)"]
    assert b["n"] == [2, 3] and abs(b["ratio"] - 1.2) < 1e-9 and b["paired"]["seeds"] == [0, 1]
    assert abs(b["paired"]["ratio"] - 1.2) < 1e-9 and b["paired"]["bootstrap"]["verdict"] == "met"
    c = result["targets"]["(c) beats (a)"]
    assert c["bootstrap"] is None and c["paired"]["seeds"] == []  # one (c) seed, none shared with (a)
    md = (tmp_path / "t.md").read_text()
    assert "(c) beats (a): over all seeds (1 and 3) 1.80 (too few seeds" in md and "no seeds in common" in md


def test_sim_to_real_no_revisit_switches_off_only_the_revisit_rules(monkeypatch: pytest.MonkeyPatch) -> None:
    from dreamgym_env.envs.alfworld import domain

    from dreamgym_env.domain import get_domain
    from dreamgym_env.types import Task, Transition

    monkeypatch.syspath_prepend(str(BENCH))
    monkeypatch.setattr(domain, "_track", domain._track)  # restored after the test
    from sim_to_real_no_revisit import switch_off_revisit_rules

    task = Task(task_id="t", domain="alfworld", instruction="put a apple in fridge.",
                initial_observation="You are in the middle of a room.\n\nYour task is to: put a apple in fridge.")
    history = [Transition(domain="alfworld", task_id="t", instruction=task.instruction, state="",
                          action="go to countertop 1", next_state="On the countertop 1, you see a knife 2, and a tomato 1.",
                          reward=0.0, done=False)]
    fix = get_domain("alfworld").repair_observation
    resampled = "On the countertop 1, you see a apple 1, and a knife 2."
    assert fix("go to countertop 1", resampled, task, history) == "On the countertop 1, you see a knife 2, and a tomato 1."
    switch_off_revisit_rules()
    switch_off_revisit_rules()
    assert fix("go to countertop 1", resampled, task, history) == resampled
    # The other arrival rules stay: the place's name and each object once.
    assert fix("go to countertop 1", "On the countertop 2, you see a knife 2, and a knife 2.", task, history) == \
        "On the countertop 1, you see a knife 2."


def test_alfworld_goal_sightings_counts_the_goal_object_in_real_and_env_replies(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(BENCH))
    from alfworld_goal_sightings import main as sightings_main

    def step(ep: str, i: int, instruction: str, action: str, truth: str) -> dict:
        return {"episode_id": ep, "step": i, "instruction": instruction, "action": action, "next_state": truth}

    put = "put a mug in coffeemachine."
    test = [
        step("e1", 0, put, "go to cabinet 1", "On the cabinet 1, you see a mug 1."),  # both (exact reply)
        step("e1", 1, put, "go to cabinet 2", "On the cabinet 2, you see a mug 2."),  # real only, hidden
        step("e1", 2, put, "open drawer 1", "You open the drawer 1. The drawer 1 is open. In it, you see nothing."),
        step("e1", 3, put, "take mug 1 from cabinet 1", "You pick up the mug 1 from the cabinet 1."),  # not a look
        step("e2", 0, "put a hot mug in coffeemachine.", "go to cabinet 1", "On the cabinet 1, you see a mug 1."),
    ]
    errors = [
        {"episode_id": "e1", "step": 1, "hidden": True, "env": "On the cabinet 2, you see a cup 1."},
        {"episode_id": "e1", "step": 2, "hidden": True,
         "env": "You open the drawer 1. The drawer 1 is open. In it, you see a mug 3."},  # env only
    ]
    for name, rows in (("test.jsonl", test), ("errors.jsonl", errors)):
        (tmp_path / name).write_text("".join(json.dumps(r) + "\n" for r in rows))
    counts = sightings_main([str(tmp_path / "test.jsonl"), str(tmp_path / "errors.jsonl")])
    assert counts == {"steps": 3, "real_shows": 2, "env_shows": 2, "both": 1, "real_only": 1,
                      "real_only_hidden": 1, "env_only": 1}
    heat = sightings_main([str(tmp_path / "test.jsonl"), str(tmp_path / "errors.jsonl"),
                           "--task-type", "pick_heat_then_place_in_recep"])
    assert heat["steps"] == 1 and heat["both"] == 1
