"""How often does the experience model show the goal object where the real engine does? Held-out steps.

Reads the held-out real transitions (``dreamgym collect ... --split test``) and the errors file of a
fidelity run (``dreamgym eval fidelity ... --errors FILE``: one row per step whose reply differed, with the
env's reply in ``env``). For every ``go to``/``open`` step of a ``--task-type`` problem it asks whether the
real reply and the env's reply name the goal object ("mug 1" for "put a mug in coffeemachine."); a step
missing from the errors file got the real reply. It counts the steps where the real engine shows it, where
the env does, both, the real engine only (and of those, the ones whose contents the episode had not shown:
``hidden`` in the errors file), and the env only.

The steps are the expert's, so they go where the object is; the counts compare the model with the engine
on the same steps, not how often a learner would see the object.

    python benchmarks/alfworld_goal_sightings.py runs/alfworld_test.jsonl \
        benchmarks/results/fidelity/alfworld_v3_list_ends_errors.jsonl
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

from dreamgym_env.envs.alfworld.features import parse_goal

from dreamgym_env.types import read_jsonl

_LOOK = re.compile(r"^(?:go to|open) ")


def count_sightings(test: Sequence[dict], errors: Sequence[dict], task_type: str) -> dict[str, int]:
    """Counts of held-out ``go to``/``open`` steps whose real and env replies name the goal object."""
    env_reply = {(e["episode_id"], e["step"]): e for e in errors}
    c: Counter[str] = Counter()
    for t in test:
        goal = parse_goal(t["instruction"])
        if goal is None or goal[0] != task_type or not _LOOK.match(t["action"]):
            continue
        names = re.compile(rf"\b{re.escape(goal[1])} \d+")
        err = env_reply.get((t["episode_id"], t["step"]))
        real = bool(names.search(t["next_state"]))
        env = bool(names.search(err["env"] if err else t["next_state"]))
        c["steps"] += 1
        c["real_shows"] += real
        c["env_shows"] += env
        c["both"] += real and env
        c["real_only"] += real and not env
        c["real_only_hidden"] += real and not env and bool(err and err.get("hidden"))
        c["env_only"] += env and not real
    return {k: c[k] for k in ("steps", "real_shows", "env_shows", "both", "real_only", "real_only_hidden", "env_only")}


def main(argv: Sequence[str] | None = None) -> dict[str, int]:
    """Print and return the counts."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("test", type=Path, help="held-out real transitions (JSONL)")
    p.add_argument("errors", type=Path, help="a fidelity run's --errors file (JSONL)")
    p.add_argument("--task-type", default="pick_and_place_simple")
    args = p.parse_args(argv)
    counts = count_sightings(list(read_jsonl(args.test)), list(read_jsonl(args.errors)), args.task_type)
    json.dump(counts, sys.stdout, indent=1)
    print()
    return counts


if __name__ == "__main__":
    main()
