"""Curriculum task generation with real models served by vLLM: acceptance rate per domain and time per round.

For each model, a vLLM server is started (or ``--base-url`` is used). For each domain, a fresh task
pool is seeded from the domain's train split, and ``--rounds`` rounds of ``Curriculum.evolve`` run
against the server: the same code path as ``dreamgym curriculum evolve``. Each round is one batched
generation call (``seeds_per_round`` prompts) and one batched selection call. No rollouts are played
between rounds, so the top-valued seeds of round 2+ are the newest tasks (ties go to the newer task):
round 2 writes variations of round 1's accepted tasks when there are any.

    python benchmarks/bench_curriculum_generation.py --json benchmarks/results/curriculum_generation.json
    python benchmarks/bench_curriculum_generation.py --quick          # 1 model, 1 domain, 1 round

The JSON is rewritten after every (model, domain), so a killed run keeps what it measured.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

from tqdm.auto import tqdm

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import add_output_args, finish, markdown_table, provenance

from dreamgym_env.config import EnvConfig
from dreamgym_env.curriculum import Curriculum, CurriculumConfig
from dreamgym_env.domain import get_domain
from dreamgym_env.model.factory import make_experience_model, release_shared_models

DOMAINS = ("alfworld", "webshop", "webarena")
#: Models by alias: the trained ALFWorld experience model and the base SmolLM2-135M-Instruct.
MODELS = ("default-alfworld", "default")


def run_domain(domain_name: str, model_spec: Any, cfg: CurriculumConfig, rounds: int, bar: tqdm) -> dict[str, Any]:
    """Runs ``rounds`` evolve rounds on a fresh pool of ``domain_name``; returns per-round records."""
    domain = get_domain(domain_name)
    path = Path(tempfile.mkdtemp()) / f"pool_{domain_name}.json"
    cur = Curriculum.open(path, domain, cfg)
    seed_tasks = len(cur.pool)
    model = make_experience_model(model_spec)  # shared per spec: closed by release_shared_models()
    out: list[dict[str, Any]] = []
    for r in range(rounds):
        t0 = time.perf_counter()
        report = cur.evolve(model)
        wall = time.perf_counter() - t0
        out.append({"round": r + 1, "proposed": report.proposed, "accepted": len(report.accepted),
                    "acceptance_rate": report.acceptance_rate, "rejected": dict(report.rejected),
                    "replies": report.replies, "unparsed_replies": report.unparsed,
                    "unparsed_examples": report.unparsed_examples,
                    "wall_s": round(wall, 2), "examples": report.examples,
                    "accepted_tasks": [{"task": t.instruction, "parent": p} for t, p in report.accepted],
                    "reasoning": report.reasoning})
        bar.set_postfix_str(f"{domain_name} r{r + 1}: {len(report.accepted)}/{report.proposed} in {wall:.0f}s")
        bar.update(1)
    proposed = sum(x["proposed"] for x in out)
    accepted = sum(x["accepted"] for x in out)
    rejected: Counter = Counter()
    for x in out:
        rejected.update(x["rejected"])
    return {"domain": domain_name, "seed_tasks": seed_tasks, "rounds": out, "proposed": proposed,
            "replies": sum(x["replies"] for x in out), "unparsed_replies": sum(x["unparsed_replies"] for x in out),
            "accepted": accepted, "acceptance_rate": accepted / proposed if proposed else 0.0,
            "rejected": dict(rejected), "wall_s_per_round": sum(x["wall_s"] for x in out) / max(len(out), 1)}


def main(argv: list[str] | None = None) -> int:
    """Runs the benchmark; returns the exit code."""
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--models", default=",".join(MODELS), help="comma-separated aliases or HF folders")
    p.add_argument("--domains", default=",".join(DOMAINS))
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--seeds-per-round", type=int, default=4)
    p.add_argument("--variations", type=int, default=4, help="variations per seed")
    p.add_argument("--max-new-tokens", type=int, default=256)
    p.add_argument("--base-url", default=None, help="use this running server for every model (…/v1)")
    p.add_argument("--kv-cache-gib", type=int, default=2)
    add_output_args(p)
    args = p.parse_args(argv)
    models = [m for m in args.models.split(",") if m]
    domains = [d for d in args.domains.split(",") if d]
    if args.quick:
        models, domains, args.rounds, args.seeds_per_round = models[:1], domains[:1], 1, 2
    cfg = CurriculumConfig(seeds_per_round=args.seeds_per_round, variations_per_seed=args.variations,
                           max_new_tokens=args.max_new_tokens)
    result: dict[str, Any] = {"config": {"rounds": args.rounds, "seeds_per_round": cfg.seeds_per_round,
                                         "variations_per_seed": cfg.variations_per_seed,
                                         "max_new_tokens": cfg.max_new_tokens, "temperature": cfg.temperature,
                                         "selection": cfg.selection},
                              "runs": [], "provenance": provenance()}
    rows = []
    bar = tqdm(total=len(models) * len(domains) * args.rounds, desc="evolve rounds", unit="round")
    for alias in models:
        server = None
        if args.base_url:
            base_url, served = args.base_url, alias
            start_s = 0.0
        else:
            from dreamgym_env.model.assets import resolve_model_path
            from dreamgym_env.serving import ServerConfig, VLLMServer

            # Served under its folder path, so the client finds the folder's prompt layout (dreamgym.json).
            served = str(resolve_model_path(alias).resolve())
            t0 = time.perf_counter()
            server = VLLMServer(ServerConfig(model=served, served_model_name=served,
                                             kv_cache_gib=args.kv_cache_gib)).start(600)
            start_s = time.perf_counter() - t0
            base_url = server.base_url
        try:
            spec = EnvConfig.from_kwargs({"base_url": base_url, "model": served}).model_spec()
            for d in domains:
                run = run_domain(d, spec, cfg, args.rounds, bar)
                run.update(model=alias, server_start_s=round(start_s, 1))
                result["runs"].append(run)
                rows.append([alias, d, f"{run['unparsed_replies']}/{run['replies']}", run["proposed"], run["accepted"], f"{run['acceptance_rate']:.0%}",
                             ", ".join(f"{k} {v}" for k, v in sorted(run["rejected"].items(), key=lambda kv: -kv[1]))
                             or "–", f"{run['wall_s_per_round']:.1f}"])
                if args.json:  # keep what was measured if a later run is killed
                    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
                    Path(args.json).write_text(json.dumps(result, indent=2, default=str) + "\n")
        finally:
            release_shared_models()
            if server is not None:
                server.stop()
    bar.close()
    table = markdown_table(["model", "domain", "replies without a list", "proposed", "accepted", "acceptance", "rejected (reason count)",
                            "s / round"], rows)

    def plot(path: Path) -> None:
        import matplotlib.pyplot as plt

        runs = result["runs"]
        reasons = sorted({r for run in runs for r in run["rejected"]})
        labels = [f"{run['model'].rstrip('/').split('/')[-1]}\n{run['domain']}" for run in runs]
        fig, ax = plt.subplots(figsize=(max(6, 1.4 * len(runs)), 4))
        bottom = [0.0] * len(runs)
        for name, values in [("accepted", [run["accepted"] for run in runs]),
                             *((r, [run["rejected"].get(r, 0) for run in runs]) for r in reasons)]:
            ax.bar(labels, values, bottom=bottom, label=name)
            bottom = [b + v for b, v in zip(bottom, values)]
        ax.set_ylabel(f"generated tasks ({args.rounds} rounds)")
        ax.set_title("Curriculum task generation: accepted and rejected by reason")
        ax.legend(fontsize=8)
        fig.tight_layout()
        fig.savefig(path, dpi=120)

    finish(result, table, args.json, plot=None if args.no_plot else plot)
    return 0


if __name__ == "__main__":
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    raise SystemExit(main())
