"""Goal-relative features of ALFWorld actions, for small policies that learn in a few thousand steps.

A linear softmax policy over these features (``benchmarks/bench_sim_to_real.py``) sees only what an
agent sees: the task text, its own past actions and the observations they got. The same code reads
the real engine's and the DreamGym env's text, so a policy trained in one plays in the other.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np

from .domain import match_goal

NOTHING = "Nothing happens."
_TASK = re.compile(r"Your task is to:\s*(.+?\.)", re.IGNORECASE)
_GO = re.compile(r"^go to ([a-z]+) \d+$")
_TAKE = re.compile(r"^take ([a-z]+) \d+ from ([a-z]+) \d+$")
_PUT = re.compile(r"^(?:put|move) ([a-z]+) \d+ (?:in/on|in|on|to) ([a-z]+) \d+$")

#: Feature names, in vector order.
FEATURES = (
    "go_unvisited", "go_visited", "go_goal_recep_holding_goal", "go_goal_recep_not_holding",
    "go_elsewhere_holding_goal", "take_goal_obj", "take_other", "put_goal_in_goal_recep", "put_other",
    "open", "close", "look_examine_inventory", "other_verb", "repeat_last_action",
    "go_where_goal_object_seen",
)


def parse_goal(text: str) -> tuple[str, str, str] | None:
    """``(task_type, object class, receptacle class)`` from a task instruction or a first observation."""
    m = _TASK.search(text)
    return match_goal(m.group(1) if m else text)


@dataclass
class EpisodeMemory:
    """What the agent has seen this episode: visited places, what it holds, its last action."""

    goal: tuple[str, str, str] | None
    visited: set[str] = field(default_factory=set)
    holding: str | None = None
    last_action: str = ""
    got_goal_object: bool = False
    goal_object_seen_at: set[str] = field(default_factory=set)

    def update(self, action: str, observation: str) -> None:
        """Records an action and the observation it got."""
        self.last_action = action
        if observation.strip().startswith(NOTHING):
            return
        place = next((action[len(v):] for v in ("go to ", "open ") if action.startswith(v)), None)
        if place and self.goal and re.search(rf"\b(?:a|an) {self.goal[1]} \d+", observation):
            self.goal_object_seen_at.add(place)
        if m := _GO.match(action):
            self.visited.add(action[len("go to "):])
        elif m := _TAKE.match(action):
            self.holding = m.group(1)
            self.got_goal_object = self.got_goal_object or bool(self.goal and self.holding == self.goal[1])
        elif _PUT.match(action):
            self.holding = None

    def features(self, action: str) -> np.ndarray:
        """The binary feature vector (order: :data:`FEATURES`) of one candidate action."""
        f = np.zeros(len(FEATURES), dtype=np.float64)
        obj = self.goal[1] if self.goal else ""
        recep = self.goal[2] if self.goal else ""
        holding_goal = self.holding == obj
        if m := _GO.match(action):
            target = action[len("go to "):]
            f[0 if target not in self.visited else 1] = 1
            if m.group(1) == recep:
                f[2 if holding_goal else 3] = 1
            elif holding_goal:
                f[4] = 1
            if target in self.goal_object_seen_at and self.holding is None:
                f[14] = 1
        elif m := _TAKE.match(action):
            f[5 if m.group(1) == obj and self.holding is None else 6] = 1
        elif m := _PUT.match(action):
            f[7 if (m.group(1) == obj and m.group(2) == recep) else 8] = 1
        elif action.startswith("open "):
            f[9] = 1
        elif action.startswith("close "):
            f[10] = 1
        elif action.split(" ")[0] in ("look", "examine", "inventory", "help"):
            f[11] = 1
        else:
            f[12] = 1
        if action == self.last_action:
            f[13] = 1
        return f
