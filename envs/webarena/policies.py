"""Scripted policies for collecting WebArena trajectories: expert (the task's solution), noisy, random.

Policies only read the observation text (like an agent) and the task's ``meta["solution"]``: each
solution step names its element by role and name; the policy finds its id in the visible tree.
"""

from __future__ import annotations

import ast
import random
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from dreamgym_env.error import InvalidConfigError

from .tasks.spec import Step

_LINE = re.compile(r"^\t*\[(\d+)\] (\S+) ('(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\")")
_URL = re.compile(r"^URL: (.*)$", re.MULTILINE)
POLICIES = ("expert", "noisy", "random")


@dataclass(frozen=True)
class Element:
    """One line of the visible tree."""

    id: int
    role: str
    name: str
    line: int


def parse_tree(observation: str) -> list[Element]:
    """The elements of an observation, in order."""
    out = []
    for i, line in enumerate(observation.splitlines()):
        m = _LINE.match(line)
        if m:
            raw = m.group(3)
            try:
                name = ast.literal_eval(raw) if "\\" in raw else raw[1:-1]
            except (ValueError, SyntaxError):
                name = raw[1:-1]
            out.append(Element(int(m.group(1)), m.group(2), name, i))
    return out


def current_url(observation: str) -> str:
    """The ``URL: ...`` line of an observation."""
    m = _URL.search(observation)
    return m.group(1).strip() if m else ""


def find_element(elements: list[Element], step: Step) -> Element | None:
    """The element a solution step refers to (exact name, else prefix when allowed), below ``step.after``."""
    start = 0
    if step.after:
        anchor = next((e for e in elements if e.name == step.after), None)
        if anchor is None:
            return None
        start = anchor.line
    cands = [e for e in elements if e.line >= start and (not step.role or e.role == step.role)]
    for e in cands:
        if e.name == step.name:
            return e
    if step.prefix:
        return next((e for e in cands if e.name.startswith(step.name)), None)
    return None


class ExpertPolicy:
    """Follows the task's scripted solution; recovers from detours with ``goto`` and scrolling."""

    def __init__(self, seed: int | None = None) -> None:
        self.rng = random.Random(seed)
        self.steps: list[Step] = []
        self.pos = 0
        self.pending: list[str] = []
        self.scrolls = 0
        self.expected_url = ""
        self._awaiting = True

    def reset(self, observation: str, info: Mapping[str, Any]) -> None:
        """Loads the solution of ``info["task"]``."""
        task = info.get("task")
        sol = getattr(task, "meta", {}).get("solution") if task is not None else None
        if sol is None:
            raise InvalidConfigError("the expert policy needs info['task'].meta['solution'] (generated tasks have it)")
        self.steps = [Step.from_dict(d) for d in sol]
        self.pos = 0
        self.pending = []
        self.scrolls = 0
        self.expected_url = ""
        self._awaiting = True

    def observe(self, observation: str) -> None:
        """Remembers the page each solution step lands on (the page the next step expects)."""
        if self._awaiting and not self.pending:
            self.expected_url = current_url(observation)
            self._awaiting = False

    def act(self, observation: str, info: Mapping[str, Any]) -> str:
        """The next action of the solution, found in the visible tree."""
        self.observe(observation)
        if self.pending:
            return self.pending.pop(0)
        if self.pos >= len(self.steps):
            return "stop [N/A]"
        step = self.steps[self.pos]
        if step.do in ("stop", "goto"):
            self.pos += 1
            return f"{step.do} [{step.text}]"
        lines = observation.splitlines()
        el = find_element(parse_tree(observation), step)
        if el is None:
            return self._recover(current_url(observation))
        self.scrolls = 0
        self.pos += 1
        self._awaiting = True
        if step.do == "click":
            return f"click [{el.id}]"
        if step.do == "clear" or (step.do == "type" and _has_value(lines, el.line)):
            self.pending = ["press [Meta+a]", "press [Backspace]"]
            if step.do == "type":
                self.pending.append(f"type [{el.id}] [{step.text}] [{int(step.enter)}]")
            return f"click [{el.id}]"
        return f"type [{el.id}] [{step.text}] [{int(step.enter)}]"

    def _recover(self, url: str) -> str:
        # The element is not visible: a detour left the expected page, or it is below the fold.
        if self.expected_url and url != self.expected_url:
            return f"goto [{self.expected_url}]"
        if self.scrolls < 9:
            self.scrolls += 1
            return "scroll [down]" if self.scrolls <= 3 else "scroll [up]"
        self.pos = len(self.steps)
        return "stop [N/A]"


def _has_value(lines: list[str], i: int) -> bool:
    """Whether the field on line ``i`` shows a value (a deeper StaticText line right below it)."""
    if i + 1 >= len(lines):
        return False
    depth = len(lines[i]) - len(lines[i].lstrip("\t"))
    nxt = lines[i + 1]
    return len(nxt) - len(nxt.lstrip("\t")) > depth and "] StaticText " in nxt


class NoisyPolicy(ExpertPolicy):
    """The expert, but with probability ``epsilon`` a plausible mistake instead of the next step."""

    def __init__(self, seed: int | None = None, epsilon: float = 0.3) -> None:
        super().__init__(seed)
        self.epsilon = epsilon

    def act(self, observation: str, info: Mapping[str, Any]) -> str:
        self.observe(observation)
        if not self.pending and self.pos < len(self.steps) and self.rng.random() < self.epsilon:
            return random_action(observation, self.rng, allow_stop=False)
        return super().act(observation, info)


class RandomPolicy:
    """Uniformly random actions over the visible elements (with a small chance to stop)."""

    def __init__(self, seed: int | None = None) -> None:
        self.rng = random.Random(seed)

    def reset(self, observation: str, info: Mapping[str, Any]) -> None:
        """Nothing to prepare."""

    def act(self, observation: str, info: Mapping[str, Any]) -> str:
        """A random action."""
        return random_action(observation, self.rng, allow_stop=True)


_WORDS = ["shoes", "order", "issue", "hello", "Pittsburgh", "price", "test", "2023"]


def random_action(observation: str, rng: random.Random, allow_stop: bool) -> str:
    """A random action of every kind, including invalid ones (missing ids, typing into non-fields)."""
    els = parse_tree(observation)
    ids = [e.id for e in els] or [1]
    fields = [e.id for e in els if e.role in ("textbox", "searchbox", "spinbutton")]
    clickable = [e.id for e in els if e.role in ("link", "button", "option")] or ids
    r = rng.random()
    if r < 0.45:
        return f"click [{rng.choice(clickable)}]"
    if r < 0.60 and fields:
        return f"type [{rng.choice(fields)}] [{rng.choice(_WORDS)}] [{rng.randint(0, 1)}]"
    if r < 0.66:
        return f"type [{rng.choice(ids)}] [{rng.choice(_WORDS)}]"
    if r < 0.72:
        return f"click [{max(ids) + rng.randint(1, 500)}]"
    if r < 0.78:
        return rng.choice(["go_back", "go_forward"])
    if r < 0.84:
        return f"scroll [{rng.choice(['up', 'down'])}]"
    if r < 0.87:
        return f"hover [{rng.choice(ids)}]"
    if r < 0.90:
        return rng.choice(["press [Enter]", "press [Tab]", "new_tab", "close_tab", "tab_focus [0]"])
    if r < 0.94:
        return rng.choice(["click 12", "type [5]", "open [3]", "click [abc]", "scroll [left]"])
    if allow_stop:
        return f"stop [{rng.choice(_WORDS)}]"
    return "go_back"


def make_policy(name: str, seed: int | None = None) -> ExpertPolicy | NoisyPolicy | RandomPolicy:
    """A policy by name (``expert``, ``noisy``, ``random``)."""
    if name == "expert":
        return ExpertPolicy(seed)
    if name == "noisy":
        return NoisyPolicy(seed)
    if name == "random":
        return RandomPolicy(seed)
    raise InvalidConfigError(f"Unknown WebArena policy {name!r}. Valid ones: {', '.join(POLICIES)}.")
