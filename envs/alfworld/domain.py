"""DreamGym-ALFWorld: the ALFWorld (TextWorld + ALFRED PDDL) household domain.

Tasks come from this package's problem generator (``data/tasks.jsonl``, each with the real engine's
first observation); the replay index is seeded with real-engine trajectories
(``data/seed_transitions.jsonl``); ``data/rules.json`` holds the ALFRED object rules the action
proposer and outcome checks need without the engine installed. All three are rebuilt by
``python -m dreamgym_env.envs.alfworld.make_data``.
"""

from __future__ import annotations

import functools
import json
import random
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dreamgym_env.domain import Domain, ImportHooks, Outcome, Policy, TaskCheck
from dreamgym_env.error import InvalidConfigError
from dreamgym_env.grammar import match_any
from dreamgym_env.types import Task, Transition, stable_id

NOTHING_HAPPENS = "Nothing happens."
DATA_DIR = Path(__file__).parent / "data"

_ENTITY = r"[a-z]+ \d+"
_ENTITY_RE = re.compile(rf"\b({_ENTITY})\b")
#: The command grammar of ALFWorld, both dialects: datasets' ``put O in/on R`` and 0.4's ``move O to R``.
ACTION_PATTERNS = tuple(
    re.compile(p)
    for p in (
        rf"go to (?P<r>{_ENTITY})",
        rf"open (?P<r>{_ENTITY})",
        rf"close (?P<r>{_ENTITY})",
        rf"take (?P<o>{_ENTITY}) from (?P<r>{_ENTITY})",
        rf"put (?P<o>{_ENTITY}) (?:in|on|in/on) (?P<r>{_ENTITY})",
        rf"move (?P<o>{_ENTITY}) to (?P<r>{_ENTITY})",
        rf"(?:clean|heat|cool|slice) (?P<o>{_ENTITY}) with (?P<r>{_ENTITY})",
        rf"use (?P<r>{_ENTITY})",
        rf"examine (?P<r>{_ENTITY})",
        r"inventory",
        r"look",
        r"help",
    )
)

SYSTEM_PROMPT = """\
You simulate ALFWorld, a text household environment (the real TextWorld engine over ALFRED PDDL problems).
The room's receptacles are listed in the first observation; objects start in/on receptacles. Rules:
- The agent is at one receptacle at a time (at first in the middle of the room). "go to R" moves it \
to R and describes it: "On the R, you see a X 1, and a Y 2." ("... you see nothing."), or, if R is \
closed, "The R is closed."
- "open R" / "close R" work only for openable receptacles (cabinet, drawer, fridge, microwave, safe) \
the agent is at: "You open the R. The R is open. In it, you see ...", "You close the R."
- "take O from R": O visible in/on R where the agent is, R open if openable, hands empty (the agent \
carries one object): "You pick up the O from the R."
- "put O in/on R": the carried O at the current, open R that can hold O's kind: "You put the O in/on the R."
- "clean O with sinkbasin N", "heat O with microwave N", "cool O with fridge N": O carried and the \
agent at that appliance (no need to open it): "You clean the O using the sinkbasin 1." Only suitable \
objects (food, dishes, cutlery...) can be cleaned/heated/cooled.
- "use desklamp N"/"use floorlamp N" when the lamp is where the agent is: "You turn on the desklamp 1."
- "examine R" repeats what R shows; "examine O" on the carried O: "There's nothing special about O 1." \
or its state ("This is a hot O 1."); "inventory": "You are carrying: a O 1." / "You are not carrying \
anything."; "look": "You are facing the R. Next to it, you see nothing."
- Any other command, or one whose conditions fail, gives exactly "Nothing happens." and changes nothing.
- Objects and receptacles that were never mentioned do not exist; nothing moves by itself.
Reward is 1 only on the step at which the task goal holds (the right object, cleaned/heated/cooled if \
asked, put in/on a receptacle of the asked kind -- two of them for "put two"; or, for "look at/examine \
O under/with the lamp", turning the lamp on while carrying O); then done is true. Otherwise reward 0, \
done false.\
"""

_LIST = re.compile(r"(?:you see|In it, you see) ([^.]*)\.")
_ART = re.compile(r"\b(?:a|an) ([a-z]+ \d+)")
_OPENABLE = frozenset({"cabinet", "drawer", "fridge", "microwave", "safe", "box"})
_APPLIANCE = {"sinkbasin": "clean", "microwave": "heat", "fridge": "cool"}
#: Receptacle classes ALFWorld names oddly in some rooms, with the class its rules use.
_CLASS_ALIASES = {"sinkbasinbasin": "sinkbasin"}
_LAMPS = frozenset({"desklamp", "floorlamp"})
#: The receptacle a task type's middle step needs (clean in a sink, heat in a microwave, cool in a fridge).
_TOOLS = {"pick_clean_then_place_in_recep": "sinkbasin", "pick_heat_then_place_in_recep": "microwave",
          "pick_cool_then_place_in_recep": "fridge"}
_KNIVES = frozenset({"knife", "butterknife"})


@functools.lru_cache(maxsize=1)
def load_rules() -> dict[str, Any]:
    """ALFRED's object rules as shipped in ``data/rules.json`` (lowercase class names).

    Keys: ``can_contain`` (receptacle class -> classes), ``cleanable``/``heatable``/``coolable``/
    ``sliceable`` (classes).
    """
    path = DATA_DIR / "rules.json"
    if not path.exists():
        return {"can_contain": {}, "cleanable": [], "heatable": [], "coolable": [], "sliceable": []}
    return json.loads(path.read_text())


_W = r"(?P<obj>[a-z]+)"
_R = r"(?P<recep>[a-z]+)"
#: ALFWorld's goal templates (alfworld's ``goal_library``), lower-cased, as regexes.
_GOAL_PATTERNS = tuple((t, re.compile(p)) for t, p in (
    ("pick_two_obj_and_place", rf"^put two {_W} (?:in|on) {_R}\.$"),
    ("pick_two_obj_and_place", rf"^find two {_W} and put them (?:in|on) {_R}\.$"),
    ("look_at_obj_in_light", rf"^look at {_W} under the {_R}\.$"),
    ("look_at_obj_in_light", rf"^examine the {_W} with the {_R}\.$"),
    ("pick_clean_then_place_in_recep", rf"^put a clean {_W} (?:in|on) {_R}\.$"),
    ("pick_clean_then_place_in_recep", rf"^clean some {_W} and put it (?:in|on) {_R}\.$"),
    ("pick_heat_then_place_in_recep", rf"^put a hot {_W} (?:in|on) {_R}\.$"),
    ("pick_heat_then_place_in_recep", rf"^heat some {_W} and put it (?:in|on) {_R}\.$"),
    ("pick_cool_then_place_in_recep", rf"^put a cool {_W} (?:in|on) {_R}\.$"),
    ("pick_cool_then_place_in_recep", rf"^cool some {_W} and put it (?:in|on) {_R}\.$"),
    ("pick_and_place_simple", rf"^put (?:a|some) {_W} (?:in|on) {_R}\.$"),
))


def match_goal(instruction: str) -> tuple[str, str, str] | None:
    """``(task_type, object class, receptacle or lamp class)`` of an instruction in one of ALFWorld's
    goal templates (case and a missing final period ignored), else ``None``."""
    text = instruction.strip().lower()
    text = text if text.endswith(".") else text + "."
    for task_type, pattern in _GOAL_PATTERNS:
        m = pattern.match(text)
        if m:
            return task_type, m.group("obj"), m.group("recep")
    return None


def _goal_of(task: Task) -> dict[str, Any]:
    """The task's goal: its generated problem's, else read from the instruction (generated and imported
    tasks have no problem); ``{}`` when neither gives one."""
    goal = (task.meta.get("problem") or {}).get("goal")
    if goal:
        return goal
    matched = match_goal(task.instruction)
    if matched is None:
        return {}
    task_type, obj, recep = matched
    where = "toggle_type" if task_type == "look_at_obj_in_light" else "receptacle_type"
    return {"task_type": task_type, "object_type": obj, where: recep}


def _layout_objects(task: Task) -> list[str]:
    """The object classes (lower case, one per instance) of a task's generated layout."""
    return [str(o[1]).lower() for o in (task.meta.get("problem") or {}).get("objects") or ()]


def _room_text(task: Task) -> str:
    """The room description of a task's first observation (without the task line)."""
    return task.initial_observation.split("Your task is to:")[0]


@functools.lru_cache(maxsize=1)
def _alfred_classes() -> dict[str, Any]:
    """ALFRED's object/receptacle classes and properties, lower-cased (from the installed wheel's rules)."""
    from .alfred import load_facts

    facts = load_facts()
    low = lambda xs: frozenset(x.lower() for x in xs)
    return {"objects": low(facts.pickupable), "receptacles": low(facts.can_contain),
            "contains": {r.lower(): low(o) for r, o in facts.can_contain.items()},
            "cleanable": low(facts.properties.get("Cleanable", ())),
            "heatable": low(facts.properties.get("Heatable", ())),
            "coolable": low(facts.properties.get("Coolable", ()))}


def _cls(name: str) -> str:
    return name.rsplit(" ", 1)[0]


@dataclass
class _Seen:
    """What the observations so far tell about the episode's state."""

    receptacles: list[str] = field(default_factory=list)
    here: str | None = None
    held: str | None = None
    closed: bool = False
    visible: list[str] = field(default_factory=list)
    visited: set[str] = field(default_factory=set)
    #: What each object has been made: ``clean``, ``hot`` or ``cold`` (cooling a hot object undoes the heat).
    treated: dict[str, set[str]] = field(default_factory=dict)
    #: What each receptacle is known to hold, in the engine's order: listed when the agent went there or
    #: opened it, plus what it put there (last), minus what it took.
    contents: dict[str, list[str]] = field(default_factory=dict)
    #: The receptacles whose list the agent has seen.
    listed: set[str] = field(default_factory=set)


def _track(task: Task, history: Sequence[Transition]) -> _Seen:
    first = _LIST.search(task.initial_observation)
    seen = _Seen(receptacles=sorted(set(_ART.findall(first.group(1)))) if first else [])
    for t in history:
        if t.next_state.strip() == NOTHING_HAPPENS:
            continue
        a, obs = t.action.strip(), t.next_state
        m = re.fullmatch(rf"go to ({_ENTITY})", a)
        if m:
            seen.here, seen.closed = m.group(1), f"The {m.group(1)} is closed." in obs
            seen.visited.add(seen.here)
            listed = _LIST.search(obs)
            seen.visible = _ART.findall(listed.group(1)) if listed and not seen.closed else []
            if listed and not seen.closed:
                seen.contents[seen.here] = list(dict.fromkeys(seen.visible))
                seen.listed.add(seen.here)
            continue
        m = re.fullmatch(rf"open ({_ENTITY})", a)
        if m and m.group(1) == seen.here:
            seen.closed = False
            listed = _LIST.search(obs)
            seen.visible = _ART.findall(listed.group(1)) if listed else []
            if listed:
                seen.contents[seen.here] = list(dict.fromkeys(seen.visible))
                seen.listed.add(seen.here)
            continue
        m = re.fullmatch(rf"close ({_ENTITY})", a)
        if m and m.group(1) == seen.here:
            seen.closed, seen.visible = True, []
            continue
        m = re.fullmatch(rf"take ({_ENTITY}) from ({_ENTITY})", a)
        if m:
            seen.held = m.group(1)
            seen.visible = [v for v in seen.visible if v != seen.held]
            held = seen.contents.get(m.group(2), [])
            if m.group(1) in held:
                held.remove(m.group(1))
            continue
        m = re.fullmatch(rf"(?:put ({_ENTITY}) (?:in/on|in|on)|move ({_ENTITY}) to) ({_ENTITY})", a)
        if m:
            obj = m.group(1) or m.group(2)
            if obj:
                seen.visible = sorted({*seen.visible, obj})
                into = seen.contents.setdefault(m.group(3), [])
                if obj not in into:
                    into.append(obj)
            seen.held = None
            continue
        m = re.fullmatch(rf"(clean|heat|cool) ({_ENTITY}) with ({_ENTITY})", a)
        if m:
            states = seen.treated.setdefault(m.group(2), set())
            made = _TREATED[m.group(1)]
            if made != "clean":
                states -= {"hot", "cold"}
            states.add(made)
    return seen


#: The engine's reply to each command that succeeds, named entirely by the command (exact on every such
#: step of the 10,980 collected real ones). The lead words mark a reply that reports that success.
_SUCCESS_REPLIES = tuple(
    (re.compile(pattern), reply, reply.split("{")[0])
    for pattern, reply in (
        (rf"take ({_ENTITY}) from ({_ENTITY})", "You pick up the {0} from the {1}."),
        (rf"put ({_ENTITY}) (?:in/on|in|on) ({_ENTITY})", "You put the {0} in/on the {1}."),
        (rf"move ({_ENTITY}) to ({_ENTITY})", "You move the {0} to the {1}."),
        (rf"heat ({_ENTITY}) with ({_ENTITY})", "You heat the {0} using the {1}."),
        (rf"cool ({_ENTITY}) with ({_ENTITY})", "You cool the {0} using the {1}."),
        (rf"clean ({_ENTITY}) with ({_ENTITY})", "You clean the {0} using the {1}."),
        (rf"use ({_ENTITY})", "You turn on the {0}."),
        (rf"close ({_ENTITY})", "You close the {0}."),
    )
)
#: The lead words of every success reply.
_SUCCESS_LEADS = tuple(lead for _, _, lead in _SUCCESS_REPLIES)


def _is_open(recep: str, history: Sequence[Transition]) -> bool:
    """Whether the episode so far left ``recep`` open (opened, and not closed since)."""
    state = False
    for t in history:
        if t.next_state.strip() == NOTHING_HAPPENS:
            continue
        if t.action.strip() == f"open {recep}":
            state = True
        elif t.action.strip() == f"close {recep}":
            state = False
    return state


def _listing(items: Sequence[str]) -> str:
    """The engine's way to list objects: "nothing", "a X", "a X, and a Y", "a X, a Y, and a Z"."""
    if not items:
        return "nothing"
    if len(items) == 1:
        return f"a {items[0]}"
    return ", ".join(f"a {i}" for i in items[:-1]) + f", and a {items[-1]}"


def _arrival_form(recep: str, obs: str, history: Sequence[Transition], known: Sequence[str] | None = None) -> str | None:
    """``obs`` (a reply to ``go to recep`` that reports an arrival) in the form the engine uses there, naming
    ``recep``; ``None`` for any other reply.

    The engine says "The R is closed." at an openable receptacle not opened since it was last closed (all
    start closed), "The R is open. In it, you see ..." at an open one, and "On the R, you see ..." elsewhere
    (every one of the 6,226 such collected real steps). Where the model showed no list but the engine would,
    the list is ``known`` (what the episode says is there), else it stays unknown and the reply keeps its
    form.
    """
    on = re.match(rf"On the {_ENTITY}, you see", obs)
    ajar = re.match(rf"The {_ENTITY} is open\. In it, you see", obs)
    shut = re.match(rf"The {_ENTITY} is closed\.", obs)
    head = on or ajar or shut
    if head is None:
        return None
    rest = obs[head.end():]
    if _cls(recep) in _OPENABLE and not _is_open(recep, history):
        return f"The {recep} is closed."
    if shut:
        if known is None:
            return f"The {recep} is closed.{rest}"
        rest = f" {_listing(sorted(known, key=_cls))}."
    if _cls(recep) in _OPENABLE:
        return f"The {recep} is open. In it, you see{rest}"
    return f"On the {recep}, you see{rest}"


def _repair_arrival(opened: bool, recep: str, observation: str, task: Task | None,
                    history: Sequence[Transition]) -> str:
    """``observation`` for ``go to recep`` / ``open recep`` in the engine's form, naming the receptacle, with a
    list without repeats, nothing after it, and no goal object in a goal receptacle the agent did not put it in
    (see ``repair_observation``)."""
    obs = observation.strip()
    seen = _track(task, history) if task is not None else None
    if opened:
        head = re.match(rf"You open the {_ENTITY}\. The {_ENTITY} is open\.", obs)
        fixed = None if head is None else f"You open the {recep}. The {recep} is open." + obs[head.end():]
    else:
        known = seen.contents.get(recep, []) if seen is not None and recep in seen.listed else None
        fixed = _arrival_form(recep, obs, history, known)
    if fixed is None:
        return observation
    listed = _LIST.search(fixed)
    if listed is not None:
        items = re.findall(rf"\b{_ENTITY}\b", listed.group(1))
        if items or listed.group(1) == "nothing":  # rewritten in the engine's list form
            keep = list(dict.fromkeys(items))
            goal = _goal_of(task) if task is not None else {}
            obj_type = str(goal.get("object_type", "")).lower()
            if seen is not None and recep in seen.listed:
                # Seen before: the engine lists what the episode says is there, not a new sample (the same set on
                # all 1,306 real revisits), by class name; the model's own order stands when its set is right.
                if set(keep) != set(seen.contents[recep]):
                    keep = sorted(seen.contents[recep], key=_cls)
            elif seen is not None and obj_type and _cls(recep) == str(goal.get("receptacle_type", "")).lower():
                put = seen.contents.get(recep, [])
                keep = [o for o in keep if _cls(o) != obj_type or o in put]
            # The list ends the reply (all 4,269 real go to/open replies with one): text after it is dropped.
            fixed = fixed[:listed.start(1)] + _listing(keep) + "."
    return observation if fixed == obs else fixed


#: Object classes that are receptacles too: the engine describes one held as "This is a normal X. In it, ...".
_CONTAINERS = frozenset({"bowl", "box", "cup", "mug", "pan", "plate", "pot"})


def _told_by_episode(act: str, obs: str, task: Task, history: Sequence[Transition]) -> str | None:
    """The engine's reply to ``act`` where the episode so far fixes it, else ``None`` (the model's reply stands).

    Checked against every such step of the 10,980 collected real ones (train and test), where each is exact:

    * ``look`` (203 steps): "You are facing the R. Next to it, you see nothing." at the last receptacle gone
      to, "You are in the middle of a room. Looking quickly around you, you see nothing." before any;
    * ``inventory`` (224): "You are carrying: a O." or "You are not carrying anything.";
    * ``examine R`` for a receptacle (211): "The R is closed." when openable and not open, else the list the
      episode knows, in the arrival's form, when R was listed before (unlisted: the model's reply stands);
    * ``examine O`` for the held object (84): "This is a hot/cold/clean O." once treated one way, "This is a
      normal O. In it, you see nothing." for a container class (seen for box and pan), else "There's nothing
      special about O.". An object treated two ways is left to the model (no real step shows one).

    The engine answers ``look`` and ``inventory`` whatever the state; for ``examine`` a "Nothing happens." stays
    the model's call, as for other commands.
    """
    if act in ("look", "inventory"):
        seen = _track(task, history)
        if act == "inventory":
            return f"You are carrying: a {seen.held}." if seen.held else "You are not carrying anything."
        if seen.here:
            return f"You are facing the {seen.here}. Next to it, you see nothing."
        return "You are in the middle of a room. Looking quickly around you, you see nothing."
    m = re.fullmatch(rf"examine ({_ENTITY})", act)
    if m is None or obs == NOTHING_HAPPENS:
        return None
    x, seen = m.group(1), _track(task, history)
    if x in seen.receptacles:
        shut = _cls(x) in _OPENABLE and not _is_open(x, history)
        if not shut and x not in seen.listed:
            return None
        # The arrival's form at x (closed, open with a list, or on it), with the list the episode knows.
        return _arrival_form(x, f"On the {x}, you see {_listing(sorted(seen.contents.get(x, []), key=_cls))}.", history)
    if x != seen.held:
        return None
    states = seen.treated.get(x, set())
    if len(states) == 1:
        return f"This is a {next(iter(states))} {x}."
    if states:
        return None
    return f"This is a normal {x}. In it, you see nothing." if _cls(x) in _CONTAINERS else \
        f"There's nothing special about {x}."


#: The state each treatment gives an object.
_TREATED = {"clean": "clean", "heat": "hot", "cool": "cold"}
#: The state each treat-then-place task asks of its object.
_TASK_NEEDS = {"pick_clean_then_place_in_recep": "clean", "pick_heat_then_place_in_recep": "hot",
               "pick_cool_then_place_in_recep": "cold"}


def _incomplete(goal: dict[str, Any], task: Task, act: str, nxt: str, history: Sequence[Transition]) -> str | None:
    """Why ``act`` (observed as ``nxt``) does not complete ``goal``; ``None`` when it does."""
    if nxt.strip() == NOTHING_HAPPENS:
        return "'Nothing happens.' changes nothing"
    obj_type = str(goal.get("object_type", "")).lower()
    if goal.get("task_type") == "look_at_obj_in_light":
        lamp = str(goal.get("toggle_type", "")).lower()
        use = re.fullmatch(rf"use ({_ENTITY})", act)
        if not use or _cls(use.group(1)) != lamp:
            return f"only turning on a {lamp} completes this task"
        if not nxt.strip().startswith("You turn on the "):
            return f"the observation does not show the {use.group(1)} turned on"
        seen = _track(task, history)  # walked only for a step that could complete the task
        if not seen.held or _cls(seen.held) != obj_type:
            return f"the {lamp} must be turned on while holding a {obj_type}"
        return None
    recep_type = str(goal.get("receptacle_type", "")).lower()
    put = re.fullmatch(rf"(?:put ({_ENTITY}) (?:in/on|in|on)|move ({_ENTITY}) to) ({_ENTITY})", act)
    obj = (put.group(1) or put.group(2)) if put else ""
    if not put or _cls(obj) != obj_type or _cls(put.group(3)) != recep_type:
        return f"only putting a {obj_type} in/on a {recep_type} completes this task"
    recep = put.group(3)
    # The observation must show a put. Its object is not checked: the model often writes the wrong number
    # ("You put the pot 1 ..." for "put pot 2 ..."), and the action says what was put.
    if not re.match(r"You (?:put|move) the ", nxt.strip()):
        return f"the observation does not show the {obj} put in/on the {recep}"
    seen = _track(task, history)  # walked only for a step that could complete the task
    need = _TASK_NEEDS.get(str(goal.get("task_type", "")))
    if need and need not in seen.treated.get(obj, ()):
        return f"the {obj} must be {need} when it is put there"
    others = [o for o in seen.contents.get(recep, []) if _cls(o) == obj_type and o != obj]
    if goal.get("task_type") == "pick_two_obj_and_place" and not others:
        return f"this task needs two {obj_type}s in the {recep}, and no other is known to be there"
    return None


class ALFWorldDomain(Domain):
    """ALFWorld's rules, grammar and data for the experience model."""

    name = "alfworld"
    max_episode_steps = 50
    max_observation_chars = 4000
    max_action_chars = 128
    reward_range = (0.0, 1.0)
    binary_reward = True
    real_env_id = "ALFWorld-Real-v0"
    data_dir = DATA_DIR
    max_new_tokens = 160

    def system_prompt(self) -> str:
        return SYSTEM_PROMPT

    def check_action(self, action: str, state: str) -> str | None:
        if match_any(action, ACTION_PATTERNS):
            return None
        return "not an ALFWorld command (e.g. 'go to countertop 1', 'take mug 1 from countertop 1')"

    def reveals_hidden(self, transition: Transition, history: Sequence[Transition]) -> bool:
        """True when the next state names an object/receptacle the prompt's context never named.

        The context is what the env's prompt shows: the action, the current state and the last six
        steps. Contents seen for the first time (arriving at a countertop, opening a drawer) are
        hidden facts of the layout, not predictable from the prompt.
        """
        context = " ".join([transition.state, transition.action]
                           + [f"{h.action} {h.next_state}" for h in history[-6:]])
        return bool(set(_ENTITY_RE.findall(transition.next_state)) - set(_ENTITY_RE.findall(context)))

    def check_action_in_episode(self, task: Task, history: Sequence[Transition], state: str,
                                action: str) -> str | None:
        """The real engine answers "Nothing happens." to every command outside its admissible list, and
        :meth:`admissible_actions` rebuilds that list from the episode's observations (identical to the
        engine's on every step of the shipped real trajectories)."""
        admissible = self.admissible_actions(task, history, state)
        if admissible is None or action in admissible:
            return None
        return (f"not an admissible command here (the engine would answer {NOTHING_HAPPENS!r}); "
                f"admissible: {', '.join(admissible[:8])}{', ...' if len(admissible) > 8 else ''}")

    def invalid_action_observation(self, state: str) -> str:
        return NOTHING_HAPPENS

    def implausible_observation(self, task: Task, history: Sequence[Transition], state: str, action: str,
                                observation: str) -> str | None:
        """The engine never answers an admissible command with "Nothing happens." (none of the 10,149
        admissible commands of the collected real steps); the model does, e.g. to 2 of 39 admissible opens
        (v3, T=0.8, ``benchmarks/bench_alfworld_first_visits.py``), which a dream-trained policy then learns
        to repeat."""
        if observation.strip() != NOTHING_HAPPENS:
            return None
        admissible = self.admissible_actions(task, history, state)
        if admissible is None or action not in admissible:
            return None
        return f"{NOTHING_HAPPENS!r} to an admissible command (the engine answers every one of them)"

    def initial_observation_for(self, instruction: str) -> str:
        """The first observation of a shipped task with this instruction, else a shipped room with it."""
        tasks = list(self.tasks("train")) + list(self.tasks("test"))
        for t in tasks:
            if t.instruction == instruction:
                return t.initial_observation
        if tasks:
            room = tasks[0].initial_observation.split("\n\nYour task is to:")[0]
            return f"{room}\n\nYour task is to: {instruction}"
        return f"You are in the middle of a room. Looking quickly around you, you see nothing.\n\nYour task is to: {instruction}"

    # ----- admissible-action proposer ----------------------------------------------------------
    def admissible_actions(self, task: Task, history: Sequence[Transition], state: str) -> list[str] | None:
        """Proposes the engine's admissible commands from what the observations so far show.

        Tracks where the agent is, what it carries, whether the receptacle here is open and what is
        visible in/on it, then applies the engine's preconditions (ALFRED's rules from
        ``data/rules.json``). Cheap and deterministic; matches the real engine's set on most steps
        of real trajectories (see docs/alfworld.md for the measured rate).
        """
        seen = _track(task, history)
        receptacles, here, held, closed, visible = seen.receptacles, seen.here, seen.held, seen.closed, seen.visible
        rules = load_rules()
        can_contain = rules.get("can_contain", {})
        acts = {"inventory", "look"}
        acts.update(f"go to {r}" for r in receptacles if r != here)  # the engine never offers "go to" where it is
        if held:
            acts.add(f"examine {held}")
        if here:
            acts.add(f"examine {here}")
            kind = _CLASS_ALIASES.get(_cls(here), _cls(here))
            if kind in _OPENABLE:
                acts.add(f"open {here}" if closed else f"close {here}")
            if not closed:
                for o in visible:
                    if _cls(o) in _LAMPS:
                        acts.add(f"use {o}")
                    elif held is None:
                        acts.add(f"take {o} from {here}")
                    elif _cls(held) in _KNIVES and _cls(o) in rules.get("sliceable", ()):
                        acts.add(f"slice {o} with {held}")
                if held and (not can_contain or _cls(held) in can_contain.get(kind, ())):
                    acts.add(f"put {held} in/on {here}")
            verb = _APPLIANCE.get(kind)
            if held and verb and _cls(held) in rules.get(f"{verb}able", ()):
                acts.add(f"{verb} {held} with {here}")
        return sorted(acts)

    def demo_action(self, task: Task, history: Sequence[Transition], state: str, rng: random.Random) -> str:
        """A goal-directed searcher over the proposed commands (for the demo agent).

        Takes an object of the goal's kind when it sees one, treats it at the right appliance, puts it
        in/on the goal's receptacle kind (or turns on the lamp), and otherwise opens and visits
        receptacles it has not seen yet.
        """
        acts = self.admissible_actions(task, history, state) or []
        if not acts:
            return ""
        goal = _goal_of(task)
        obj = str(goal.get("object_type", "")).lower()
        recep = str(goal.get("receptacle_type", "")).lower()
        lamp = str(goal.get("toggle_type", "")).lower()
        treat = {"pick_clean_then_place_in_recep": "clean", "pick_heat_then_place_in_recep": "heat",
                 "pick_cool_then_place_in_recep": "cool"}.get(str(goal.get("task_type", "")))
        seen = _track(task, history)
        appliance = {"clean": "sinkbasin", "heat": "microwave", "cool": "fridge"}.get(treat or "")

        def first(pred: Any) -> str | None:
            hits = [a for a in acts if pred(a)]
            return rng.choice(hits) if hits else None

        def goto(kind: str) -> str | None:
            return first(lambda a: a.startswith("go to ") and _cls(a[6:]) == kind and a[6:] != seen.here)

        if seen.held and _cls(seen.held) == obj:
            if treat and _TREATED[treat] not in seen.treated.get(seen.held, ()):
                return first(lambda a: a.startswith(f"{treat} ")) or goto(appliance or "") or rng.choice(acts)
            if lamp:
                step = first(lambda a: a.startswith("use ") and _cls(a[4:]) == lamp)
            else:
                step = first(lambda a: a.startswith("put ") and a.rsplit(" ", 2)[-2] == recep) or goto(recep)
            if step:
                return step
        elif seen.held is None:
            step = first(lambda a: a.startswith("take ") and _cls(a.split(" from ")[0][5:]) == obj)
            if step:
                return step
        step = first(lambda a: a.startswith("open "))
        if step:
            return step
        unseen = [a for a in acts if a.startswith("go to ") and a[6:] not in seen.visited]
        return rng.choice(unseen) if unseen else rng.choice(acts)

    # ----- outcome checks -------------------------------------------------------------------------
    def repair_observation(self, action: str, observation: str, task: Task | None = None,
                           history: Sequence[Transition] = ()) -> str:
        """The engine's exact reply where the command or the room's rules fix it.

        * A reply that starts as the engine's success reply to that command ("You pick up the ...") is
          rewritten to name what the command names: the model often copies the wrong object number from a
          retrieved example ("You pick up the pot 1 from the countertop 1." for ``take pot 2 from
          countertop 1``), and so is a reply in another command's success words ("You clean the desklamp 1
          using the shelf 1." for ``use desklamp 1``). "Nothing happens." and any other reply are kept:
          whether the command worked stays the model's call.
        * The reply to ``go to R`` / ``open R`` names R ("On the R, you see ...", "The R is closed.",
          "You open the R. The R is open. ..."), takes the form the engine uses there (an openable
          receptacle not opened in this episode is closed: nothing in it shows), lists each object once
          in the engine's form ("a X, a Y, and a Z"), lists on a revisit what the episode says is there
          (what was listed before, minus what the agent took, plus what it put), shows a receptacle the agent
          opened as open on a return (with that list) where the model called it closed,
          and, with ``task``, lists no
          object of the goal's class in a receptacle of the goal's class that the agent did not put there:
          ALFWorld's problems never start with the goal object in a goal receptacle (the goal never holds
          at the start), while the model puts it there on a third of first visits.
        * With ``task``, the replies the episode so far fixes (``_told_by_episode``): ``look`` (where the agent
          is), ``inventory`` (what it holds), ``examine R`` for a receptacle closed or already listed, and
          ``examine O`` for the object it holds.
        """
        act, obs = action.strip(), observation.strip()
        if task is not None:
            told = _told_by_episode(act, obs, task, history)
            if told is not None:
                return observation if told == obs else told
        for pattern, reply, lead in _SUCCESS_REPLIES:
            m = pattern.fullmatch(act)
            if m:
                # Another command's success words ("You clean the desklamp 1 using ..." for ``use desklamp 1``)
                # still report a success: the engine never answers one command with another's.
                return reply.format(*m.groups()) if obs.startswith(_SUCCESS_LEADS) else observation
        place = re.fullmatch(rf"(go to|open) ({_ENTITY})", act)
        if place is None:
            return observation
        return _repair_arrival(place.group(1) == "open", place.group(2), observation, task, history)

    def check_outcome(self, task: Task, state: str, action: str, outcome: Outcome,
                      history: Sequence[Transition] = ()) -> tuple[Outcome, str | None]:
        """Applies ALFWorld's success rule: a step ends the episode with reward 1 exactly when it completes the goal.

        The rule reads the goal and the episode's observations (``history`` plus ``outcome.next_state``):
        a placing task completes on a put of an object of the goal's class into a receptacle of the goal's
        class that the observation confirms ("You put the ... in/on the ..."); a two-object task also needs
        another object of that class known to be in that receptacle; a heat/cool/clean task needs the
        object hot/cold/clean at that moment; a look task completes on turning on a lamp of the asked kind
        while holding the goal object. It agrees with the real engine on every one of the 10,980 collected
        real steps (train and test), so where the model's reward disagrees it is corrected both ways:
        refused, or granted. Without a known goal, only put/move/use rewards are kept.
        """
        act, nxt = action.strip(), outcome.next_state
        goal = _goal_of(task)
        if not goal:
            if outcome.reward <= 0:
                if outcome.done:
                    return Outcome(nxt, 0.0, False), "done refused: an ALFWorld episode ends only on success"
                return outcome, None
            if nxt.strip() == NOTHING_HAPPENS:
                return Outcome(nxt, 0.0, False), "reward refused: 'Nothing happens.' changes nothing"
            if re.fullmatch(rf"(?:put {_ENTITY} (?:in/on|in|on)|move {_ENTITY} to|use) {_ENTITY}", act):
                return outcome, None
            return Outcome(nxt, 0.0, False), "reward refused: only put/move/use can complete a task"
        why = _incomplete(goal, task, act, nxt, history)
        if why is None:
            if outcome.reward >= 1.0 and outcome.done:
                return outcome, None
            return Outcome(nxt, 1.0, True), f"reward granted: {act!r} completes the task"
        if outcome.reward > 0:
            return Outcome(nxt, 0.0, False), f"reward refused: {why}"
        if outcome.done:
            return Outcome(nxt, 0.0, False), "done refused: an ALFWorld episode ends only on success"
        return outcome, None

    # ----- data collection ----------------------------------------------------------------------
    def check_generated_task(self, instruction: str, parent: Task) -> TaskCheck:
        """ALFWorld's goal templates; the object and receptacle classes must exist in ALFRED's rules, the
        receptacle must accept the object (and the object be cleanable/heatable/coolable when asked), and
        the receptacle must be in the parent's room, whose layout the new task reuses."""
        text = instruction.strip().lower()
        if not text.endswith("."):
            text += "."
        matched = match_goal(text)
        if matched is None:
            return TaskCheck(None, "ungrammatical", "matches none of ALFWorld's six goal templates")
        task_type, obj, recep = matched
        classes = _alfred_classes()
        if obj not in classes["objects"]:
            return TaskCheck(None, "infeasible", f"{obj!r} is not an ALFRED object class")
        if task_type == "look_at_obj_in_light":
            if recep not in _LAMPS:
                return TaskCheck(None, "infeasible", f"{recep!r} is not a lamp")
        else:
            if recep not in classes["receptacles"]:
                return TaskCheck(None, "infeasible", f"{recep!r} is not an ALFRED receptacle class")
            if obj not in classes["contains"].get(recep, frozenset()):
                return TaskCheck(None, "infeasible", f"a {recep} cannot hold a {obj}")
            prop = {"pick_clean_then_place_in_recep": "cleanable", "pick_heat_then_place_in_recep": "heatable",
                    "pick_cool_then_place_in_recep": "coolable"}.get(task_type)
            if prop and obj not in classes[prop]:
                return TaskCheck(None, "infeasible", f"a {obj} is not {prop}")
        placed = _layout_objects(parent)
        need = 2 if task_type == "pick_two_obj_and_place" else 1
        if placed and placed.count(obj) < need:
            return TaskCheck(None, "infeasible", f"the parent's layout has {placed.count(obj)} {obj}, needs {need}")
        room = _room_text(parent)
        if task_type == "look_at_obj_in_light" and placed:
            if recep not in placed:  # lamps are objects of the layout, not receptacles of the room
                return TaskCheck(None, "infeasible", f"no {recep} in the parent's layout")
        elif not re.search(rf"\b{re.escape(recep)} \d+", room):
            return TaskCheck(None, "infeasible", f"no {recep} in the parent's room")
        tool = _TOOLS.get(task_type)
        if tool and not re.search(rf"\b{tool}[a-z]* \d+", room):  # ALFWorld also names "sinkbasinbasin 1"
            return TaskCheck(None, "infeasible", f"no {tool} in the parent's room (needed to {task_type.split('_')[1]})")
        obs = f"{room.rstrip()}\n\nYour task is to: {text}"
        meta = {"split": "train", "task_type": task_type, "layout": parent.meta.get("layout"),
                "room_type": parent.meta.get("room_type"), "generated_from": parent.task_id}
        return TaskCheck(Task(task_id=f"alfworld-gen-{stable_id(self.name, text, parent.task_id)}", domain=self.name,
                              instruction=text, initial_observation=obs, meta=meta))

    def reference_variations(self, parent: Task, rng: random.Random, limit: int = 64) -> list[str]:
        """Instances of the six goal templates over the parent's objects and room that
        :meth:`check_generated_task` accepts (both phrasings; "in" four times in five, as in ALFWorld's
        own tasks), in random order."""
        placed = sorted(set(_layout_objects(parent)))
        room = _room_text(parent)
        receps = sorted(set(re.findall(r"\b([a-z]+) \d+", room)))
        lamps = [o for o in placed if o in _LAMPS]
        phrasings = [
            "put two {o} {p} {r}.", "find two {o} and put them {p} {r}.", "put a clean {o} {p} {r}.",
            "clean some {o} and put it {p} {r}.", "put a hot {o} {p} {r}.", "heat some {o} and put it {p} {r}.",
            "put a cool {o} {p} {r}.", "cool some {o} and put it {p} {r}.", "put a {o} {p} {r}.",
            "put some {o} {p} {r}."]
        candidates = [f.format(o=o, p="in" if rng.random() < 0.8 else "on", r=r)
                      for f in phrasings for o in placed for r in receps]
        candidates += [f.format(o=o, r=lamp) for f in ("look at {o} under the {r}.", "examine the {o} with the {r}.")
                       for o in placed for lamp in lamps]
        rng.shuffle(candidates)
        out: list[str] = []
        for text in candidates:
            if len(out) >= limit:
                break
            if text != parent.instruction and self.check_generated_task(text, parent).task is not None:
                out.append(text)
        return out

    def import_hooks(self) -> ImportHooks:
        """Cleanup for imported public trajectories (see ``importing.py``)."""
        from .importing import ALFWorldImportHooks

        return ALFWorldImportHooks()

    def make_policy(self, name: str, seed: int | None = None) -> Policy:
        """Returns ``"expert"``, ``"noisy"`` or ``"random"`` (they act on ``ALFWorld-Real-v0``'s info)."""
        from .policies import POLICIES

        if name not in POLICIES:
            raise InvalidConfigError.unknown_keys("ALFWorld policy", [name], POLICIES)
        return POLICIES[name](seed=seed)
