"""Seeded generator of ALFRED-style problems for the six ALFWorld task types.

Rooms are ALFRED's own floor plans (their receptacle instances and object classes, read from the
alfworld wheel); what varies per seed is which objects are present, how many, where they start,
and the goal. The constraints are ALFRED's: a receptacle only holds the classes it accepts
(``VAL_RECEPTACLE_OBJECTS``), fridges/microwaves/cabinets/drawers/safes start closed, cleaning needs
a sinkbasin, heating a microwave, cooling a fridge, looking a lamp standing on furniture, and each
task type only appears in the room kinds where ALFRED generates it. A goal never holds at the start.

Splits follow the layouts: ALFRED's held-out scenes (floor plans 1-6, 201-206, 301-306, 401-406)
make the ``test`` split, all others ``train``. Beyond ALFRED's 120 plans, :func:`procedural_layout`
draws new rooms of a kind from the statistics of its train plans (``layout="Procedural-Kitchen-7"``).
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from .alfred import (
    LAMP_HOLDERS,
    LAMP_TYPES,
    ROOM_TYPES,
    TASK_TYPES,
    VALID_ROOMS,
    AlfredFacts,
    Layout,
    load_facts,
)
from .problem import Goal, InvalidProblemError, Problem

#: The appliance each state-changing task needs, and the goal receptacle it may not be.
APPLIANCE = {"pick_clean_then_place_in_recep": "SinkBasin", "pick_heat_then_place_in_recep": "Microwave",
             "pick_cool_then_place_in_recep": "Fridge"}
#: The object property each state-changing task needs.
PROPERTY = {"pick_clean_then_place_in_recep": "Cleanable", "pick_heat_then_place_in_recep": "Heatable",
            "pick_cool_then_place_in_recep": "Coolable"}


@dataclass(frozen=True)
class GeneratorConfig:
    """How problems are drawn.

    Attributes:
        instance_counts: Choices for how many instances of a present object class a room gets.
        two_object_counts: Choices for the goal class's instances in pick_two tasks (ALFRED: up to 4).
        max_attempts: Draws tried per seed before giving up (a layout may not fit a task type).
    """

    instance_counts: tuple[int, ...] = (1, 1, 1, 2, 2, 3)
    two_object_counts: tuple[int, ...] = (2, 2, 3, 4)
    max_attempts: int = 50


def layouts_for(task_type: str, split: str | None = None, facts: AlfredFacts | None = None) -> list[Layout]:
    """Returns the floor plans where ``task_type`` can be generated (optionally of one split)."""
    facts = facts or load_facts()
    out = []
    for layout in facts.layouts.values():
        if layout.room_type not in VALID_ROOMS[task_type] or (split and layout.split != split):
            continue
        if _goal_options(layout, task_type, facts):
            out.append(layout)
    return sorted(out, key=lambda lay: lay.number)


PROCEDURAL_PREFIX = "Procedural-"


def resolve_layout(name: str, facts: AlfredFacts | None = None) -> Layout | None:
    """An ALFRED floor plan (``"FloorPlan12"``) or a procedural room (``"Procedural-Kitchen-7"``), else ``None``."""
    facts = facts or load_facts()
    if name in facts.layouts:
        return facts.layouts[name]
    parts = name.split("-")
    if len(parts) == 3 and name.startswith(PROCEDURAL_PREFIX) and parts[1] in ROOM_TYPES and parts[2].isdigit():
        return procedural_layout(parts[1], int(parts[2]), facts)
    return None


def procedural_layout(room_type: str, seed: int, facts: AlfredFacts | None = None) -> Layout:
    """A new room of ``room_type`` drawn from the statistics of ALFRED's train floor plans of that kind.

    Each receptacle class appears with the frequency it has in those plans, with an instance count
    drawn from theirs; likewise each object class. Rooms missing a kind's defining receptacle are
    redrawn, so every procedural kitchen has a fridge, microwave and sinkbasin like ALFRED's do.
    Procedural rooms always belong to the ``train`` split (held-out evaluation uses ALFRED's test plans).

    Raises:
        InvalidProblemError: unknown room type.
    """
    facts = facts or load_facts()
    if room_type not in ROOM_TYPES:
        raise InvalidProblemError(f"{PROCEDURAL_PREFIX}{room_type}-{seed}",
                                  f"unknown room type {room_type!r}; valid: {', '.join(ROOM_TYPES)}")
    plans = [lay for lay in facts.layouts.values() if lay.room_type == room_type and lay.split == "train"]
    counts: dict[str, list[int]] = {}
    for lay in plans:
        per = Counter(r for _, r in lay.receptacles)
        for rtype in {r for p in plans for _, r in p.receptacles}:
            counts.setdefault(rtype, []).append(per.get(rtype, 0))
    objects = Counter(o for lay in plans for o in lay.object_types)
    required = {"Kitchen": {"Fridge", "Microwave", "SinkBasin", "CounterTop"}}.get(room_type, set())
    rng = random.Random(f"procedural/{room_type}/{seed}")
    name = f"{PROCEDURAL_PREFIX}{room_type}-{seed}"
    while True:
        receptacles = []
        for rtype in sorted(counts):
            for k in range(rng.choice(counts[rtype])):
                receptacles.append((_procedural_id(rng, rtype), rtype))
        kinds = {r for _, r in receptacles}
        if receptacles and required <= kinds and len(kinds) >= 3:
            break
    present = tuple(sorted(o for o, n in objects.items() if rng.random() < n / len(plans)))
    number = 100_000 + seed  # outside ALFRED's scene numbers, hence never in the test split
    return Layout(name, number, room_type, tuple(sorted(receptacles)), tuple(sorted(set(present) | kinds)))


def _procedural_id(rng: random.Random, rtype: str) -> str:
    x, y, z = rng.uniform(-3, 3), rng.uniform(0, 2), rng.uniform(-3, 3)
    return f"{rtype}|{x:+06.2f}|{y:+06.2f}|{z:+06.2f}"


def _present_objects(layout: Layout, facts: AlfredFacts) -> list[str]:
    """Pickupable classes of the layout that at least one of its receptacles accepts."""
    rtypes = {r for _, r in layout.receptacles}
    return sorted(o for o in layout.object_types if o in facts.pickupable
                  and any(o in facts.can_contain.get(r, ()) for r in rtypes))


_OPTIONS: dict[tuple[int, str, str], list[tuple[str, str, str]]] = {}


def _goal_options(layout: Layout, task_type: str, facts: AlfredFacts) -> list[tuple[str, str, str]]:
    """All ``(object, receptacle, toggle)`` class triples valid for ``task_type`` in ``layout`` (memoized)."""
    key = (id(facts), layout.name, task_type)
    if key not in _OPTIONS:
        _OPTIONS[key] = _compute_goal_options(layout, task_type, facts)
    return _OPTIONS[key]


def _compute_goal_options(layout: Layout, task_type: str, facts: AlfredFacts) -> list[tuple[str, str, str]]:
    rtypes = sorted({r for _, r in layout.receptacles})
    objects = _present_objects(layout, facts)
    if task_type == "look_at_obj_in_light":
        lamps = [t for t in LAMP_TYPES if t in layout.object_types and any(h in rtypes for h in LAMP_HOLDERS[t])]
        return [(o, "", lamp) for lamp in lamps for o in objects]
    if task_type in APPLIANCE:
        appliance = APPLIANCE[task_type]
        if appliance not in rtypes:
            return []
        objects = [o for o in objects if o in facts.properties[PROPERTY[task_type]]]
        exclude = {appliance}
    else:
        exclude = set()
    out = []
    for o in objects:
        for r in rtypes:
            if r in exclude or o not in facts.can_contain.get(r, ()):
                continue
            # The goal object must be able to start somewhere other than the goal receptacle class.
            if any(o in facts.can_contain.get(r2, ()) for r2 in rtypes if r2 != r):
                out.append((o, r, ""))
    return out


def _object_id(rng: random.Random, otype: str, used: set[str]) -> str:
    while True:
        x, y, z = (rng.uniform(-3, 3), rng.uniform(0, 2), rng.uniform(-3, 3))
        oid = f"{otype}|{x:+06.2f}|{y:+06.2f}|{z:+06.2f}"
        if oid not in used:
            used.add(oid)
            return oid


def generate_problem(seed: int, task_type: str, layout: str | None = None, split: str | None = None,
                     config: GeneratorConfig | None = None, facts: AlfredFacts | None = None) -> Problem:
    """Draws one problem of ``task_type`` (deterministic in its arguments).

    Args:
        seed: Seed of this problem.
        task_type: One of :data:`~.alfred.TASK_TYPES`.
        layout: Floor plan name; drawn among the valid ones (of ``split``) when ``None``.
        split: ``"train"`` or ``"test"``: restricts the drawn layout.
        config: Generator settings.
        facts: ALFRED facts (loaded from the alfworld wheel when ``None``).

    Raises:
        InvalidProblemError: the task type or layout is unknown, or no valid problem fits the layout.
    """
    facts = facts or load_facts()
    config = config or GeneratorConfig()
    tag = f"{task_type}/{layout or split or 'any'}/{seed}"
    if task_type not in TASK_TYPES:
        raise InvalidProblemError(tag, f"unknown task type {task_type!r}; valid: {', '.join(TASK_TYPES)}")
    rng = random.Random(f"alfworld/{task_type}/{layout}/{split}/{seed}")
    if layout is None:
        candidates = layouts_for(task_type, split, facts)
        if not candidates:
            raise InvalidProblemError(tag, f"no {split or ''} layout supports {task_type}")
        lay = rng.choice(candidates)
    else:
        lay = resolve_layout(layout, facts)
        if lay is None:
            raise InvalidProblemError(tag, f"unknown layout {layout!r}: ALFRED floor plans are FloorPlan1..430, "
                                      "procedural ones Procedural-<Kitchen|LivingRoom|Bedroom|Bathroom>-<seed>")
        if lay.room_type not in VALID_ROOMS[task_type]:
            raise InvalidProblemError(tag, f"ALFRED does not generate {task_type} in a {lay.room_type}")
    options = _goal_options(lay, task_type, facts)
    if not options:
        raise InvalidProblemError(tag, f"{lay.name} has no object/receptacle pair valid for {task_type}")
    last = ""
    for _ in range(config.max_attempts):
        obj, recep, toggle = rng.choice(options)
        template = rng.choice(facts.goals[task_type]["templates"])
        goal = Goal(task_type, obj, recep, toggle, template)
        try:
            problem = _place(rng, lay, goal, seed, config, facts)
            check_problem(problem, facts)
            return problem
        except InvalidProblemError as e:
            last = e.reason
    raise InvalidProblemError(tag, f"no valid placement after {config.max_attempts} attempts (last: {last})")


def _place(rng: random.Random, lay: Layout, goal: Goal, seed: int, config: GeneratorConfig,
           facts: AlfredFacts) -> Problem:
    used: set[str] = set()
    objects: list[tuple[str, str, str]] = []
    by_type: dict[str, list[str]] = {}
    for rid, rtype in lay.receptacles:
        by_type.setdefault(rtype, []).append(rid)
    for otype in _present_objects(lay, facts):
        if otype == goal.object_type:
            counts = config.two_object_counts if goal.task_type == "pick_two_obj_and_place" else config.instance_counts
            n = rng.choice(counts)
        else:
            n = rng.choice(config.instance_counts)
        holders = [rid for rid, rtype in lay.receptacles if otype in facts.can_contain.get(rtype, ())]
        if otype == goal.object_type:
            # The goal must not hold at the start: goal objects start outside goal receptacles.
            holders = [rid for rid in holders if dict(lay.receptacles)[rid] != goal.receptacle_type]
        if not holders:
            continue
        for _ in range(n):
            objects.append((_object_id(rng, otype, used), otype, rng.choice(holders)))
    for lamp in LAMP_TYPES:
        if lamp not in lay.object_types:
            continue
        holders = [rid for h in LAMP_HOLDERS[lamp] for rid in by_type.get(h, [])]
        if holders:
            objects.append((_object_id(rng, lamp, used), lamp, rng.choice(holders)))
    objects.sort()
    return Problem(lay.name, lay.room_type, seed, lay.receptacles, tuple(objects), goal)


def check_problem(problem: Problem, facts: AlfredFacts | None = None) -> None:
    """Checks a problem's static validity (the engine's planner checks solvability separately).

    Raises:
        InvalidProblemError: naming the first violated rule.
    """
    facts = facts or load_facts()
    pid, goal = problem.problem_id, problem.goal
    if goal.task_type not in TASK_TYPES:
        raise InvalidProblemError(pid, f"unknown task type {goal.task_type!r}")
    rtypes = dict(problem.receptacles)
    if len(rtypes) != len(problem.receptacles):
        raise InvalidProblemError(pid, "duplicate receptacle ids")
    ids = [o for o, _, _ in problem.objects]
    if len(set(ids)) != len(ids):
        raise InvalidProblemError(pid, "duplicate object ids")
    for oid, otype, rid in problem.objects:
        if rid not in rtypes:
            raise InvalidProblemError(pid, f"{oid} starts in unknown receptacle {rid}")
        if otype not in LAMP_TYPES and otype not in facts.can_contain.get(rtypes[rid], ()):
            raise InvalidProblemError(pid, f"a {rtypes[rid]} cannot hold a {otype}")
    goal_objs = [(o, rtypes[r]) for o, t, r in problem.objects if t == goal.object_type]
    need = 2 if goal.task_type == "pick_two_obj_and_place" else 1
    if len(goal_objs) < need:
        raise InvalidProblemError(pid, f"needs {need} {goal.object_type}, room has {len(goal_objs)}")
    if goal.task_type == "look_at_obj_in_light":
        if not any(t == goal.toggle_type for _, t, _ in problem.objects):
            raise InvalidProblemError(pid, f"no {goal.toggle_type} in the room")
        return
    if goal.receptacle_type not in rtypes.values():
        raise InvalidProblemError(pid, f"no {goal.receptacle_type} in the room")
    if goal.object_type not in facts.can_contain.get(goal.receptacle_type, ()):
        raise InvalidProblemError(pid, f"a {goal.receptacle_type} cannot hold a {goal.object_type}")
    if goal.task_type in APPLIANCE:
        if APPLIANCE[goal.task_type] not in rtypes.values():
            raise InvalidProblemError(pid, f"no {APPLIANCE[goal.task_type]} in the room")
        if goal.object_type not in facts.properties[PROPERTY[goal.task_type]]:
            raise InvalidProblemError(pid, f"a {goal.object_type} is not {PROPERTY[goal.task_type].lower()}")
    if any(r == goal.receptacle_type for _, r in goal_objs):
        raise InvalidProblemError(pid, "the goal already holds at the start")


def generate_problems(task_types: Sequence[str], per_type: int, split: str, seed: int = 0,
                      facts: AlfredFacts | None = None) -> Iterator[Problem]:
    """Yields ``per_type`` problems of each task type for a split, cycling through its layouts.

    Layouts are assigned round-robin (shuffled by ``seed``) so a split covers its rooms evenly.
    """
    facts = facts or load_facts()
    for ti, task_type in enumerate(task_types):
        layouts = layouts_for(task_type, split, facts)
        random.Random(f"{seed}/{task_type}/{split}").shuffle(layouts)
        for i in range(per_type):
            layout = layouts[i % len(layouts)]
            yield generate_problem(seed * 1_000_003 + ti * 100_003 + i, task_type, layout=layout.name,
                                   facts=facts)
