"""Real engines beside the synthetic envs at equal concurrency: sub-env steps/s.

Real side: the real ALFWorld engine (``ALFWorld-Real-v0``), the reference WebShop (``WebShop-Real-v0``)
and the reference WebArena sites (``WebArena-Ref-v0``), N of each in Gymnasium's ``SyncVectorEnv``
(they are in-process Python). Synthetic side: ``make_vec(DreamGym-*, N)`` (native vector env) with
(a) a stub model that answers instantly, i.e. everything but generation (guard, batched MiniLM
retrieval, prompt, parse), and (b) a real vLLM server when one is given or started. All play a
seeded random admissible action per sub-env.

    python benchmarks/bench_real_vs_synthetic.py --json benchmarks/results/real_vs_synthetic.json
    python benchmarks/bench_real_vs_synthetic.py --quick            # stub model only, no server
"""

from __future__ import annotations

import argparse
import contextlib
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
    markdown_table,
    provenance,
    server_options,
    vllm_server,
)
from bench_overhead import pick_actions

import dreamgym_env
from dreamgym_env.domain import get_domain
from dreamgym_env.model.base import ModelReply, ModelRequest

#: Synthetic id -> the real (or reference) engine of the same domain.
PAIRS = {"DreamGym-ALFWorld-v0": "ALFWorld-Real-v0", "DreamGym-WebShop-v0": "WebShop-Real-v0",
         "DreamGym-WebArena-v0": "WebArena-Ref-v0"}


class InstantModel:
    """A stand-in experience model that replies at once with a well-formed 'nothing changes' step."""

    name = "instant-stub"

    def generate(self, requests: Sequence[ModelRequest]) -> list[ModelReply]:
        """One fixed, well-formed reply per request."""
        text = "<think>Nothing changes.</think>\n<state>Nothing happens.</state>\n<reward>0</reward>\n<done>false</done>"
        return [ModelReply(text=text, prompt_tokens=0, completion_tokens=0) for _ in requests]

    def close(self) -> None:
        """Nothing to release."""


def run(env_id: str, n: int, steps: int, label: str, **kwargs: Any) -> dict[str, Any]:
    """Sub-env steps/s of ``make_vec(env_id, n)`` over ``steps`` timed steps after one warm-up step."""
    t0 = time.perf_counter()
    envs = gym.make_vec(env_id, num_envs=n, **kwargs)
    fallback = "look"
    with contextlib.suppress(KeyError):
        fallback = get_domain(dreamgym_env.ENV_IDS[env_id]).seed_transitions()[0].action
    rng = random.Random(0)
    _, infos = envs.reset(seed=0)
    infos = envs.step(pick_actions(infos, n, rng, fallback))[-1]
    setup_s = time.perf_counter() - t0
    t_steps, episodes = 0.0, 0
    for _ in tqdm(range(steps), desc=f"{label} N={n}", leave=False):
        actions = pick_actions(infos, n, rng, fallback)
        t0 = time.perf_counter()
        _, _, term, trunc, infos = envs.step(actions)
        t_steps += time.perf_counter() - t0
        episodes += int(term.sum() + trunc.sum())
    envs.close()
    return {"env": env_id, "side": label, "N": n, "steps": steps, "substeps_per_s": n * steps / t_steps,
            "ms_per_substep": 1e3 * t_steps / (n * steps), "setup_and_warmup_s": setup_s, "episodes_ended": episodes}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_output_args(p)
    add_server_args(p)
    p.add_argument("--envs", nargs="+", default=list(PAIRS), help="synthetic ids (each paired with its real engine)")
    p.add_argument("--num-envs", type=int, nargs="+", default=[1, 8])
    p.add_argument("--steps", type=int, default=10, help="timed steps (real engines and the stub model)")
    p.add_argument("--server-steps", type=int, default=2, help="timed steps against the vLLM server")
    p.add_argument("--max-new-tokens", type=int, default=64)
    p.add_argument("--no-server", action="store_true", help="skip the real-model synthetic runs")
    args = p.parse_args()
    if args.quick:
        args.envs, args.num_envs, args.steps, args.server_steps = ["DreamGym-ALFWorld-v0"], \
            [2], 2, 1
        args.no_server = args.no_server or args.base_url is None
    result: dict[str, Any] = {"provenance": provenance(), "max_new_tokens": args.max_new_tokens}
    runs = []
    for syn in tqdm(args.envs, desc="domains"):
        for n in args.num_envs:
            runs.append(run(PAIRS[syn], n, args.steps, "real engine", vectorization_mode="sync"))
            runs.append(run(syn, n, args.steps, "synthetic, instant stub model", experience_model=InstantModel()))
    if not args.no_server:
        with vllm_server(server_options(args)) as server:
            result["server"] = server
            for syn in tqdm(args.envs, desc="domains (vLLM)"):
                for n in args.num_envs:
                    runs.append(run(syn, n, args.server_steps, f"synthetic, {server.get('model')} on vLLM",
                                    base_url=server["base_url"], max_new_tokens=args.max_new_tokens,
                                    repair_retries=0))
    result["runs"] = runs
    table = markdown_table(["env", "side", "N", "sub-env steps/s", "ms per sub-env step", "setup + warm-up s"],
                           [[r["env"], r["side"], r["N"], r["substeps_per_s"], r["ms_per_substep"],
                             r["setup_and_warmup_s"]] for r in runs])

    def plot(path: Path) -> None:
        import matplotlib.pyplot as plt

        sides = list(dict.fromkeys(r["side"] for r in runs))
        fig, ax = plt.subplots(figsize=(8, 4))
        labels = list(dict.fromkeys(f"{r['env'].replace('DreamGym-', '').replace('-v0', '')}\nN={r['N']}"
                                    for r in runs if r["side"] == "real engine"))
        width = 0.8 / len(sides)
        for j, side in enumerate(sides):
            rs = [r for r in runs if r["side"] == side]
            ax.bar([i + j * width for i in range(len(rs))], [r["substeps_per_s"] for r in rs], width, label=side)
        ax.set_xticks([i + width * (len(sides) - 1) / 2 for i in range(len(labels))], labels, fontsize=7)
        ax.set_yscale("log")
        ax.set_ylabel("sub-env steps/s")
        ax.set_title("real engines vs synthetic envs (equal N)")
        ax.legend(fontsize=7)
        fig.tight_layout()
        fig.savefig(path, dpi=110)

    finish(result, table, args.json, None if args.no_plot else plot)


if __name__ == "__main__":
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    main()
