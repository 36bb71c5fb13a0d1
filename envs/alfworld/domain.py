"""DreamGym-ALFWorld: the ALFWorld (TextWorld + ALFRED PDDL) household domain."""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

from dreamgym_env.domain import Domain, Outcome
from dreamgym_env.grammar import match_any
from dreamgym_env.types import Task, Transition

NOTHING_HAPPENS = "Nothing happens."

_ENTITY = r"[a-z]+ \d+"
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
    )
)

SYSTEM_PROMPT = """\
You simulate ALFWorld, a text household environment (TextWorld over ALFRED PDDL problems).
Rules of the real engine:
- The agent is at one location at a time. "go to R" moves it to receptacle R and describes it: \
"You arrive at R. On the R, you see a X 1, and a Y 2." or, if R is closed, "You arrive at R. The R is closed."
- "open R" / "close R" work only on openable receptacles (fridge, microwave, cabinet, drawer, safe...) \
the agent is at: "You open the R. The R is open. In it, you see ..." ("... you see nothing.").
- "take O from R" works only if O is visibly in/on R where the agent is and its hands are empty: \
"You pick up the O from the R." The agent carries at most one object.
- "put O in/on R" (or "move O to R") puts the carried O at the current receptacle: "You put the O in/on the R."
- "clean O with sinkbasin N", "heat O with microwave N", "cool O with fridge N" need O carried and the \
agent at that appliance: "You clean the O using the sinkbasin 1."
- "use desklamp N" / "use floorlamp N" turns on a lamp the agent is at: "You turn on the desklamp 1."
- "examine X", "inventory" ("You are carrying: a O." / "You are not carrying anything."), "look".
- Anything else, or an action whose preconditions fail, gives exactly "Nothing happens." and changes nothing.
- Objects and receptacles that were never mentioned do not exist.
Reward is 1 only on the step that completes the task goal (the goal object, in the required state, \
put in/on the goal receptacle; or examined under a turned-on lamp); then done is true. Otherwise reward 0, done false.\
"""

_SEEN = re.compile(r"(?:you see|In it, you see|On the [a-z]+ \d+, you see) ([^.]*)\.")
_ART = re.compile(r"\b(?:a|an) ([a-z]+ \d+)")


class ALFWorldDomain(Domain):
    """ALFWorld's rules, grammar and data for the experience model."""

    name = "alfworld"
    max_episode_steps = 50
    max_observation_chars = 4000
    max_action_chars = 128
    reward_range = (0.0, 1.0)
    binary_reward = True
    real_env_id = "ALFWorld-Real-v0"
    data_dir = Path(__file__).parent / "data"
    max_new_tokens = 160

    def system_prompt(self) -> str:
        return SYSTEM_PROMPT

    def check_action(self, action: str, state: str) -> str | None:
        if match_any(action, ACTION_PATTERNS):
            return None
        return "not an ALFWorld command (e.g. 'go to countertop 1', 'take mug 1 from countertop 1')"

    def invalid_action_observation(self, state: str) -> str:
        return NOTHING_HAPPENS

    def initial_observation_for(self, instruction: str) -> str:
        return f"You are in the middle of a room. Looking quickly around you, you see nothing.\n\nYour task is to: {instruction}"

    def admissible_actions(self, task: Task, history: Sequence[Transition], state: str) -> list[str] | None:
        """Proposes commands over the entities the observations so far mention (cheap, deterministic)."""
        texts = [task.initial_observation, *(t.next_state for t in history)]
        entities = sorted({m for text in texts for seen in _SEEN.findall(text) for m in _ART.findall(seen)})
        first = _SEEN.search(task.initial_observation)
        receptacles = sorted(set(_ART.findall(first.group(1)))) if first else []
        acts = {"inventory", "look"}
        acts.update(f"go to {r}" for r in receptacles)
        acts.update(f"examine {e}" for e in entities)
        return sorted(acts)

    def check_outcome(self, task: Task, state: str, action: str, outcome: Outcome) -> tuple[Outcome, str | None]:
        # The goal can only become true through putting an object somewhere or using a lamp.
        if outcome.reward > 0 and not re.match(r"(put|move|use) ", action):
            return Outcome(outcome.next_state, 0.0, False), "reward refused: only put/move/use can complete a task"
        return outcome, None
