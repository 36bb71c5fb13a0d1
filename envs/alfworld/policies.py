"""Scripted policies for collecting offline ALFWorld data: expert, epsilon-noisy and random.

They act on the real env's ``info``: ``expert_action`` (the privileged expert's next command) and
``admissible_actions``. Noisy and random policies also emit invalid commands, so the data holds
"Nothing happens." transitions as the public datasets do.
"""

from __future__ import annotations

import random
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

_ENTITY = re.compile(r"\b([a-z]+) (\d+)\b")
_FREE_FORM = ("jump", "search the room", "pick up the object", "go north", "open the door", "wait",
              "put it down", "turn on the light", "find the mug", "look around")


def invalid_command(rng: random.Random, info: Mapping[str, Any]) -> str:
    """A command that is usually not admissible, in the styles agents get wrong."""
    admissible = list(info.get("admissible_actions") or ["look"])
    kind = rng.random()
    base = rng.choice(admissible)
    if kind < 0.45 and _ENTITY.search(base):
        # Right verb, wrong entity: bump one entity's number.
        ents = list(_ENTITY.finditer(base))
        m = rng.choice(ents)
        return base[:m.start(2)] + str(int(m.group(2)) + rng.randint(1, 3)) + base[m.end(2):]
    if kind < 0.65:
        ents = sorted({m.group(0) for a in admissible for m in _ENTITY.finditer(a)})
        if ents:
            verb = rng.choice(["take {e} from {f}", "open {e}", "use {e}", "heat {e} with {f}", "move {e} to {f}",
                               "put {e} in/on {f}", "clean {e} with {f}", "close {e}"])
            return verb.format(e=rng.choice(ents), f=rng.choice(ents))
    return rng.choice(_FREE_FORM)


@dataclass
class ExpertPolicy:
    """Plays the privileged expert's command (solves every generated task)."""

    seed: int | None = None

    def reset(self, observation: str, info: Mapping[str, Any]) -> None:
        """Starts an episode."""

    def act(self, observation: str, info: Mapping[str, Any]) -> str:
        """Returns the expert's next command."""
        return str(info.get("expert_action") or "look")


@dataclass
class NoisyPolicy:
    """The expert, except with probability ``epsilon`` a random admissible (or, with probability
    ``invalid_rate`` of those, an invalid) command; the expert replans, so it usually still succeeds."""

    seed: int | None = None
    epsilon: float = 0.3
    invalid_rate: float = 0.35

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)

    def reset(self, observation: str, info: Mapping[str, Any]) -> None:
        """Starts an episode."""

    def act(self, observation: str, info: Mapping[str, Any]) -> str:
        """Returns the next command."""
        if self._rng.random() >= self.epsilon:
            return str(info.get("expert_action") or "look")
        if self._rng.random() < self.invalid_rate:
            return invalid_command(self._rng, info)
        return self._rng.choice(list(info.get("admissible_actions") or ["look"]))


@dataclass
class RandomPolicy:
    """Uniformly random admissible commands, with a share of invalid ones."""

    seed: int | None = None
    invalid_rate: float = 0.15

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)

    def reset(self, observation: str, info: Mapping[str, Any]) -> None:
        """Starts an episode."""

    def act(self, observation: str, info: Mapping[str, Any]) -> str:
        """Returns the next command."""
        if self._rng.random() < self.invalid_rate:
            return invalid_command(self._rng, info)
        return self._rng.choice(list(info.get("admissible_actions") or ["look"]))


POLICIES = {"expert": ExpertPolicy, "noisy": NoisyPolicy, "random": RandomPolicy}
