"""The benchmark scripts that need a vLLM server, in --quick mode against the session's real server.

This file sorts before test_vllm_server.py, whose last test stops the shared server.
"""

from __future__ import annotations

from pathlib import Path

import pytest
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
