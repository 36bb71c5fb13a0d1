"""Regenerates the WebShop data shipped with the package, deterministically.

``python -m dreamgym_env.envs.webshop.make_data`` writes

* ``data/catalog/{items_shuffle,items_ins_v2,items_human_ins,reviews}.json.gz``: the generated catalog
  in upstream's raw schema;
* ``data/tasks.jsonl``: the held-out test goals and a slice of the train goals (``meta``: split, goal);
* ``data/seed_transitions.jsonl``: reference-engine transitions from expert/noisy/random shoppers.

``--transitions N --out FILE`` instead collects about N transitions (whole episodes) into FILE.
"""

from __future__ import annotations

import argparse
import gzip
import json
import time
from pathlib import Path
from typing import Any

from dreamgym_env.types import write_jsonl

from .env import make_goal_tasks
from .generator import GeneratorConfig, generate
from .goals import SplitSizes
from .loader import SHIPPED_DIR, CatalogFiles, load_catalog

DATA_DIR = Path(__file__).parent / "data"
POLICY_MIX = (("expert", 0.6), ("noisy", 0.3), ("random", 0.1))


def write_json_gz(path: Path, obj: Any) -> None:
    """Writes JSON gzip-compressed with a fixed header (same bytes on every run)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    raw = json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    with open(path, "wb") as f, gzip.GzipFile(filename="", mode="wb", fileobj=f, mtime=0, compresslevel=9) as gz:
        gz.write(raw)


def write_catalog(config: GeneratorConfig, out_dir: Path = SHIPPED_DIR) -> None:
    """Generates the catalog and writes it in upstream's file layout."""
    g = generate(config)
    write_json_gz(out_dir / "items_shuffle.json.gz", g.items)
    write_json_gz(out_dir / "items_ins_v2.json.gz", g.attributes)
    write_json_gz(out_dir / "items_human_ins.json.gz", g.human_instructions)
    write_json_gz(out_dir / "reviews.json.gz", g.reviews)


def write_tasks(n_train: int, sizes: SplitSizes | None = None, path: Path = DATA_DIR / "tasks.jsonl") -> dict[str, int]:
    """Writes every test goal and the first ``n_train`` train goals as tasks. Returns split sizes."""
    sizes = sizes or SplitSizes()
    catalog = load_catalog(CatalogFiles.in_directory(SHIPPED_DIR))
    splits = [sizes.split_of(i) for i in range(len(catalog.goals))]
    counts = {s: splits.count(s) for s in ("test", "dev", "train")}
    keep = [(g, s) for g, s in zip(catalog.goals, splits) if s == "test"]
    keep += [(g, s) for g, s in zip(catalog.goals, splits) if s == "train"][:n_train]
    tasks = make_goal_tasks([g for g, _ in keep], [s for _, s in keep])
    write_jsonl(path, (t.to_dict() for t in tasks))
    return counts


def collect_transitions(n_transitions: int, out: Path, seed: int = 0, split: str = "train",
                        progress: bool = True) -> int:
    """Collects whole episodes until at least ``n_transitions`` transitions; writes them to ``out``."""
    from tqdm.auto import tqdm

    from dreamgym_env.data.collect import CollectConfig, collect

    def stream() -> Any:
        bar = tqdm(total=n_transitions, desc="webshop transitions", disable=not progress)
        # Ask for more episodes than needed; stop at the first episode boundary past the target.
        cfg = CollectConfig(domain="webshop", policies=POLICY_MIX, episodes=n_transitions, split=split, seed=seed)
        for n, t in enumerate(collect(cfg, progress=False), 1):
            yield t.to_dict()
            bar.update(1)
            if n >= n_transitions and t.done or n >= n_transitions + 15:
                break
        bar.close()

    return write_jsonl(out, stream())


def main(argv: list[str] | None = None) -> None:
    """Command line entry point."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--products-per-query", type=int, default=110)
    ap.add_argument("--train-tasks", type=int, default=1000, help="train goals written to tasks.jsonl")
    ap.add_argument("--seed-transitions", type=int, default=400, help="size of the shipped seed set")
    ap.add_argument("--transitions", type=int, default=None, help="collect this many transitions into --out")
    ap.add_argument("--out", type=Path, default=None)
    ap.add_argument("--split", default="train")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    if args.transitions is not None:
        if args.out is None:
            ap.error("--transitions needs --out FILE")
        n = collect_transitions(args.transitions, args.out, seed=args.seed, split=args.split)
        print(f"wrote {n} transitions to {args.out} in {time.perf_counter() - t0:.1f}s")
        return
    write_catalog(GeneratorConfig(products_per_query=args.products_per_query, seed=args.seed))
    counts = write_tasks(args.train_tasks)
    print(f"goals per split: {counts}")
    n = collect_transitions(args.seed_transitions, DATA_DIR / "seed_transitions.jsonl", seed=args.seed)
    print(f"wrote catalog, tasks and {n} seed transitions in {time.perf_counter() - t0:.1f}s")


if __name__ == "__main__":
    main()
