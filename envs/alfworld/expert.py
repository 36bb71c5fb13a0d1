"""A privileged expert for the six task types: the next command from the engine's true facts.

It replans from the current facts at every step (like upstream's hand-coded TextWorld expert), so it
recovers after noisy or random actions. It is far faster than the engine's PDDL planner (seconds
per plan on ALFRED-sized rooms) and solves every generated problem (checked in the tests and in
``make_data``, where each shipped problem is certified by playing the expert in the real engine).
"""

from __future__ import annotations

from .alfred import AlfredFacts
from .generator import APPLIANCE
from .problem import Goal
from .world import World

#: Command verb of each state-changing task, with the state it produces.
_TREAT = {"pick_clean_then_place_in_recep": ("clean", "clean"), "pick_heat_then_place_in_recep": ("heat", "hot"),
          "pick_cool_then_place_in_recep": ("cool", "cool")}


_CAN_CONTAIN: dict[int, dict[str, frozenset[str]]] = {}


def _can_contain(facts: AlfredFacts) -> dict[str, frozenset[str]]:
    """``facts.can_contain`` with lowercase class names (as the engine names them)."""
    key = id(facts)
    if key not in _CAN_CONTAIN:
        _CAN_CONTAIN[key] = {r.lower(): frozenset(o.lower() for o in objs) for r, objs in facts.can_contain.items()}
    return _CAN_CONTAIN[key]


def put_command(obj: str, receptacle: str, dialect: str) -> str:
    """The put command of a dialect."""
    return f"put {obj} in/on {receptacle}" if dialect == "put" else f"move {obj} to {receptacle}"


def expert_action(world: World, goal: Goal, dialect: str, facts: AlfredFacts) -> str:
    """Returns the expert's next command (``"look"`` when the goal already holds)."""
    obj_cls = goal.object_type.lower()
    recep_cls = goal.receptacle_type.lower()
    held = world.held
    can_contain = _can_contain(facts)

    def reach(receptacle: str) -> str | None:
        """Command that brings the agent to an open ``receptacle``, or ``None`` when it is there."""
        if world.at != receptacle:
            return f"go to {receptacle}"
        if world.is_closed(receptacle):
            return f"open {receptacle}"
        return None

    def fetch(candidates: list[str]) -> str:
        """Commands to pick up one of ``candidates`` (hands must be empty)."""
        # Prefer objects in reach, then objects on open furniture, then the rest.
        ordered = sorted(candidates, key=lambda o: (world.where.get(o) != world.at, world.is_closed(world.where[o])))
        target = ordered[0]
        recep = world.where[target]
        return reach(recep) or f"take {target} from {recep}"

    def drop(obj: str) -> str:
        """Commands to put a wrongly held object down somewhere it fits."""
        cls = world.object_class.get(obj, "")
        fits = [r for r in world.receptacles
                if cls in can_contain.get(world.object_class.get(r, ""), ()) and world.object_class.get(r) != recep_cls]
        fits.sort(key=lambda r: (r != world.at, world.is_closed(r)))
        if not fits:
            return "inventory"
        return reach(fits[0]) or put_command(obj, fits[0], dialect)

    if goal.task_type == "look_at_obj_in_light":
        lamps = [o for o in world.objects_of(goal.toggle_type.lower()) if o in world.where]
        if held is not None and world.object_class.get(held) == obj_cls:
            if not lamps:
                return "look"
            return reach(world.where[lamps[0]]) or f"use {lamps[0]}"
        if held is not None:
            return drop(held)
        candidates = [o for o in world.objects_of(obj_cls) if o in world.where]
        return fetch(candidates) if candidates else "look"

    targets = world.receptacles_of(recep_cls)
    need = 2 if goal.task_type == "pick_two_obj_and_place" else 1
    treat = _TREAT.get(goal.task_type)

    def ready(o: str) -> bool:
        return treat is None or o in getattr(world, treat[1])

    placed = {r: [o for o in world.contents.get(r, []) if world.object_class.get(o) == obj_cls and ready(o)]
              for r in targets}
    # Aim at the target receptacle that already holds the most goal objects (pick_two needs one receptacle).
    target = max(targets, key=lambda r: (len(placed[r]), -targets.index(r)))
    if len(placed[target]) >= need:
        return "look"
    if held is not None and world.object_class.get(held) == obj_cls:
        if not ready(held):
            appliance = world.receptacles_of(APPLIANCE[goal.task_type].lower())[0]
            if world.at != appliance:
                return f"go to {appliance}"
            return f"{treat[0]} {held} with {appliance}"
        return reach(target) or put_command(held, target, dialect)
    if held is not None:
        return drop(held)
    candidates = [o for o in world.objects_of(obj_cls) if o in world.where and o not in placed[target]]
    return fetch(candidates) if candidates else "look"
