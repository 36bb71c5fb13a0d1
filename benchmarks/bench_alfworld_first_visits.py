"""Where does the dream room put the goal object? A first visit to a goal receptacle and a return, real vs
DreamGym.

ALFWorld's problems never start with a goal object in a goal receptacle (the goal never holds at the
start). For each task of ``--task-type`` in ``--split``, the first action goes to the first receptacle of
the goal's class in the room; the reply is checked for:

* ``goal_listed``: an object of the goal's class listed there (real engine: never);
* ``wrong_place``: the reply names another receptacle than the one gone to;
* ``repeats``: the list names one object twice;
* ``open_shown``: at an openable receptacle (all start closed), anything but "The R is closed." or
  "Nothing happens." (the real engine: never);
* ``revisit_changed``: the agent then opens the receptacle if it is closed, goes to another receptacle and
  comes back; of the returns where both visits list objects, the share whose lists differ (the real
  engine: none);
* ``return_closed``: of the returns to a receptacle the agent opened, the share that call it closed (the
  real engine: none; it stays open);
* ``open_refused``: of the opens tried (at a receptacle the reply showed closed, so an admissible command),
  the share answered "Nothing happens." (the real engine: none).

Conditions: ``real`` (``ALFWorld-Real-v0``), ``dreamgym`` (``DreamGym-ALFWorld-v0`` with the served model,
``repair_observation=True`` and ``resample_retries=1``, the defaults), ``dreamgym-no-resample``
(``resample_retries=0``) and ``dreamgym-no-repair`` (``repair_observation=False``), each
DreamGym task played ``--reps`` times at ``--temperature``. A policy trained in an env that shows the goal
object at the goal receptacle learns to go there first, which does not transfer.

    python benchmarks/bench_alfworld_first_visits.py --json benchmarks/results/alfworld_first_visits.json
    python benchmarks/bench_alfworld_first_visits.py --quick       # real engine only, seconds
"""

from __future__ import annotations

import argparse
import functools
import re
import sys
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
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
from dreamgym_env.envs.alfworld.alfred import load_facts
from dreamgym_env.envs.alfworld.domain import match_goal

import dreamgym_env  # noqa: F401
from dreamgym_env.domain import get_domain
from dreamgym_env.types import Task

_LIST = re.compile(r"(?:you see|In it, you see) ([^.]*)\.")
_ITEM = re.compile(r"\b(?:a|an) ([a-z]+ \d+)")
_PLACE = re.compile(r"(?:On the ([a-z]+ \d+), you see|The ([a-z]+ \d+) is (?:closed|open)\.)")


#: What ``judge`` flags, with the table's words.
MEASURES = {"goal_listed": "goal object listed", "wrong_place": "another place named",
            "repeats": "an object listed twice", "open_shown": "openable shown open"}


@functools.cache
def openable_classes() -> frozenset[str]:
    """ALFRED's openable receptacle classes (``OPENABLE_CLASS_LIST``), lower case."""
    return frozenset(c.lower() for c in load_facts().openable)


def first_visits(split: str, task_type: str) -> list[tuple[Task, str, str]]:
    """``(task, goal object class, action)`` for each placing task: ``go to`` the room's first goal receptacle."""
    out = []
    for task in get_domain("alfworld").tasks(split):
        if task_type != "all" and task.meta.get("task_type") != task_type:
            continue
        goal = match_goal(task.instruction)
        room = _LIST.search(task.initial_observation)
        if goal is None or goal[0] == "look_at_obj_in_light" or room is None:
            continue
        places = [p for p in _ITEM.findall(room.group(1)) if p.rsplit(" ", 1)[0] == goal[2]]
        if places:
            out.append((task, goal[1], f"go to {places[0]}"))
    return out


def judge(obs: str, obj_class: str, action: str) -> dict[str, bool]:
    """What the reply to ``action`` shows: the goal class listed, another place named, an object listed twice,
    an openable receptacle shown open."""
    listed = _LIST.search(obs)
    items = _ITEM.findall(listed.group(1)) if listed else []
    recep = action.removeprefix("go to ")
    place_class = recep.rsplit(" ", 1)[0]
    place = _PLACE.match(obs.strip())
    named = place and (place.group(1) or place.group(2))
    return {"goal_listed": any(i.rsplit(" ", 1)[0] == obj_class for i in items),
            "wrong_place": bool(named) and named != recep,
            "repeats": len(set(items)) < len(items),
            "open_shown": place_class in openable_classes() and obs.strip() not in (f"The {recep} is closed.", "Nothing happens.")}


def listed_set(obs: str) -> frozenset[str] | None:
    """The objects a reply lists, or ``None`` when it lists none ("The R is closed.", "Nothing happens.")."""
    listed = _LIST.search(obs)
    return frozenset(_ITEM.findall(listed.group(1))) if listed else None


def play(make: Any, job: tuple[Task, str, str], seed: int) -> dict[str, Any]:
    """Resets a fresh env on the job's task (seeded with ``seed``), takes its first action (and opens the
    receptacle if it is closed), goes elsewhere, and comes back.

    ``revisit_changed`` is ``None`` unless both visits list objects; then whether the two lists differ (the
    real engine keeps a receptacle's contents between visits). ``return_closed`` is ``None`` unless the agent
    opened the receptacle; then whether the return calls it closed (the real engine keeps it open)."""
    task, obj_class, action = job
    recep = action.removeprefix("go to ")
    room = _LIST.search(task.initial_observation)
    elsewhere = next(p for p in _ITEM.findall(room.group(1)) if f"go to {p}" != action) if room else None
    env = make()
    try:
        env.reset(seed=seed, options={"task": task})
        obs, *_ = env.step(action)
        seen, opened, refused = obs, False, None
        if obs.strip() == f"The {recep} is closed.":
            seen, *_ = env.step(f"open {recep}")
            opened = seen.strip().startswith(f"You open the {recep}.")
            refused = seen.strip() == "Nothing happens."
        back = None
        if elsewhere is not None:
            env.step(f"go to {elsewhere}")
            back, *_ = env.step(action)
    finally:
        env.close()
    first, again = listed_set(seen), listed_set(back) if back is not None else None
    changed = None if first is None or again is None else first != again
    shut = None if not opened or back is None else back.strip() == f"The {recep} is closed."
    return {"task_id": task.task_id, "action": action, "observation": obs, "opened": seen if opened else None,
            "revisit": back, "revisit_changed": changed, "return_closed": shut, "open_refused": refused, **judge(obs, obj_class, action)}


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--split", default="train", help="the tasks' split (train: those sim-to-real trains on)")
    p.add_argument("--task-type", default="pick_and_place_simple", help="a placing task type, or 'all'")
    p.add_argument("--reps", type=int, default=4, help="DreamGym samples per task")
    p.add_argument("--temperature", type=float, default=0.8)
    p.add_argument("--parallel", type=int, default=16, help="concurrent model requests")
    p.add_argument("--conditions", default="real,dreamgym,dreamgym-no-resample,dreamgym-no-repair")
    add_server_args(p)
    add_output_args(p)
    args = p.parse_args(argv)
    conditions = [c.strip() for c in args.conditions.split(",") if c.strip()]
    jobs = first_visits(args.split, args.task_type)
    if not jobs:
        raise SystemExit(f"no placing tasks of type {args.task_type!r} in split {args.split!r}")
    if args.quick:  # 8 tasks once each; without a running server, the real engine only
        jobs, args.reps = jobs[:8], 1
        if not args.base_url:
            conditions = ["real"]
    result: dict[str, Any] = {"provenance": provenance(), "config": vars(args), "conditions": {}}

    def run(cond: str, base_url: str | None, served: str | None) -> None:
        if cond == "real":
            make, reps, workers = (lambda: gym.make("ALFWorld-Real-v0")), 1, 1  # textworld is not thread-safe
        else:
            repair = cond != "dreamgym-no-repair"
            resample = int(cond == "dreamgym")
            make = lambda: gym.make("DreamGym-ALFWorld-v0", base_url=base_url, model=served,
                                    temperature=args.temperature, repair_observation=repair,
                                    resample_retries=resample)
            reps, workers = args.reps, args.parallel
        todo = [j for j in jobs for _ in range(reps)]
        with ThreadPoolExecutor(workers) as pool:
            rows = list(tqdm(pool.map(lambda ij: play(make, ij[1], ij[0]), enumerate(todo)), total=len(todo),
                             desc=cond))
        n = len(rows)
        result["conditions"][cond] = {
            "visits": n, "tasks": len(jobs),
            **{k: sum(r[k] for r in rows) / n for k in MEASURES},
            "openable_visits": sum(r["action"].removeprefix("go to ").rsplit(" ", 1)[0] in openable_classes()
                                   for r in rows),
            "listed_revisits": sum(r["revisit_changed"] is not None for r in rows),
            "revisit_changed": (sum(bool(r["revisit_changed"]) for r in rows)
                                / max(1, sum(r["revisit_changed"] is not None for r in rows))),
            "opened_returns": sum(r["return_closed"] is not None for r in rows),
            "return_closed": (sum(bool(r["return_closed"]) for r in rows)
                              / max(1, sum(r["return_closed"] is not None for r in rows))),
            "opens_tried": sum(r["open_refused"] is not None for r in rows),
            "open_refused": (sum(bool(r["open_refused"]) for r in rows)
                             / max(1, sum(r["open_refused"] is not None for r in rows))),
            "examples": rows[: min(8, n)],
        }

    if any(c.startswith("dreamgym") for c in conditions):
        with vllm_server(server_options(args)) as info:
            result["server"] = info
            for cond in conditions:
                run(cond, info["base_url"], info.get("model"))
    else:
        for cond in conditions:
            run(cond, None, None)

    rows = [[c, r["visits"], r["openable_visits"], *(r[k] for k in MEASURES), r["listed_revisits"], r["revisit_changed"],
             r["opened_returns"], r["return_closed"], r["opens_tried"], r["open_refused"]]
            for c, r in result["conditions"].items()]
    table = markdown_table(["condition", "first visits", "of them openable", *MEASURES.values(),
                            "revisits, both listed", "revisit lists other objects", "returns to one it opened",
                            "shown closed on return", "opens tried", "open answered 'Nothing happens.'"], rows)
    finish(result, table, args.json, None if args.no_plot else lambda path: plot(result, path))
    return result


def plot(result: dict[str, Any], path: Path) -> None:
    """Grouped bars: each measure's rate per condition."""
    import matplotlib.pyplot as plt

    conds = list(result["conditions"])
    measures = [*MEASURES.items(), ("revisit_changed", "revisit lists other objects"),
                ("return_closed", "shown closed on return"), ("open_refused", "open: 'Nothing happens.'")]
    fig, ax = plt.subplots(figsize=(9.5, 3.5))
    width = 0.8 / len(conds)
    for i, cond in enumerate(conds):
        xs = [j + i * width for j in range(len(measures))]
        ax.bar(xs, [result["conditions"][cond][k] for k, _ in measures], width, label=cond)
    ax.set_xticks([j + width * (len(conds) - 1) / 2 for j in range(len(measures))], [m for _, m in measures])
    ax.set_ylabel("share of visits")
    ax.set_ylim(0, 1)
    ax.legend()
    ax.set_title("ALFWorld: the reply to a first visit of a goal receptacle")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


if __name__ == "__main__":
    main()
