"""DreamGym-WebShop: the WebShop online-shopping domain (text observation mode)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

from dreamgym_env.domain import Domain, Outcome
from dreamgym_env.types import Task, Transition

#: Upstream parses ``search[...]`` / ``click[...]`` with this shape (lowercased before matching buttons).
ACTION_RE = re.compile(r"(search|click)\[(.+)\]", re.IGNORECASE | re.DOTALL)
MAX_KEYWORDS_CHARS = 200

SYSTEM_PROMPT = """\
You simulate WebShop, a text-mode online shop. Observations are the page's text segments joined by " [SEP] ".
Pages and rules of the real site:
- Search page: "WebShop [SEP] Instruction: [SEP] <goal> [SEP] Search". Only "search[keywords]" works there.
- Results page: "Instruction: [SEP] <goal> [SEP] Back to Search [SEP] Page N (Total results: M) [SEP] Next > \
[SEP] <ASIN> [SEP] <product title> [SEP] $<price> [SEP] ..." with 10 products per page, at most 50 results. \
"click[<asin>]" opens that product, "click[next >]" / "click[< prev]" page, "click[back to search]" returns.
- Item page: "Instruction: [SEP] <goal> [SEP] Back to Search [SEP] < Prev [SEP] <option type> [SEP] <option> \
[SEP] ... [SEP] <title> [SEP] Price: $<price> [SEP] Rating: N.A. [SEP] Description [SEP] Features [SEP] \
Reviews [SEP] Buy Now". "click[<option>]" selects an option (page otherwise unchanged), "click[description]" / \
"click[features]" / "click[reviews]" open sub-pages, "click[< prev]" goes back, "click[buy now]" buys.
- Clicking something not on the page, or searching where there is no search bar, leaves the page unchanged.
Reward is 0 on every step except "click[buy now]", which ends the episode (done true) with the purchase \
score in [0, 1]: the product type matches, times the share of the goal's attributes, options and price bound \
that the bought product satisfies.\
"""


class WebShopDomain(Domain):
    """WebShop's rules, grammar and data for the experience model."""

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
        m = ACTION_RE.fullmatch(action)
        if not m:
            return "not a WebShop action: use search[keywords] or click[button]"
        kind, arg = m.group(1).lower(), m.group(2).strip()
        if not arg:
            return f"{kind}[] has an empty argument"
        if kind == "search":
            if len(arg) > MAX_KEYWORDS_CHARS:
                return f"search keywords are {len(arg)} characters long (max {MAX_KEYWORDS_CHARS})"
            if not has_search_bar(state):
                return "this page has no search bar"
        return None

    def initial_observation_for(self, instruction: str) -> str:
        return f"WebShop [SEP] Instruction: [SEP] {instruction} [SEP] Search"

    def admissible_actions(self, task: Task, history: Sequence[Transition], state: str) -> list[str] | None:
        return available_actions(state)

    def check_outcome(self, task: Task, state: str, action: str, outcome: Outcome) -> tuple[Outcome, str | None]:
        # Only buying ends an episode with a score.
        if action.lower().strip() != "click[buy now]" and (outcome.reward > 0 or outcome.done):
            return Outcome(outcome.next_state, 0.0, False), "only click[buy now] ends a WebShop episode"
        return outcome, None


def has_search_bar(state: str) -> bool:
    """Whether a text-mode page is the search page (the only one with a search bar)."""
    return state.rstrip().lower().endswith("[sep] search")


def available_actions(state: str) -> list[str]:
    """Derives the clickable actions of a text-mode page from its ``[SEP]`` segments."""
    segs = [s.strip() for s in state.split("[SEP]")]
    if has_search_bar(state):
        return ["search[...]"]
    skip = {"instruction:", "webshop"}
    out = set()
    for i, s in enumerate(segs):
        low = s.lower()
        if not low or low in skip or (i > 0 and segs[i - 1].lower() == "instruction:"):
            continue
        if low.startswith(("page ", "price:", "rating:", "$")):
            continue
        out.add(f"click[{low}]")
    return sorted(out)
