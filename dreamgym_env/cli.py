"""The ``dreamgym`` command line: ``demo``, ``serve``, ``collect``, ``envs``, ``curriculum``, ``import``, ``train``, ``eval``."""

from __future__ import annotations

import argparse
import random
import sys
import time
from collections.abc import Sequence
from pathlib import Path


def _demo(args: argparse.Namespace) -> int:
    import gymnasium as gym
    from rich.console import Console
    from rich.panel import Panel

    import dreamgym_env  # noqa: F401  (registers the ids)

    console = Console()
    kwargs = {k: v for k, v in (("base_url", args.base_url), ("model", args.model)) if v is not None}
    env = gym.make(args.env, max_episode_steps=args.max_steps, **kwargs)
    domain = env.unwrapped.domain
    rng = random.Random(args.seed)
    t0 = time.perf_counter()
    for ep in range(args.episodes):
        obs, info = env.reset(seed=args.seed + ep)
        console.print(Panel(obs, title=f"episode {ep + 1}: {info['task']}", border_style="cyan"))
        total = 0.0
        while True:
            episode = env.unwrapped.episode
            action = args.action or domain.demo_action(episode.task, episode.history, obs, rng)
            obs, reward, terminated, truncated, info = env.step(action)
            total += float(reward)
            flags = [f"reward {float(reward):g}"]
            if info.get("action_error"):
                flags.append(f"action_error: {info['action_error']}")
            if info.get("parse_error"):
                flags.append(f"parse_error: {info['parse_error']} (fallback: state unchanged)")
            if info.get("outcome_note"):
                flags.append(info["outcome_note"])
            flags.append(f"{info['latency_s']:.1f} s, {info['completion_tokens']} tokens, "
                         f"{len(info['retrieved'])} retrieved")
            console.print(f"[bold]> {action}[/bold]")
            console.print(f"[dim]reasoning:[/dim] {info['reasoning'] or '(none)'}")
            console.print(f"[green]next state:[/green] {obs[:800]}")
            console.print(f"[yellow]{' | '.join(flags)}[/yellow]\n")
            if terminated or truncated:
                break
        console.print(f"episode {ep + 1}: return {total:g}, {'terminated' if terminated else 'truncated'}\n")
    stats = env.unwrapped.pipeline.stats
    console.print(f"{stats.steps} steps in {time.perf_counter() - t0:.1f} s; model calls {stats.model_calls}, "
                  f"repairs {stats.repairs}, fallbacks {stats.fallbacks}, guard answers {stats.guarded}")
    env.close()
    return 0


def _serve(args: argparse.Namespace) -> int:
    from dreamgym_env.serving import ServerConfig, VLLMServer

    server = VLLMServer(ServerConfig(model=args.model, host=args.host, port=args.port, api_key=args.api_key,
                                     max_model_len=args.max_model_len, device=args.device,
                                     served_model_name=args.served_model_name, cpu_threads=args.cpu_threads))
    print(f"starting vLLM on {server.model_path} (log: {server.log_path}) ...", flush=True)
    server.start(timeout_s=args.timeout)
    print(f"ready: {server.base_url}  (model {server.served_model_name!r})")
    print(f"use it:  export DREAMGYM_BASE_URL={server.base_url}", flush=True)
    try:
        while server.process is not None and server.process.poll() is None:
            time.sleep(1.0)
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
    return 0


def _collect(args: argparse.Namespace) -> int:
    from dreamgym_env.data.collect import CollectConfig, collect_to_file

    policies = []
    for part in args.policies.split(","):
        name, _, w = part.partition(":")
        policies.append((name.strip(), float(w or 1.0)))
    cfg = CollectConfig(domain=args.domain, policies=tuple(policies), episodes=args.episodes, split=args.split,
                        seed=args.seed, max_steps=args.max_steps)
    t0 = time.perf_counter()
    n = collect_to_file(cfg, args.out)
    dt = time.perf_counter() - t0
    print(f"wrote {n} transitions to {args.out} in {dt:.1f} s ({n / max(dt, 1e-9):.0f} transitions/s)")
    return 0


def _envs(args: argparse.Namespace) -> int:
    import gymnasium as gym

    import dreamgym_env
    from dreamgym_env.config import EnvConfig

    for env_id in dreamgym_env.ENV_IDS:
        spec = gym.spec(env_id)
        print(f"{env_id}  (max_episode_steps={spec.max_episode_steps})")
    print("\ngymnasium.make kwargs:")
    for name, text in EnvConfig.help().items():
        print(f"  {name:20s} {text}")
    return 0


def _curriculum(args: argparse.Namespace) -> int:
    from dreamgym_env.curriculum import Curriculum, CurriculumPoolError, TaskPool
    from dreamgym_env.domain import get_domain

    if args.action == "init":
        if not args.domain:
            print("dreamgym curriculum init needs --domain", file=sys.stderr)
            return 2
        cur = Curriculum.open(args.pool, get_domain(args.domain), split=args.split)
        print(f"{args.pool}: {cur.summary()}")
        return 0
    try:
        pool = TaskPool.load(args.pool)
    except CurriculumPoolError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    cur = Curriculum(get_domain(pool.domain), pool)
    if args.action == "evolve":
        from dreamgym_env.config import EnvConfig
        from dreamgym_env.model.factory import make_experience_model

        kwargs = {k: v for k, v in (("base_url", args.base_url), ("model", args.model)) if v is not None}
        cur.path = Path(args.pool)
        t0 = time.perf_counter()
        report = cur.evolve(make_experience_model(EnvConfig.from_kwargs(kwargs).model_spec()))
        print(f"{len(report.accepted)}/{report.proposed} generated tasks accepted "
              f"({report.acceptance_rate:.0%}) in {time.perf_counter() - t0:.1f} s; rejected: {dict(report.rejected)}; "
              f"{report.unparsed}/{report.replies} replies held no numbered list")
        for ex in report.unparsed_examples:
            print(f"  no list: {ex}")
        for reason, examples in report.examples.items():
            for ex in examples:
                print(f"  {reason}: {ex}")
        for task, parent in report.accepted:
            print(f"  + {task.task_id} (from {parent}): {task.instruction}")
        return 0
    if args.action == "lineage":
        if not args.task or args.task not in pool:
            print(f"error: task {args.task!r} is not in {args.pool}", file=sys.stderr)
            return 1
        for depth, e in enumerate(pool.lineage(args.task)):
            print(f"{'  ' * depth}{e.task_id} [{e.origin}, round {e.round}, value {cur.value(e.task_id):.3f}] "
                  f"{e.task.instruction}")
        for child in pool.children(args.task):
            print(f"  child: {child.task_id} {child.task.instruction}")
        return 0
    s = cur.summary()
    print(f"{args.pool}: domain {pool.domain}, round {s['round']}, {s['tasks']} tasks "
          f"({s['generated']} generated), {s['with_groups']} with reward groups")
    rows = sorted(pool, key=lambda e: -cur.value(e.task_id))[: args.top]
    print(f"{'value':>6} {'groups':>6} {'last mean':>9}  {'origin':9} {'parent':18} task")
    for e in rows:
        last = f"{sum(e.groups[-1]) / len(e.groups[-1]):.2f}" if e.groups else "-"
        print(f"{cur.value(e.task_id):6.3f} {len(e.groups):6d} {last:>9}  {e.origin:9} {(e.parent or '-'):18} "
              f"{e.task_id}: {e.task.instruction[:80]}")
    return 0


def _import(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    from dreamgym_env.data.importers import ImportConfig, import_to_file
    from dreamgym_env.error import DreamGymError

    console = Console()
    cfg = ImportConfig(domain=args.domain, max_episodes=args.max, split=args.split,
                       max_observation_chars=args.max_chars, drop_unobserved_final=args.drop_unobserved_final)
    t0 = time.perf_counter()
    try:
        report = import_to_file(args.format, args.path, args.out, cfg)
    except DreamGymError as e:
        console.print(f"[red]error:[/red] {e}")
        return 1
    table = Table(title=f"dreamgym import {args.format} -> {args.domain}", show_header=False)
    for name, value in (("records read", report.records), ("episodes imported", report.episodes),
                        ("transitions written", report.transitions),
                        ("episodes without a final observation", report.unobserved_final)):
        table.add_row(name, str(value))
    for reason, n in sorted(report.skipped.items()):
        table.add_row(f"[yellow]skipped: {reason}[/yellow]", str(n))
    console.print(table)
    for reason, examples in sorted(report.examples.items()):
        for ex in examples:
            console.print(f"  [yellow]{reason}[/yellow] {escape(ex)}", highlight=False)
    console.print(f"wrote {report.transitions} transitions to {escape(str(args.out))} in "
                  f"{time.perf_counter() - t0:.1f} s", highlight=False)
    return 0 if report.transitions else 1


def _train(args: argparse.Namespace) -> int:
    import json

    from dreamgym_env.error import InvalidConfigError
    from dreamgym_env.training.scratch import ScratchConfig
    from dreamgym_env.training.sft import TrainConfig, export_examples, train

    if not args.data and not args.examples:
        raise InvalidConfigError("dreamgym train needs --data FILE... (real transitions) or --examples FILE "
                                 "(a --export-examples file).")
    if args.export_examples and args.examples:
        raise InvalidConfigError("--export-examples builds examples from --data; it cannot re-export --examples.")
    if not args.export_examples and not args.out:
        raise InvalidConfigError("dreamgym train needs --out DIR (or --export-examples FILE to only build examples).")
    cfg = TrainConfig(
        domain=args.domain, data=tuple(args.data or ()), out=args.out or "", base=args.base, lora=args.lora,
        lora_rank=args.lora_rank, epochs=args.epochs, max_steps=args.max_steps, batch_size=args.batch_size,
        grad_accum=args.grad_accum, learning_rate=args.lr, max_length=args.max_length,
        retrieval_k=args.retrieval_k, history_window=args.history_window, reasoning=not args.no_reasoning,
        scratch=ScratchConfig(hidden_size=args.hidden, layers=args.layers, heads=args.heads,
                              intermediate_size=args.intermediate, vocab_size=args.vocab,
                              max_positions=max(2048, args.max_length)),
        save_steps=args.save_steps, threads=args.threads, seed=args.seed, max_examples=args.max_examples,
        task_generation_examples=args.task_generation_examples, examples=args.examples,
        max_seconds=args.max_seconds, skip_told=not args.keep_told,
    )
    if args.export_examples:
        header = export_examples(cfg, args.export_examples)
        print(json.dumps({k: header[k] for k in ("domain", "prompt", "retrieval_k", "build",
                                                  "task_generation_examples")}, indent=1))
        print(f"examples: {args.export_examples}  (train on them: dreamgym train --domain {args.domain} "
              f"--examples {args.export_examples} --out DIR)")
        return 0
    report = train(cfg)
    report.pop("loss_curve", None)
    print(json.dumps(report, indent=1))
    print(f"model: {Path(args.out) / 'model'}  (serve it: dreamgym serve --model {Path(args.out) / 'model'})")
    return 0


def _eval(args: argparse.Namespace) -> int:
    import json
    import os
    import platform

    from rich.console import Console
    from rich.table import Table

    from dreamgym_env.domain import get_domain
    from dreamgym_env.evaluation import fidelity as fid
    from dreamgym_env.replay.buffer import seeded_replay
    from dreamgym_env.types import load_transitions

    domain = get_domain(args.domain)
    cfg = fid.FidelityConfig(domain=domain.name, limit=args.limit or None, seed=args.seed, batch=args.batch)
    items = fid.load_items(domain, load_transitions(args.data), cfg)
    replay = seeded_replay(domain.name, domain.seed_transitions(), domain.seed_data_files())
    results = []
    errors: list[dict] = []
    for entry in args.model or ["nn=nn"]:
        label, _, spec = entry.partition("=")
        spec = spec or label
        server = None
        if args.serve and spec not in ("nn", "copy") and not spec.startswith(("http://", "https://")):
            from dreamgym_env.model.assets import resolve_model_path
            from dreamgym_env.serving import ServerConfig, VLLMServer

            # Served under its folder path, so the harness finds the folder's prompt layout (dreamgym.json).
            folder = str(resolve_model_path("default" if spec == "smollm2" else spec).resolve())
            server = VLLMServer(ServerConfig(model=folder, served_model_name=folder, kv_cache_gib=2)).start(600)
            spec = f"{server.base_url}#{folder}"
        try:
            pred = fid.make_predictor(label, spec, domain, replay, api_key=args.api_key)
            preds: list = []
            results.append(fid.evaluate(domain, items, pred, cfg, predictions=preds))
            results[-1]["served_by"] = "vllm" if server is not None or spec.startswith("http") else (
                "none" if spec in ("nn", "copy") else "transformers")
            errors.extend(fid.mismatches(domain, items, preds, label))
        finally:
            if server is not None:
                server.stop()
        if args.judge_base_url:
            from dreamgym_env.evaluation.judge import JudgeConfig, judge

            n = args.judge_items
            results[-1]["judge"] = judge(JudgeConfig(args.judge_base_url, args.judge_model, args.judge_api_key),
                                         domain, items[:n], preds[:n])
    table = Table(title=f"fidelity on {len(items)} held-out {domain.name} transitions (%, env view)")
    for h in ["predictor", *(h for _, h in fid.COLUMNS), "fallback", "items/s"]:
        table.add_column(h)
    for row in fid.table_rows(results):
        table.add_row(*row)
    Console().print(table)
    meta = {"domain": domain.name, "data": args.data, "config": fid.config_dict(cfg), "machine": platform.processor()
            or platform.machine(), "cpus": os.cpu_count(), "command": " ".join(sys.argv)}
    if args.json:
        fid.write_results(results, args.json, meta)
    if args.errors:
        Path(args.errors).parent.mkdir(parents=True, exist_ok=True)
        Path(args.errors).write_text("".join(json.dumps(e) + "\n" for e in errors))
        print(f"{len(errors)} steps whose next state was not matched exactly: {args.errors}")
    if args.markdown:
        Path(args.markdown).write_text(fid.markdown_table(results) + "\n")
    if args.plot:
        fid.plot(results, args.plot, f"{domain.name}: fidelity vs the real engine ({len(items)} held-out steps)")
    return 0


def build_parser() -> argparse.ArgumentParser:
    """Returns the argument parser."""
    p = argparse.ArgumentParser(prog="dreamgym", description="DreamGym environments for agent RL.")
    sub = p.add_subparsers(dest="command", required=True)

    d = sub.add_parser("demo", help="play episodes with a demo agent and print each step")
    d.add_argument("--env", default="DreamGym-ALFWorld-v0")
    d.add_argument("--episodes", type=int, default=2)
    d.add_argument("--max-steps", type=int, default=4, help="steps per episode (truncation)")
    d.add_argument("--seed", type=int, default=0)
    d.add_argument("--base-url", default=None, help="vLLM server (default: $DREAMGYM_BASE_URL, else in-process)")
    d.add_argument("--model", default=None)
    d.add_argument("--action", default=None, help="always take this action (to test the model)")
    d.set_defaults(fn=_demo)

    s = sub.add_parser("serve", help="start a vLLM server for an experience model")
    s.add_argument("--model", default="default", help="alias or HF folder")
    s.add_argument("--host", default="127.0.0.1")
    s.add_argument("--port", type=int, default=8000)
    s.add_argument("--api-key", default=None)
    s.add_argument("--max-model-len", type=int, default=8192)
    s.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    s.add_argument("--served-model-name", default=None)
    s.add_argument("--cpu-threads", default="all",
                   help="CPU only: cores for the engine's threads: all (default), auto (vLLM's choice, which keeps "
                        "one core for its scheduler) or a list like 0-3")
    s.add_argument("--timeout", type=float, default=600.0)
    s.set_defaults(fn=_serve)

    c = sub.add_parser("collect", help="collect offline trajectories from a domain's real/reference env")
    c.add_argument("--domain", required=True)
    c.add_argument("--episodes", type=int, default=100)
    c.add_argument("--out", required=True)
    c.add_argument("--split", default="train")
    c.add_argument("--seed", type=int, default=0)
    c.add_argument("--max-steps", type=int, default=None)
    c.add_argument("--policies", default="expert:0.6,noisy:0.3,random:0.1")
    c.set_defaults(fn=_collect)

    e = sub.add_parser("envs", help="list the registered environments and their kwargs")
    e.set_defaults(fn=_envs)

    k = sub.add_parser("curriculum", help="curriculum pool: show values and groups, lineage, init, evolve "
                       "(generate variations of the top tasks with the experience model)")
    k.add_argument("action", nargs="?", default="show", choices=["show", "lineage", "init", "evolve"])
    k.add_argument("--pool", required=True, help="pool file (JSON), as passed to curriculum=...")
    k.add_argument("--task", default=None, help="task id (for lineage)")
    k.add_argument("--top", type=int, default=20, help="rows to show, highest value first")
    k.add_argument("--domain", default=None, help="domain (for init)")
    k.add_argument("--split", default="train", help="task split that seeds a new pool (for init)")
    k.add_argument("--base-url", default=None, help="experience-model server (for evolve; default "
                   "$DREAMGYM_BASE_URL, else in-process)")
    k.add_argument("--model", default=None, help="model name (for evolve)")
    k.set_defaults(fn=_curriculum)

    m = sub.add_parser("import", help="import a public trajectory set (AgentTraj-L/AgentInstruct, ETO, NNetNav) "
                       "into a transitions .jsonl")
    m.add_argument("format", help="agenttraj, agentinstruct, eto or nnetnav")
    m.add_argument("path", help=".json/.jsonl file, folder, saved dataset folder or Hugging Face dataset id")
    m.add_argument("--domain", required=True, help="target domain; other environments' records are skipped")
    m.add_argument("--out", required=True, help="output transitions .jsonl")
    m.add_argument("--max", type=int, default=None, help="import at most this many episodes")
    m.add_argument("--split", default=None, help="Hugging Face split (default: the one named like the domain)")
    m.add_argument("--max-chars", type=int, default=None,
                   help="longest observation kept (default: the domain's bound); longer episodes are skipped")
    m.add_argument("--drop-unobserved-final", action="store_true",
                   help="drop a last action that has no observation after it (kept by default, with next_state '')")
    m.set_defaults(fn=_import)

    t = sub.add_parser("train", help="fine-tune (or train from scratch) an experience model on real transitions")
    t.add_argument("--domain", required=True)
    t.add_argument("--data", nargs="+", default=None, help="transition .jsonl files (real, with reasoning)")
    t.add_argument("--out", default=None, help="output folder (model/, checkpoints/, report.json)")
    t.add_argument("--export-examples", default=None, metavar="FILE",
                   help="only build the SFT examples (retrieval included) into FILE (.jsonl or .jsonl.gz) and exit")
    t.add_argument("--examples", default=None, metavar="FILE",
                   help="train on a --export-examples FILE instead of --data (e.g. on a GPU machine); its "
                        "prompt layout and retrieval-k are used")
    t.add_argument("--base", default="scratch", help="scratch, smollm2, a local HF folder or a hub id")
    t.add_argument("--lora", action="store_true", help="train LoRA adapters (merged into the saved model)")
    t.add_argument("--lora-rank", type=int, default=16)
    t.add_argument("--epochs", type=float, default=2.0)
    t.add_argument("--max-steps", type=int, default=-1)
    t.add_argument("--batch-size", type=int, default=8)
    t.add_argument("--grad-accum", type=int, default=1)
    t.add_argument("--lr", type=float, default=2e-3)
    t.add_argument("--max-length", type=int, default=1536, help="longer examples are skipped (counted)")
    t.add_argument("--max-examples", type=int, default=None)
    t.add_argument("--retrieval-k", type=int, default=3, help="0 = no-retrieval ablation")
    t.add_argument("--history-window", type=int, default=6, help="0 = no-history ablation")
    t.add_argument("--no-reasoning", action="store_true", help="no <think> target (ablation)")
    t.add_argument("--hidden", type=int, default=192, help="scratch model width")
    t.add_argument("--layers", type=int, default=4, help="scratch model depth")
    t.add_argument("--heads", type=int, default=6)
    t.add_argument("--intermediate", type=int, default=512)
    t.add_argument("--vocab", type=int, default=4096, help="scratch tokenizer vocabulary")
    t.add_argument("--save-steps", type=int, default=100)
    t.add_argument("--max-seconds", type=float, default=None,
                   help="stop after this many seconds of training and save the model as it is")
    t.add_argument("--threads", type=int, default=None)
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--task-generation-examples", type=int, default=0,
                   help="add this many curriculum task-generation/selection examples")
    t.add_argument("--keep-told", action="store_true",
                   help="keep the steps the env answers without the model (a page the episode already showed)")
    t.set_defaults(fn=_train)

    v = sub.add_parser("eval", help="evaluate experience models")
    vsub = v.add_subparsers(dest="what", required=True)
    f = vsub.add_parser("fidelity", help="compare predictions with the real engine on held-out transitions")
    f.add_argument("--domain", required=True)
    f.add_argument("--data", required=True, help="held-out real transitions .jsonl (e.g. collected on split test)")
    f.add_argument("--model", action="append", metavar="LABEL=SPEC",
                   help="repeatable; SPEC: nn, copy, smollm2, default-DOMAIN, a model folder, or http://HOST:PORT/v1#NAME")
    f.add_argument("--limit", type=int, default=200, help="held-out steps sampled (0 = all)")
    f.add_argument("--seed", type=int, default=0)
    f.add_argument("--batch", type=int, default=16)
    f.add_argument("--api-key", default=None)
    f.add_argument("--serve", action="store_true", help="serve each model folder with a vLLM server for its run")
    f.add_argument("--judge-base-url", default=None, help="OpenAI-compatible judge endpoint (optional)")
    f.add_argument("--judge-model", default=None)
    f.add_argument("--judge-api-key", default=None)
    f.add_argument("--judge-items", type=int, default=50)
    f.add_argument("--json", default=None)
    f.add_argument("--markdown", default=None)
    f.add_argument("--plot", default=None, help="PNG")
    f.add_argument("--errors", default=None, metavar="JSONL",
                   help="write every step whose next state (env view) is not the real engine's, one JSON per line")
    f.set_defaults(fn=_eval)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``dreamgym`` script."""
    args = build_parser().parse_args(argv)
    return int(args.fn(args) or 0)


def console() -> int:
    """The ``dreamgym`` script: :func:`main`, with the project's typed errors (bad input, a missing extra, a
    server that cannot be reached) printed as one line and exit status 2 instead of a traceback."""
    from dreamgym_env.error import DreamGymError

    try:
        return main()
    except DreamGymError as e:
        print(f"dreamgym: error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(console())
