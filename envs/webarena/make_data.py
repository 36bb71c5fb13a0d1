"""Regenerates the WebArena data shipped with the package, deterministically.

``python -m dreamgym_env.envs.webarena.make_data`` writes

* ``data/content.json``: the five sites' seed content (seed 0);
* ``data/tasks.jsonl``: generated tasks; ``meta`` holds the upstream-schema ``config``, ``split``,
  ``template`` and the scripted ``solution``;
* ``data/seed_transitions.jsonl``: reference-site transitions of expert/noisy/random policies on
  train tasks, with teacher reasoning.

``--transitions N --out FILE`` instead collects about N transitions (whole episodes) into FILE.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from dreamgym_env.types import Task, Transition, write_jsonl

from .sites import CONTENT_FILE, generate_content
from .tasks import TaskGenConfig, generate_tasks

DATA_DIR = Path(__file__).parent / "data"
POLICY_MIX = (("expert", 0.6), ("noisy", 0.3), ("random", 0.1))
SEED_EPISODES = 110


def write_content(seed: int = 0, path: Path = CONTENT_FILE) -> dict[str, Any]:
    """Generates and writes the site content. Returns it."""
    content = generate_content(seed)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(content, ensure_ascii=False, indent=0, sort_keys=True) + "\n", encoding="utf-8")
    return content


def write_tasks(config: TaskGenConfig, content: dict[str, Any], path: Path = DATA_DIR / "tasks.jsonl") -> list[Task]:
    """Generates and writes the tasks. Returns them."""
    tasks = generate_tasks(config, content)
    write_jsonl(path, (t.to_dict() for t in tasks))
    return tasks


def _slim(t: Transition) -> Transition:
    # Admissible actions are derivable from the state; keeping them would double the file size.
    meta = {k: v for k, v in t.meta.items() if k != "admissible_actions"}
    return Transition(**{**t.__dict__, "meta": meta})


def stream_transitions(episodes: int, seed: int = 0, split: str = "train", progress: bool = True,
                       target: int | None = None) -> Iterator[Transition]:
    """Yields transitions of ``episodes`` episodes (or whole episodes until ``target`` transitions)."""
    from tqdm.auto import tqdm

    from dreamgym_env.data.collect import CollectConfig, collect

    cfg = CollectConfig(domain="webarena", policies=POLICY_MIX, episodes=episodes, split=split, seed=seed)
    bar = tqdm(total=target or None, desc="webarena transitions", disable=not progress, unit="tr")
    for n, t in enumerate(collect(cfg, progress=False), 1):
        yield _slim(t)
        bar.update(1)
        if target is not None and n >= target and t.done:
            break
    bar.close()


def main(argv: list[str] | None = None) -> int:
    """Command line entry point."""
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--seed", type=int, default=0, help="content, task and collection seed")
    p.add_argument("--per-template", type=int, default=12, help="task instances per template")
    p.add_argument("--episodes", type=int, default=SEED_EPISODES, help="episodes for seed_transitions.jsonl")
    p.add_argument("--transitions", type=int, default=None, help="collect about N transitions into --out instead")
    p.add_argument("--out", type=Path, default=None, help="output file for --transitions")
    args = p.parse_args(argv)
    if args.transitions is not None:
        if args.out is None:
            p.error("--transitions needs --out")
        t0 = time.perf_counter()
        # Far more episodes than needed; the stream stops at the first episode end past the target.
        n = write_jsonl(args.out, (t.to_dict() for t in stream_transitions(args.transitions, args.seed,
                                                                            target=args.transitions)))
        print(f"wrote {n} transitions to {args.out} in {time.perf_counter() - t0:.1f}s")
        return 0
    content = write_content(args.seed)
    tasks = write_tasks(TaskGenConfig(seed=args.seed, per_template=args.per_template), content)
    n = write_jsonl(DATA_DIR / "seed_transitions.jsonl",
                    (t.to_dict() for t in stream_transitions(args.episodes, args.seed)))
    splits = {s: sum(t.meta["split"] == s for t in tasks) for s in ("train", "test")}
    print(f"wrote {CONTENT_FILE.name}, {len(tasks)} tasks {splits}, {n} seed transitions")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
