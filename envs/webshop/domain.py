"""DreamGym-WebShop: the WebShop online-shopping domain (text observation mode)."""

from __future__ import annotations

import functools
import random
import re
from collections.abc import Sequence
from pathlib import Path

from dreamgym_env.domain import Domain, ImportHooks, Outcome, Policy, TaskCheck
from dreamgym_env.error import InvalidConfigError
from dreamgym_env.types import Task, Transition, stable_id

from .actions import MAX_KEYWORDS_CHARS, achievable_rewards, parse_action
from .episode import purchase_page, repair_page, told_page
from .textpage import has_search_bar_text, parse_text_page

SYSTEM_PROMPT = """\
You simulate WebShop, a text-mode online shop. Observations are the page's text segments joined by " [SEP] ".
Pages and rules of the real site:
- Search page: "WebShop [SEP] Instruction: [SEP] <goal> [SEP] Search". Only "search[keywords]" works there; \
search ranks the catalog by BM25 over title, description, first feature and options.
- Results page: "Instruction: [SEP] <goal> [SEP] Back to Search [SEP] Page N (Total results: M) [SEP] \
< Prev [SEP] Next > [SEP] <ASIN> [SEP] <product title> [SEP] $<price> [SEP] ..." with 10 products per page and \
at most 50 results; "< Prev" appears after page 1, "Next >" while more results follow. "click[<asin>]" opens \
that product, "click[next >]" / "click[< prev]" change page, "click[back to search]" returns to the search page.
- Item page: "Instruction: [SEP] <goal> [SEP] Back to Search [SEP] < Prev [SEP] <option type> [SEP] <value> \
[SEP] ... [SEP] <title> [SEP] Price: $<price> [SEP] Rating: <rating> [SEP] Description [SEP] Features [SEP] \
Reviews [SEP] Buy Now". "click[<value>]" selects that option (the text page looks the same afterwards), \
"click[description]" / "click[features]" / "click[reviews]" open a sub-page ("Instruction: [SEP] <goal> [SEP] \
Back to Search [SEP] < Prev [SEP] <content>") whose "< Prev" returns to the item page, "click[< prev]" on the \
item page returns to the results (options cleared), "click[buy now]" buys.
- Actions are matched lower case. Clicking something not on the page, "click[search]", or searching where there \
is no search bar leaves the page unchanged with reward 0.
- Reward is 0 on every step except "click[buy now]", which ends the episode (done true) on the page \
"Thank you for shopping with us! [SEP] ... [SEP] Your score (min 0.0, max 1.0) [SEP] <score> [SEP] ..." \
with score = r_type x (goal attributes the product has + goal options selected + [price <= the goal's bound]) \
/ (number of goal attributes + number of goal options + 1). r_type is 1 when the product is of the wanted \
type (same query, category or title nouns), 0.5, 0.1 or 0 when it is not.\
"""


_REQUEST = re.compile(r"^(?:i'm looking for|i am looking for|i would like|i'd like|i need|i want|find me|get me)\b")
_PRICE = re.compile(r"price (?:lower|less) than (-?[\d.]+) dollars$")


@functools.lru_cache(maxsize=1)
def _goal_vocabulary() -> tuple[frozenset[str], frozenset[str]]:
    """Attributes and option values that the shipped catalog's goals use (lower case)."""
    attrs: set[str] = set()
    opts: set[str] = set()
    for split in ("train", "test"):
        for t in WebShopDomain().tasks(split):
            goal = t.meta.get("goal") or {}
            attrs.update(str(a).lower() for a in goal.get("attributes") or ())
            opts.update(str(o).lower() for o in goal.get("goal_options") or ())
    return frozenset(attrs), frozenset(o for o in opts if len(o) > 1)


@functools.lru_cache(maxsize=1)
def _vocabulary_patterns() -> tuple[tuple[tuple[str, re.Pattern[str]], ...], tuple[tuple[str, re.Pattern[str]], ...]]:
    """:func:`_goal_vocabulary` as compiled whole-word patterns (compiling ~330 per check thrashed ``re``'s cache)."""
    attrs, opts = _goal_vocabulary()

    def compiled(terms: frozenset[str]) -> tuple[tuple[str, re.Pattern[str]], ...]:
        return tuple((t, re.compile(rf"\b{re.escape(t)}\b")) for t in sorted(terms))

    return compiled(attrs), compiled(opts)


def _terms_in(text: str, patterns: tuple[tuple[str, re.Pattern[str]], ...]) -> list[str]:
    """The terms that occur in ``text`` as whole words (a substring test first: most terms are absent)."""
    return [t for t, p in patterns if t in text and p.search(text)]


class WebShopDomain(Domain):
    """WebShop's rules, grammar, tasks, data and scripted shoppers for the experience model."""

    name = "webshop"
    max_episode_steps = 15
    max_observation_chars = 6000
    max_action_chars = 256
    reward_range = (0.0, 1.0)
    binary_reward = False
    real_env_id = "WebShop-Real-v0"
    data_dir = Path(__file__).parent / "data"
    max_new_tokens = 400

    def system_prompt(self) -> str:
        return SYSTEM_PROMPT

    def check_action(self, action: str, state: str) -> str | None:
        name, arg = parse_action(action)
        if arg is None or name.lower() not in ("search", "click"):
            return "not a WebShop action: use search[keywords] or click[value]"
        kind, arg = name.lower(), arg.lower()
        if name != kind:
            return f"unknown action {name!r}: actions are lower case, search[...] or click[...]"
        if not arg.strip():
            return f"{kind}[] has an empty argument"
        page = parse_text_page(state)
        if kind == "search":
            if len(arg) > MAX_KEYWORDS_CHARS:
                return f"search keywords are {len(arg)} characters long (max {MAX_KEYWORDS_CHARS})"
            if page.kind != "unknown" and not page.has_search_bar:
                return "this page has no search bar"
            return None
        if arg == "search":
            return "click[search] does nothing: use search[keywords]"
        if page.kind != "unknown" and arg not in page.maybe_clickables:
            return f"{arg!r} is not clickable on this page"
        return None

    def told_outcome(self, task: Task, history: Sequence[Transition], state: str, action: str) -> Outcome | None:
        """A page the episode has already shown (results, a product, a sub-page), the start page after
        ``Back to Search``, or the same item page after a click on an option; reward 0 (see :mod:`.episode`)."""
        page = told_page(task, history, state, action)
        return None if page is None else Outcome(page, 0.0, False)

    def repair_observation(self, action: str, observation: str, task: Task | None = None,
                           history: Sequence[Transition] = ()) -> str:
        """The goal every page repeats, and a product's title and price as its results row showed them
        (see :func:`.episode.repair_page`); the rest of the page stays the model's."""
        state = history[-1].next_state if history else (task.initial_observation if task is not None else "")
        return repair_page(action, observation, state)

    def told_reasoning(self, action: str) -> str:
        if action.lower().strip() == "click[back to search]":
            return "Back to Search always shows the start page with the instruction and the search bar; reward 0."
        return (f"{action} leads to a page this episode has already shown (an option click leaves the item page "
                "as it reads), and WebShop's text pages do not change in between, so it shows the same text; "
                "reward 0.")

    def initial_observation_for(self, instruction: str) -> str:
        return f"WebShop [SEP] Instruction: [SEP] {instruction} [SEP] Search"

    def admissible_actions(self, task: Task, history: Sequence[Transition], state: str) -> list[str] | None:
        page = parse_text_page(state)
        if page.kind == "unknown":
            return None
        acts = ["search[...]"] if page.has_search_bar else []
        return sorted(set(acts + [f"click[{c}]" for c in page.clickables]))

    def demo_action(self, task: Task, history: Sequence[Transition], state: str, rng: random.Random) -> str:
        """A plausible action: the goal words on the search page, else a random admissible click."""
        from .policies import goal_keywords

        if has_search_bar_text(state):
            return f"search[{goal_keywords(task.instruction)}]"
        actions = self.admissible_actions(task, history, state) or []
        return rng.choice(actions) if actions else ""

    def check_outcome(self, task: Task, state: str, action: str, outcome: Outcome,
                      history: Sequence[Transition] = ()) -> tuple[Outcome, str | None]:
        """Only ``click[buy now]`` on an item page ends the episode, with a score the formula can give, on
        the engine's purchase page for the product and options the episode chose (:func:`.episode.purchase_page`)."""
        # Only a page that reads as a real item page can pay: a page the model made up (an injected
        # "... [SEP] Buy Now") does not parse as one.
        is_buy = action.lower().strip() == "click[buy now]" and parse_text_page(state).kind == "item"
        if not is_buy:
            if outcome.reward != 0 or outcome.done:
                return Outcome(outcome.next_state, 0.0, False), "only click[buy now] ends a WebShop episode"
            return outcome, None
        reward = min(max(outcome.reward, 0.0), 1.0)
        goal = task.meta.get("goal") or {}
        note = None
        if goal:
            grid = achievable_rewards(len(goal.get("attributes") or ()), len(goal.get("goal_options") or ()))
            snapped = min(grid, key=lambda r: abs(r - reward))
            if abs(snapped - reward) > 1e-6:
                note = f"score {outcome.reward:g} is not r_type x k/n for this goal; snapped to {snapped:g}"
            reward = snapped
        elif reward != outcome.reward:
            note = "score clipped to [0, 1]"
        if not outcome.done:
            note = (note + "; " if note else "") + "click[buy now] always ends the episode"
        # The page shows what was bought and the score paid; the episode names both but the score.
        page = purchase_page(task, history, state, reward)
        return Outcome(outcome.next_state if page is None else page, reward, True), note

    def check_generated_task(self, instruction: str, parent: Task) -> TaskCheck:
        """A shopper's request ("i'm looking for ...", "i need ...", ...) with an optional price clause;
        feasible when it names at least one attribute the catalog's goals use and every one of its
        attributes/options is known there. The goal keeps the parent's target product and price."""
        text = " ".join(instruction.strip().lower().split()).rstrip(".")
        if not _REQUEST.match(text):
            return TaskCheck(None, "ungrammatical", "does not start like a shopper's request ('i need ...')")
        m = _PRICE.search(text)
        price = float(m.group(1)) if m else None
        if price is not None and price <= 0:
            return TaskCheck(None, "infeasible", "price bound must be positive")
        attrs_patterns, opts_patterns = _vocabulary_patterns()
        attrs = _terms_in(text, attrs_patterns)
        if not attrs:
            return TaskCheck(None, "infeasible", "names no attribute that exists in the catalog")
        opts = _terms_in(text, opts_patterns)
        goal = dict(parent.meta.get("goal") or {})
        goal.update(instruction_text=text, attributes=attrs, goal_options=opts, option_types=[],
                    goal_id=stable_id("webshop-goal-gen", text, parent.task_id))
        if price is not None:
            goal["price_upper"] = price
        meta = {"split": "train", "goal": goal, "generated_from": parent.task_id}
        return TaskCheck(Task(task_id=goal["goal_id"], domain=self.name, instruction=text,
                              initial_observation=self.initial_observation_for(text), meta=meta))

    def import_hooks(self) -> ImportHooks:
        """Cleanup for imported public trajectories (see ``importing.py``)."""
        from .importing import WebShopImportHooks

        return WebShopImportHooks()

    def make_policy(self, name: str, seed: int | None = None) -> Policy:
        """Returns ``"expert"``, ``"noisy"`` or ``"random"`` (see :mod:`.policies`)."""
        from .policies import POLICIES

        if name not in POLICIES:
            raise InvalidConfigError(f"unknown WebShop policy {name!r}. Valid ones: {', '.join(sorted(POLICIES))}.")
        return POLICIES[name](seed=seed)


def has_search_bar(state: str) -> bool:
    """Whether a text-mode page is the search page (the only one with a search bar)."""
    return has_search_bar_text(state)


def available_actions(state: str) -> list[str]:
    """Derives the actions of a text-mode page from its ``[SEP]`` segments (sorted)."""
    page = parse_text_page(state)
    acts = ["search[...]"] if page.has_search_bar else []
    return sorted(set(acts + [f"click[{c}]" for c in page.clickables]))
