"""An ALFRED-style household problem (room, objects, goal) and its PDDL rendering.

A :class:`Problem` is plain data; :func:`to_pddl` turns it into the PDDL problem text the real
engine (TextWorld's PDDL env over ``alfred.pddl``) plays. Ids follow ALFRED's conventions
(``Cabinet|+00.68|+00.50|-02.20``, mangled to ``Cabinet_bar__plus_00_dot_68_...`` in PDDL), so the
engine names entities exactly as in the upstream games (``cabinet 3``, ``sinkbasin 1``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from dreamgym_env.error import DreamGymError
from dreamgym_env.types import stable_id

from .alfred import LAMP_TYPES, AlfredFacts


class InvalidProblemError(DreamGymError, ValueError):
    """A generated or stored ALFWorld problem is malformed or unsolvable; the message says why."""

    def __init__(self, problem_id: str, reason: str) -> None:
        super().__init__(f"ALFWorld problem {problem_id!r} rejected: {reason}")
        self.problem_id = problem_id
        self.reason = reason


@dataclass(frozen=True)
class Goal:
    """What the agent must achieve.

    Attributes:
        task_type: One of :data:`~.alfred.TASK_TYPES`.
        object_type: ALFRED class of the object to handle (``"Mug"``).
        receptacle_type: ALFRED class of the target receptacle (``"CoffeeMachine"``); ``""`` for look tasks.
        toggle_type: Lamp class for look tasks (``"DeskLamp"``), else ``""``.
        template: The upstream instruction template used (``"put a clean {obj} in {recep}"``).
    """

    task_type: str
    object_type: str
    receptacle_type: str
    toggle_type: str
    template: str

    @property
    def instruction(self) -> str:
        """The instruction as the game states it after "Your task is to: " (with its final period)."""
        text = self.template.format(obj=self.object_type.lower(), recep=self.receptacle_type.lower(),
                                    toggle=self.toggle_type.lower(), mrecep="")
        return text + "."


@dataclass(frozen=True)
class Problem:
    """One playable problem.

    Attributes:
        layout: ALFRED floor plan (``"FloorPlan12"``).
        room_type: ``"Kitchen"``, ``"LivingRoom"``, ``"Bedroom"`` or ``"Bathroom"``.
        seed: Generator seed that produced it.
        receptacles: ``(alfred_id, class)`` pairs.
        objects: ``(alfred_id, class, receptacle_alfred_id)`` triples: every object starts in a receptacle.
        goal: The goal.
    """

    layout: str
    room_type: str
    seed: int
    receptacles: tuple[tuple[str, str], ...]
    objects: tuple[tuple[str, str, str], ...]
    goal: Goal

    @property
    def problem_id(self) -> str:
        """Stable id derived from the content."""
        return "alfworld-" + stable_id(self.layout, self.seed, self.receptacles, self.objects, self.goal)

    @property
    def instruction(self) -> str:
        """The task instruction."""
        return self.goal.instruction

    def to_dict(self) -> dict[str, Any]:
        """Returns a compact JSON-serialisable form (stored in ``Task.meta["problem"]``)."""
        return {
            "layout": self.layout, "room_type": self.room_type, "seed": self.seed,
            "receptacles": [list(r) for r in self.receptacles],
            "objects": [list(o) for o in self.objects],
            "goal": {"task_type": self.goal.task_type, "object_type": self.goal.object_type,
                     "receptacle_type": self.goal.receptacle_type, "toggle_type": self.goal.toggle_type,
                     "template": self.goal.template},
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Problem:
        """Rebuilds a problem from :meth:`to_dict` output.

        Raises:
            InvalidProblemError: a field is missing or has the wrong shape.
        """
        try:
            g = d["goal"]
            return cls(
                layout=str(d["layout"]), room_type=str(d["room_type"]), seed=int(d["seed"]),
                receptacles=tuple((str(a), str(b)) for a, b in d["receptacles"]),
                objects=tuple((str(a), str(b), str(c)) for a, b, c in d["objects"]),
                goal=Goal(str(g["task_type"]), str(g["object_type"]), str(g["receptacle_type"]),
                          str(g["toggle_type"]), str(g["template"])),
            )
        except (KeyError, TypeError, ValueError) as e:
            raise InvalidProblemError(str(d.get("layout", "?")) if isinstance(d, Mapping) else "?",
                                      f"malformed problem record ({type(e).__name__}: {e})") from e


def mangle(alfred_id: str) -> str:
    """ALFRED id -> PDDL constant (``Sink|-01.99|+00.05|-02.57|SinkBasin`` -> ``Sink_bar__minus_01_dot_99...``)."""
    return (alfred_id.replace("|", "_bar_").replace("+", "_plus_").replace("-", "_minus_")
            .replace(".", "_dot_").replace(",", "_comma_"))


def _loc(index: int) -> str:
    return f"loc_bar_{index}"


AGENT_START = "loc_bar_start"


def to_pddl(problem: Problem, facts: AlfredFacts) -> str:
    """Renders the PDDL problem for the real engine (domain ``alfred``).

    Raises:
        InvalidProblemError: the problem refers to unknown receptacles or classes.
    """
    pid = problem.problem_id
    recep_loc = {rid: _loc(i) for i, (rid, _) in enumerate(problem.receptacles)}
    rtypes = sorted({r for _, r in problem.receptacles} | ({problem.goal.receptacle_type} - {""}))
    otypes = sorted({o for _, o, _ in problem.objects} | {problem.goal.object_type}
                    | ({problem.goal.toggle_type} - {""}))
    for oid, otype, rid in problem.objects:
        if rid not in recep_loc:
            raise InvalidProblemError(pid, f"object {oid!r} is in unknown receptacle {rid!r}")

    objects = ["agent1 - agent"]
    objects += [f"{t}Type - otype" for t in otypes]
    objects += [f"{t}Type - rtype" for t in rtypes]
    objects += [f"{mangle(oid)} - object" for oid, _, _ in problem.objects]
    objects += [f"{mangle(rid)} - receptacle" for rid, _ in problem.receptacles]
    objects += [f"{loc} - location" for loc in [AGENT_START, *recep_loc.values()]]

    props = facts.properties
    init = [f"(atLocation agent1 {AGENT_START})"]
    for rid, rtype in problem.receptacles:
        m = mangle(rid)
        init.append(f"(receptacleType {m} {rtype}Type)")
        init.append(f"(receptacleAtLocation {m} {recep_loc[rid]})")
        if rtype in facts.openable:
            init.append(f"(openable {m})")
    pickupable = facts.pickupable
    for oid, otype, rid in problem.objects:
        m = mangle(oid)
        init.append(f"(objectType {m} {otype}Type)")
        init.append(f"(inReceptacle {m} {mangle(rid)})")
        init.append(f"(objectAtLocation {m} {recep_loc[rid]})")
        if otype in pickupable:
            init.append(f"(pickupable {m})")
        if otype in facts.movable_receptacles:
            init.append(f"(isReceptacleObject {m})")
        for prop, pred in (("Cleanable", "cleanable"), ("Heatable", "heatable"), ("Coolable", "coolable"),
                           ("Sliceable", "sliceable")):
            if otype in props[prop]:
                init.append(f"({pred} {m})")
        if otype in LAMP_TYPES:
            init.append(f"(toggleable {m})")
    for rtype in rtypes:
        for otype in otypes:
            if otype in facts.can_contain.get(rtype, ()):
                init.append(f"(canContain {rtype}Type {otype}Type)")

    goal_template = facts.goals[problem.goal.task_type]["pddl"]
    goal = goal_template.format(obj=problem.goal.object_type, recep=problem.goal.receptacle_type,
                                toggle=problem.goal.toggle_type, mrecep="").replace("#", "-")
    return (f"(define (problem {pid.replace('-', '_')})\n(:domain alfred)\n(:objects\n  "
            + "\n  ".join(objects) + "\n)\n(:init\n  " + "\n  ".join(init) + "\n)\n" + goal.strip() + "\n")
