"""Goal-relative features of WebShop actions, for small policies that learn in a few thousand steps.

A linear softmax policy over these features (``benchmarks/bench_sim_to_real_webshop.py``) sees only
what an agent sees: the instruction, the ``text``-mode page the env returned, the page's admissible
actions (``info["admissible_actions"]``) and its own past actions. It reads none of the reference
engine's private ``info`` fields (``goal``, ``page``, ``available_actions``), so the same code plays
``WebShop-Real-v0`` and ``DreamGym-WebShop-v0``.

Candidates (:func:`candidate_actions`): on the search page one ``search[<goal keywords>]``, elsewhere
the admissible clicks. Features of a candidate (order: :data:`FEATURES`):

* ``search_goal_keywords``: the search with the goal keywords;
* ``click_product_top_match``: a listed product whose title matches the goal keywords best on the page
  (rapidfuzz ``token_set_ratio``; ties all count);
* ``click_product_match``: that title score / 100, for every listed product;
* ``click_product_price_ok``: the listed (lowest) price is under the instruction's bound (or there is none);
* ``click_product_visited``: a product this episode already opened;
* ``select_option_in_goal``: an option value the instruction names (whole words; a value inside a longer
  named value on the page, e.g. ``king`` beside ``california king``, does not count) and not selected yet;
* ``select_option_not_in_goal``: any other option value not selected yet;
* ``select_option_again``: an option value already selected on this item;
* ``buy_now_goal_options_done``: buy when every option value the instruction names on the page is selected;
* ``buy_now_goal_options_missing``: buy while some are not;
* ``open_sub_page``: ``description`` / ``features`` / ``reviews`` / ``attributes``;
* ``back_to_search``, ``next_page``, ``prev_page``;
* ``repeat_last_action``: the same action as the previous step.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from rapidfuzz import fuzz
from rapidfuzz.utils import default_process

from .actions import parse_action
from .policies import goal_keywords
from .textpage import parse_text_page

#: Feature names, in vector order.
FEATURES = (
    "search_goal_keywords",
    "click_product_top_match", "click_product_match", "click_product_price_ok", "click_product_visited",
    "select_option_in_goal", "select_option_not_in_goal", "select_option_again",
    "buy_now_goal_options_done", "buy_now_goal_options_missing",
    "open_sub_page", "back_to_search", "next_page", "prev_page",
    "repeat_last_action",
)
_F = {name: i for i, name in enumerate(FEATURES)}

#: Click targets that are page buttons, not products or option values.
BUTTONS = frozenset({"back to search", "< prev", "next >", "description", "features", "reviews", "attributes",
                     "buy now", "search"})
SUB_PAGES = frozenset({"description", "features", "reviews", "attributes"})
#: The fallback when a page shows no admissible action (e.g. a synthetic page that does not parse).
FALLBACK_ACTION = "click[back to search]"

_PAGE_LINE = re.compile(r"page \d+ \(total results: \d+\)")
_ASIN = re.compile(r"[a-z0-9]{10}")
_PRICE_BOUND = re.compile(r"price (?:lower|less) than (\d+(?:\.\d+)?) dollars")
_PRICE = re.compile(r"\$\s*(\d+(?:\.\d+)?)")


def _click_target(action: str) -> str | None:
    """The lower-case target of ``click[x]`` (``None`` for anything else)."""
    if not isinstance(action, str):
        return None
    name, arg = parse_action(action.strip())
    if arg is None or name.strip().lower() != "click":
        return None
    return arg.strip().lower()


def candidate_actions(instruction: str, admissible: Sequence[str] | None) -> list[str]:
    """The actions the policy chooses from: ``search[<goal keywords>]`` where the page has the search bar
    (``search[...]`` admissible), plus the admissible clicks; :data:`FALLBACK_ACTION` when there are none."""
    out: list[str] = []
    for a in admissible or ():
        if not isinstance(a, str) or not a.strip():
            continue
        if a.lower().startswith("search["):
            a = f"search[{goal_keywords(instruction)}]"
        if a not in out:
            out.append(a)
    return out or [FALLBACK_ACTION]


def price_bound(instruction: str) -> float | None:
    """The instruction's price bound ("price lower than 40.00 dollars"), else ``None``."""
    m = _PRICE_BOUND.search(instruction.lower())
    return float(m.group(1)) if m else None


def _named(value: str, text: str) -> list[tuple[int, int]]:
    """Spans where ``value`` occurs in ``text`` as whole words (``8`` is not in ``8.5``)."""
    if not value:
        return []
    pat = rf"(?<![\w.-]){re.escape(value)}(?![\w-]|\.\d)"
    return [m.span() for m in re.finditer(pat, text)]


def title_score(keywords: str, title: str) -> float:
    """How well a product title matches the goal keywords, in [0, 1] (``token_set_ratio`` / 100)."""
    a, b = default_process(keywords), default_process(title)
    return fuzz.token_set_ratio(a, b) / 100.0 if a and b else 0.0


@dataclass
class Page:
    """What the agent reads off one observation.

    Attributes:
        kind: ``parse_text_page``'s kind (``search``, ``results``, ``item``, ``item_sub``, ``done``, ``unknown``).
        products: Results pages: ASIN (lower case) -> ``(title score, price ok)``.
        top_score: The best title score on the page.
        goal_options: Item pages: the option values on the page the instruction names.
    """

    kind: str = "unknown"
    products: dict[str, tuple[float, bool]] = field(default_factory=dict)
    top_score: float = 0.0
    goal_options: frozenset[str] = frozenset()


def read_page(observation: str, instruction: str, admissible: Sequence[str] | None = None) -> Page:
    """Parses a ``text``-mode page (``admissible`` gives the item page's option values)."""
    page = Page(parse_text_page(observation or "").kind)
    segs = [s.strip() for s in (observation or "").split("[SEP]")]
    low = [s.lower() for s in segs]
    if page.kind == "results":
        keywords = goal_keywords(instruction)
        bound = price_bound(instruction)
        i = next((k + 1 for k, s in enumerate(low) if _PAGE_LINE.fullmatch(s)), len(low))
        while i < len(low) and low[i] in ("< prev", "next >"):
            i += 1
        for j in range(i, len(low) - 1, 3):
            if not _ASIN.fullmatch(low[j]):
                break
            prices = [float(p) for p in _PRICE.findall(segs[j + 2])] if j + 2 < len(segs) else []
            ok = bound is None or not prices or min(prices) <= bound
            page.products[low[j]] = (title_score(keywords, segs[j + 1]), ok)
        page.top_score = max((s for s, _ in page.products.values()), default=0.0)
    elif page.kind == "item":
        text = instruction.lower()
        values = {t for t in (_click_target(a) for a in admissible or ()) if t and t not in BUTTONS}
        spans = {v: _named(v, text) for v in values}
        named = {v for v, sp in spans.items() if sp}
        # A value named only inside a longer named value ("king" in "california king") does not count.
        page.goal_options = frozenset(
            v for v in named
            if not all(any(w != v and a <= s and e <= b for w in named for a, b in spans[w]) for s, e in spans[v]))
    return page


@dataclass
class EpisodeMemory:
    """What the agent knows this episode: the instruction, the current page, its own past actions.

    Args:
        instruction: The goal text.
        observation: The first observation.
        admissible: The first page's admissible actions.
    """

    instruction: str
    observation: str = ""
    admissible: Sequence[str] | None = None
    page: Page = field(init=False)
    last_action: str = ""
    visited: set[str] = field(default_factory=set)
    selected: set[str] = field(default_factory=set)

    def __post_init__(self) -> None:
        self.page = read_page(self.observation, self.instruction, self.admissible)

    def update(self, action: str, observation: str, admissible: Sequence[str] | None) -> None:
        """Records an action and the page (and its admissible actions) it led to."""
        before = self.page
        action = action if isinstance(action, str) else ""
        target = _click_target(action)
        self.last_action = action
        self.observation = observation
        self.admissible = admissible
        self.page = read_page(observation, self.instruction, admissible)
        if target is not None and before.kind == "results" and target in before.products:
            self.visited.add(target)
            self.selected = set()  # a new item: nothing selected yet
        elif (target is not None and before.kind == "item" and target not in BUTTONS
              and self.page.kind == "item"):
            self.selected.add(target)
        if self.page.kind in ("search", "results"):
            self.selected = set()  # leaving the item clears its options (as the shop does)

    def features(self, action: str) -> np.ndarray:
        """The feature vector (order: :data:`FEATURES`) of one candidate action; never raises."""
        f = np.zeros(len(FEATURES), dtype=np.float64)
        if not isinstance(action, str):
            return f
        if action == self.last_action and action:
            f[_F["repeat_last_action"]] = 1
        if action.strip().lower().startswith("search["):
            f[_F["search_goal_keywords"]] = 1
            return f
        target = _click_target(action)
        if target is None:
            return f
        page = self.page
        if target == "back to search":
            f[_F["back_to_search"]] = 1
        elif target == "next >":
            f[_F["next_page"]] = 1
        elif target == "< prev":
            f[_F["prev_page"]] = 1
        elif target in SUB_PAGES:
            f[_F["open_sub_page"]] = 1
        elif target == "buy now":
            done = page.goal_options <= self.selected
            f[_F["buy_now_goal_options_done" if done else "buy_now_goal_options_missing"]] = 1
        elif target in page.products:
            score, price_ok = page.products[target]
            f[_F["click_product_top_match"]] = float(score >= page.top_score)
            f[_F["click_product_match"]] = score
            f[_F["click_product_price_ok"]] = float(price_ok)
            f[_F["click_product_visited"]] = float(target in self.visited)
        elif page.kind == "item" and target != "search":
            if target in self.selected:
                f[_F["select_option_again"]] = 1
            elif target in page.goal_options:
                f[_F["select_option_in_goal"]] = 1
            else:
                f[_F["select_option_not_in_goal"]] = 1
        return f
