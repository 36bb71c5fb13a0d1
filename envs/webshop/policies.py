"""Scripted WebShop shoppers for collecting offline data: expert, noisy and random.

They read ``info`` from ``WebShop-Real-v0`` (``page``, ``admissible_actions``, ``available_actions``
and the goal spec in ``goal``), as the collection loop passes it.
"""

from __future__ import annotations

import random
import re
from collections.abc import Mapping, Sequence
from typing import Any

from .normalize import normalize_color
from .reward import fuzzy_score

_PRICE_CLAUSE = re.compile(r",? and price lower than [\d.]+ dollars\s*$")
_OPENER = re.compile(r"^(i need|i want|i'm looking for|i am looking for|find me|i would like|i'd like to buy|"
                     r"get me|i'm searching for|looking for)\s+(an?\s+)?")
_BUTTONS = {"back to search", "< prev", "next >", "description", "features", "reviews", "buy now", "search",
            "attributes"}


def goal_keywords(instruction: str) -> str:
    """Search keywords from an instruction: the goal words without the price clause and the opener."""
    text = _PRICE_CLAUSE.sub("", instruction.strip().lower())
    return _OPENER.sub("", text).strip(" .,") or text


def _option_values(info: Mapping[str, Any]) -> list[str]:
    clickables = (info.get("available_actions") or {}).get("clickables") or []
    return [c for c in clickables if c not in _BUTTONS and not re.fullmatch(r"b0[0-9a-z]{8}", c)]


def _product_links(info: Mapping[str, Any]) -> list[str]:
    clickables = (info.get("available_actions") or {}).get("clickables") or []
    return [c for c in clickables if re.fullmatch(r"[a-z0-9]{10}", c) and c not in _BUTTONS]


class ExpertPolicy:
    """Searches with the goal words, finds the goal's product (paging up to ``max_pages``), selects
    the options that best match the goal's, sometimes reads a sub-page, and buys.

    Args:
        seed: Seed of its small random choices.
        read_prob: Chance of opening a sub-page once on the item page before buying.
        max_pages: Result pages to scan for the goal's product before settling for the best title.
    """

    def __init__(self, seed: int | None = None, read_prob: float = 0.2, max_pages: int = 5) -> None:
        self.rng = random.Random(seed)
        self.read_prob = read_prob
        self.max_pages = max_pages
        self._reset_state({})

    def _reset_state(self, goal: Mapping[str, Any]) -> None:
        self.goal = dict(goal)
        self.pages_seen = 0
        self.selected: set[str] = set()
        self.read = False

    def reset(self, observation: str, info: Mapping[str, Any]) -> None:
        """Starts an episode with the goal in ``info["goal"]``."""
        self._reset_state(info.get("goal") or {})

    def act(self, observation: str, info: Mapping[str, Any]) -> str:
        """Returns the next action."""
        page = info.get("page")
        acts = list(info.get("admissible_actions") or [])
        if page == "search":
            self.selected = set()
            return f"search[{goal_keywords(self.goal.get('instruction_text', observation))}]"
        if page == "results":
            self.pages_seen += 1
            target = str(self.goal.get("asin", "")).lower()
            if target and f"click[{target}]" in acts:
                return f"click[{target}]"
            if "click[next >]" in acts and self.pages_seen < self.max_pages:
                return "click[next >]"
            links = _product_links(info)
            if links:
                return f"click[{self._best_title(observation, links)}]"
            return "click[back to search]"
        if page == "item":
            choice = self._next_option(info)
            if choice is not None:
                self.selected.add(choice)
                return f"click[{choice}]"
            if not self.read and self.rng.random() < self.read_prob:
                self.read = True
                return f"click[{self.rng.choice(['description', 'features', 'reviews'])}]"
            return "click[buy now]"
        if page == "item_sub":
            return "click[< prev]"
        return "click[back to search]"

    def _next_option(self, info: Mapping[str, Any]) -> str | None:
        values = _option_values(info)
        for g in self.goal.get("goal_options") or ():
            g_norm = normalize_color(str(g).lower())
            scored = [(fuzzy_score(normalize_color(v), g_norm), v) for v in values]
            scored = [sv for sv in scored if sv[0] > 85]
            if not scored:
                continue
            best = max(scored, key=lambda sv: (sv[0], -values.index(sv[1])))[1]
            if best not in self.selected:
                return best
        return None

    def _best_title(self, observation: str, links: Sequence[str]) -> str:
        """The listed product whose title shares the most words with the goal (text mode), else the first."""
        segs = [s.strip() for s in observation.split("[SEP]")]
        words = set(goal_keywords(self.goal.get("instruction_text", "")).split())
        best, best_score = links[0], -1
        for i, s in enumerate(segs[:-1]):
            if s.lower() in links:
                score = len(words & set(segs[i + 1].lower().split()))
                if score > best_score:
                    best, best_score = s.lower(), score
        return best


class RandomPolicy:
    """Uniform over the page's admissible actions; searches with a few random goal words."""

    def __init__(self, seed: int | None = None) -> None:
        self.rng = random.Random(seed)
        self.goal: dict[str, Any] = {}

    def reset(self, observation: str, info: Mapping[str, Any]) -> None:
        """Starts an episode."""
        self.goal = dict(info.get("goal") or {})

    def act(self, observation: str, info: Mapping[str, Any]) -> str:
        """Returns a random admissible action."""
        acts = list(info.get("admissible_actions") or [])
        if not acts:
            return "click[back to search]"
        a = self.rng.choice(acts)
        if a == "search[...]":
            words = goal_keywords(self.goal.get("instruction_text", "shop")).split() or ["shop"]
            k = self.rng.randint(1, min(4, len(words)))
            return f"search[{' '.join(self.rng.sample(words, k))}]"
        return a


class NoisyPolicy:
    """The expert, but each step with probability ``epsilon`` a random (sometimes invalid) action."""

    def __init__(self, seed: int | None = None, epsilon: float = 0.3, invalid_prob: float = 0.15) -> None:
        self.rng = random.Random(seed)
        self.expert = ExpertPolicy(self.rng.randrange(2**31))
        self.random = RandomPolicy(self.rng.randrange(2**31))
        self.epsilon = epsilon
        self.invalid_prob = invalid_prob

    def reset(self, observation: str, info: Mapping[str, Any]) -> None:
        """Starts an episode."""
        self.expert.reset(observation, info)
        self.random.reset(observation, info)

    def act(self, observation: str, info: Mapping[str, Any]) -> str:
        """Returns the expert's action or, with probability ``epsilon``, a random one."""
        if self.rng.random() < self.epsilon:
            if self.rng.random() < self.invalid_prob:
                return self.rng.choice(["click[buy now]", "click[next >]", "search[cheap]", "click[]",
                                        "click[description]", "click[< prev]"])
            return self.random.act(observation, info)
        return self.expert.act(observation, info)


POLICIES = {"expert": ExpertPolicy, "noisy": NoisyPolicy, "random": RandomPolicy}
