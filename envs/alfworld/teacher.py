"""Teacher annotation from the engine's own facts: why a transition happened.

Given the PDDL facts before and after a command, whether the engine accepted it and whether the
goal holds, :func:`explain` writes a short reasoning trace: the action's validity (and, when
invalid, the precondition that fails in the *before* state), what changed (from the fact
difference), and why the reward is what it is (which part of the goal holds or is still missing).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from .problem import Goal
from .world import World

_ENT = r"([a-z]+ \d+)"
_PATTERNS = {
    "goto": re.compile(rf"go to {_ENT}"),
    "open": re.compile(rf"open {_ENT}"),
    "close": re.compile(rf"close {_ENT}"),
    "take": re.compile(rf"take {_ENT} from {_ENT}"),
    "put": re.compile(rf"put {_ENT} (?:in/on|in|on) {_ENT}"),
    "move": re.compile(rf"move {_ENT} to {_ENT}"),
    "treat": re.compile(rf"(clean|heat|cool) {_ENT} with {_ENT}"),
    "use": re.compile(rf"use {_ENT}"),
    "examine": re.compile(rf"examine {_ENT}"),
    "slice": re.compile(rf"slice {_ENT} with {_ENT}"),
}
_APPLIANCE = {"clean": "sinkbasin", "heat": "microwave", "cool": "fridge"}
_ABLE = {"clean": "cleanable", "heat": "heatable", "cool": "coolable"}


def diagnose(command: str, world: World, dialect: str) -> str:
    """Why ``command`` is not admissible in ``world`` (the engine then answers "Nothing happens.")."""
    cmd = command.strip()
    known = set(world.object_class)
    for kind, pat in _PATTERNS.items():
        m = pat.fullmatch(cmd)
        if m:
            break
    else:
        if cmd in ("help",) and dialect == "put":
            return "this game has no 'help' command"
        return f"'{cmd}' is not a command of this game"
    args = [g for g in m.groups() if g and " " in g]
    for a in args:
        if a not in known:
            return f"there is no {a} in this room"
    here = world.at
    if kind == "goto":
        r = args[0]
        return f"{r} is an object, not a place to go to" if r not in world.location_of else f"going to {r} is not possible"
    if kind in ("open", "close"):
        r = args[0]
        if r not in world.location_of or r not in world.openable:
            return f"{r} cannot be opened or closed"
        if here != r:
            return f"the agent is not at {r}"
        return f"{r} is already {'open' if kind == 'open' else 'closed'}"
    if kind == "take":
        o, r = args
        if world.held is not None:
            return f"the agent already holds {world.held} and can carry only one object"
        if here != r:
            return f"the agent is not at {r}"
        if world.is_closed(r):
            return f"{r} is closed"
        if world.where.get(o) != r:
            return f"{o} is not in/on {r}"
        return f"{o} cannot be picked up"
    if kind in ("put", "move"):
        o, r = args
        if (kind == "move") != (dialect == "move"):
            return f"this game's put command is '{'move O to R' if dialect == 'move' else 'put O in/on R'}'"
        if kind == "put" and " in/on " not in cmd:
            return "this game's put command is 'put O in/on R'"
        if world.held != o:
            return f"the agent does not hold {o}"
        if here != r:
            return f"the agent is not at {r}"
        if world.is_closed(r):
            return f"{r} is closed"
        return f"a {world.object_class.get(r, r)} cannot hold a {world.object_class.get(o, o)}"
    if kind == "treat":
        verb = m.group(1)
        o, r = args
        if world.held != o:
            return f"the agent does not hold {o}"
        if world.object_class.get(r) != _APPLIANCE[verb]:
            return f"objects are {'cleaned' if verb == 'clean' else verb + 'ed'} with a {_APPLIANCE[verb]}, not a {world.object_class.get(r, r)}"
        if here != r:
            return f"the agent is not at {r}"
        return f"{o} is not {_ABLE[verb]}"
    if kind == "use":
        o = args[0]
        if "toggleable" not in world.flags.get(o, set()):
            return f"{o} cannot be turned on"
        if world.where.get(o) != here:
            return f"{o} is not where the agent is"
        return f"{o} cannot be used now"
    if kind == "examine":
        x = args[0]
        if x in world.location_of:
            return f"the agent is not at {x}"
        return f"{x} is neither held nor visible where the agent is"
    return f"slicing {args[0]} needs a held knife at its place"


def _list(items: Iterable[str]) -> str:
    items = list(items)
    if not items:
        return "nothing"
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def describe_change(command: str, before: World, after: World) -> str:
    """One or two sentences on what an accepted command changed, from the fact difference."""
    parts = []
    if before.at != after.at and after.at is not None:
        r = after.at
        seen = after.visible_at(r)
        if after.is_closed(r):
            parts.append(f"The agent moves to {r}, which is closed, so it cannot see inside.")
        else:
            parts.append(f"The agent moves to {r} and sees {_list(seen)} in/on it.")
    if after.opened - before.opened:
        r = min(after.opened - before.opened)
        parts.append(f"{r} is now open, showing {_list(after.contents.get(r, []))}.")
    if before.opened - after.opened:
        parts.append(f"{min(before.opened - after.opened)} is now closed.")
    if after.held and after.held != before.held:
        parts.append(f"The agent now holds {after.held}, taken from {before.where.get(after.held, 'its place')}.")
    if before.held and after.held is None:
        parts.append(f"{before.held} is now in/on {after.where.get(before.held, 'the receptacle')} and the agent's hands are empty.")
    for attr, word in (("clean", "clean"), ("hot", "hot"), ("cool", "cool")):
        new = getattr(after, attr) - getattr(before, attr)
        if new:
            parts.append(f"{_list(sorted(new))} is now {word}.")
        lost = getattr(before, attr) - getattr(after, attr)
        if lost:
            parts.append(f"{_list(sorted(lost))} is no longer {word}.")
    if after.toggled - before.toggled or (command.startswith("use ") and not parts):
        parts.append(f"{command[4:] if command.startswith('use ') else min(after.toggled)} is turned on.")
    if not parts:
        if command == "inventory":
            parts.append(f"It only reports what the agent carries ({after.held or 'nothing'}); the state does not change.")
        elif command.startswith("examine ") or command == "look":
            parts.append("It only describes what the agent perceives; the state does not change.")
        else:
            parts.append("The state does not change.")
    return " ".join(parts)


def goal_status(goal: Goal, world: World, won: bool) -> str:
    """Why the reward is 1 or 0: which part of the goal holds or is missing."""
    obj, recep = goal.object_type.lower(), goal.receptacle_type.lower()
    if won:
        return f"The goal ({goal.instruction[:-1]}) now holds, so the reward is 1 and the episode ends."
    if goal.task_type == "look_at_obj_in_light":
        lamp = goal.toggle_type.lower()
        holding = world.held is not None and world.object_class.get(world.held) == obj
        lamps_here = [o for o in world.objects_of(lamp) if world.where.get(o) == world.at and world.at]
        if not holding:
            missing = f"the agent must hold a {obj}"
        elif not lamps_here:
            missing = f"the agent holds {world.held} but is not at a {lamp}"
        else:
            missing = f"{lamps_here[0]} must be turned on while holding {world.held}"
        return f"The goal is not met yet ({missing}), so the reward is 0."
    need = 2 if goal.task_type == "pick_two_obj_and_place" else 1
    state = {"pick_clean_then_place_in_recep": "clean", "pick_heat_then_place_in_recep": "hot",
             "pick_cool_then_place_in_recep": "cool"}.get(goal.task_type)
    ok = [o for o in world.objects_of(obj) if state is None or o in getattr(world, state)]
    best = max((sum(1 for o in world.contents.get(r, []) if o in ok) for r in world.receptacles_of(recep)), default=0)
    adj = f"{state} " if state else ""
    if world.held is not None and world.object_class.get(world.held) == obj:
        if state and world.held not in getattr(world, state):
            progress = f"the agent holds {world.held}, which is not {state} yet"
        else:
            progress = f"the agent holds {world.held} but has not put it in/on a {recep}"
    elif need == 1:
        progress = f"no {adj}{obj} is in/on a {recep}"
    else:
        progress = f"{best} of the 2 needed {obj} objects are in/on one {recep}"
    return f"The goal is not met yet ({progress}), so the reward is 0."


def explain(command: str, before: World, after: World, admissible: bool, won: bool, goal: Goal,
            dialect: str) -> tuple[str, str | None]:
    """Returns ``(reasoning, action_error)`` for one real transition."""
    if not admissible:
        why = diagnose(command, before, dialect)
        return (f"The action is invalid because {why}, so nothing happens and the state does not change. "
                + goal_status(goal, before, False), why)
    return f"The action is valid. {describe_change(command, before, after)} {goal_status(goal, after, won)}", None
