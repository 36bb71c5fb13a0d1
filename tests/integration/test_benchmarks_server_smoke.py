"""The benchmark scripts that need a vLLM server, in --quick mode against the session's real server.

This file sorts before test_vllm_server.py, whose last test stops the shared server.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import require_vllm
from test_benchmarks_smoke import run_quick

pytestmark = [pytest.mark.integration, pytest.mark.timeout(900)]


def test_bench_overhead_quick(vllm_server, tmp_path: Path) -> None:
    result = run_quick("bench_overhead.py", tmp_path, "--base-url", vllm_server.base_url)
    assert result["server"]["model"] == vllm_server.served_model_name
    assert [r["N"] for r in result["runs"]] == [1, 2]
    for r in result["runs"]:
        assert r["requests"] == r["env_substeps"]  # the raw pass replays exactly the env's requests
        assert r["env_steps_per_s"] > 0 and r["raw_requests_per_s"] > 0


def test_bench_scaling_quick(vllm_server, tmp_path: Path) -> None:
    result = run_quick("bench_scaling.py", tmp_path, "--base-url", vllm_server.base_url)
    assert {(r["mode"], r["N"]) for r in result["runs"]} == {("native", 1), ("native", 2), ("sync", 2), ("async", 2)}
    assert all(r["substeps_per_s"] > 0 for r in result["runs"])
    assert any(r["prefix_hit_rate"] is not None for r in result["runs"])  # read from the server's /metrics


def test_bench_expert_replay_quick(trained_server, tmp_path: Path) -> None:
    result = run_quick("bench_expert_replay.py", tmp_path, "--base-url", trained_server.base_url)
    (cond,) = result["conditions"]
    assert cond["retrieval_k"] == 3 and len(cond["episodes"]) == 4
    assert cond["real_success"] == 1.0  # the expert solves every generated problem in the real engine
    for ep in cond["episodes"]:
        assert ep["actions"] and len(ep["dream_rewards"]) <= len(ep["actions"])
        assert ep["success"] == (ep["dream_end_step"] == len(ep["actions"]) - 1 and ep["dream_rewards"][-1] > 0)


def test_bench_curriculum_generation_quick(trained_server, tmp_path: Path) -> None:
    result = run_quick("bench_curriculum_generation.py", tmp_path, "--base-url", trained_server.base_url,
                       "--models", "default-alfworld")
    (run,) = result["runs"]
    (rnd,) = run["rounds"]
    assert run["domain"] == "alfworld" and rnd["replies"] == 2  # --quick: 2 seeds, 1 round
    assert rnd["proposed"] == rnd["accepted"] + sum(rnd["rejected"].values())  # every candidate accounted for
    assert rnd["unparsed_replies"] <= rnd["replies"] and rnd["wall_s"] > 0


def test_bench_sim_to_real_curriculum_quick(trained_server, tmp_path: Path) -> None:
    # (b'') with the trained default: the curriculum plans rounds, the served model writes variations,
    # only pick-and-place ones are kept, and every candidate is accounted for.
    result = run_quick("bench_sim_to_real.py", tmp_path, "--base-url", trained_server.base_url,
                       "--conditions", "dreamgym-curriculum", "--temperature", "0.8", "--max-steps", "10",
                       "--cur-tasks", "2", "--cur-group", "2")
    (run,) = result["runs"]
    cur = run["train"]["curriculum"]
    assert run["synthetic_steps"] == 200 and run["real_steps"] == 0 and run["eval_episodes"] == 8
    assert cur["round"] >= 3 and len(cur["evolve"]) == cur["round"] - 1  # a new round evolves first
    assert cur["with_groups"] >= 1 and cur["episodes_started"] >= run["train"]["episodes"]
    for rnd in cur["evolve"]:
        assert rnd["proposed"] == rnd["accepted"] + sum(rnd["rejected"].values())
    assert sum(r["proposed"] for r in cur["evolve"]) > 0
    assert cur["generated"] == sum(r["accepted"] for r in cur["evolve"])
    assert cur["generated_task_types"] in ([], ["pick_and_place_simple"])


def test_bench_alfworld_first_visits_quick(trained_server, tmp_path: Path) -> None:
    # The trained default's replies to first visits, with and without the repair; the real engine beside them.
    result = run_quick("bench_alfworld_first_visits.py", tmp_path, "--base-url", trained_server.base_url)
    conds = result["conditions"]
    assert list(conds) == ["real", "dreamgym", "dreamgym-no-resample", "dreamgym-no-repair"]
    assert all(c["visits"] == 8 for c in conds.values())
    # The repair names the place gone to and shows an unopened openable receptacle closed, whatever the model said.
    assert conds["dreamgym"]["wrong_place"] == conds["dreamgym"]["open_shown"] == 0.0
    assert conds["dreamgym"]["revisit_changed"] == 0.0  # a revisit lists what the first visit listed
    assert conds["dreamgym"]["return_closed"] == 0.0  # a receptacle the agent opened stays open
    assert conds["dreamgym"]["opens_tried"] > 0


def test_bench_cpu_threads_quick(tmp_path: Path) -> None:
    # Two servers of the trained default, one per binding, the same real prompts and env steps on each.
    require_vllm()
    result = run_quick("bench_cpu_threads.py", tmp_path)
    assert [r["binding"] for r in result["runs"]] == ["auto", "all"] and result["usable_cores"]
    for r in result["runs"]:
        assert r["single_tokens_per_s"] > 0 and r["batch_completion_tokens_per_s"] > 0 and r["env_steps_per_s"] > 0
        assert 0 < r["env_model_answered"] <= r["env_steps"]
    assert result["runs"][0]["ratio_vs_base"]["env_steps_per_s"] == 1.0
