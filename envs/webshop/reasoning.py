"""Teacher reasoning for a WebShop step, written from the engine's own facts.

Each explanation says why the page changed (or did not), which goal attributes and options the
product on screen matches, and how the purchase score was computed. One to three sentences.
"""

from __future__ import annotations

from typing import Any

from .catalog import Catalog, Goal
from .engine import StepResult
from .reward import RewardBreakdown, attribute_matches, option_matches


def _list(items: Any) -> str:
    items = list(items)
    return ", ".join(items) if items else "none"


def explain(result: StepResult, catalog: Catalog, goal: Goal) -> str:
    """Returns the reasoning for one step's result."""
    ev = result.event
    kind = ev.get("kind")
    if kind == "invalid":
        return f"The action is not available here ({result.error}), so the page stays the same and the reward is 0."
    if kind in ("search", "next", "prev", "prev_to_results"):
        lead = {
            "search": f"The search page has a search bar, so searching '{ev['keywords']}' ranks the catalog by BM25",
            "next": f"'Next >' moves the results for '{ev['keywords']}' to page {ev['page']}",
            "prev": f"'< Prev' moves the results for '{ev['keywords']}' back to page {ev['page']}",
            "prev_to_results": f"'< Prev' on an item page returns to page {ev['page']} of the results "
                               f"for '{ev['keywords']}' and clears the selected options",
        }[kind]
        total, shown = ev["total"], ev["shown"]
        if not shown:
            return f"{lead}; {total} products match, and this page lists none. The reward is 0."
        where = " (the goal's product is listed)" if goal.asin in shown else ""
        return (f"{lead}; {total} products match (at most 50, 10 per page) and this page lists "
                f"{len(shown)}, starting with {shown[0]}{where}. The reward is 0.")
    if kind == "item":
        p = catalog.by_asin[ev["asin"]]
        hits = attribute_matches(p, goal.attributes)
        matched = [a for a, h in zip(goal.attributes, hits) if h]
        missed = [a for a, h in zip(goal.attributes, hits) if not h]
        opts = "; ".join(f"{k}: {len(v)} values" for k, v in p.options.items()) or "no options"
        price = catalog.prices[p.asin]
        price_note = "within" if price <= goal.price_upper else "above"
        return (f"{p.asin} is a product link, so its item page opens ({opts}). It matches the goal attributes "
                f"{_list(matched)} (missing: {_list(missed)}), and its price ${price:.2f} is {price_note} the "
                f"bound. The reward is 0 until Buy Now.")
    if kind == "option":
        hits = option_matches([ev["value"]], goal.goal_options)
        good = [o for o, h in zip(goal.goal_options, hits) if h]
        note = f"it matches the goal option {good[0]}" if good else "it matches no goal option"
        sel = _list(f"{k}={v}" for k, v in ev["selected"].items())
        return (f"'{ev['value']}' is a {ev['option_type']} option of this product, so it is selected "
                f"(selected: {sel}) and the page otherwise stays the same; {note}. The reward is 0.")
    if kind == "sub_page":
        return (f"'{ev['sub_page']}' opens that sub-page of {ev['asin']}; '< Prev' returns to the item page "
                f"with the selected options kept. The reward is 0.")
    if kind == "prev_to_item":
        return f"'< Prev' on a sub-page returns to the item page of {ev['asin']}, options kept. The reward is 0."
    if kind == "back_to_search":
        return "'Back to Search' returns to the search page and forgets the query and the selected options. The reward is 0."
    if kind == "buy":
        return explain_purchase(ev["asin"], ev["options"], ev["breakdown"])
    return "The page changes as the clicked element directs. The reward is 0."


def explain_purchase(asin: str, options: dict[str, str], rb: RewardBreakdown) -> str:
    """Explains a purchase score: type factor, matched attributes and options, price."""
    t = rb.type
    why_type = (f"query {'matches' if t.query_match else 'differs'}, category "
                f"{'matches' if t.category_match else 'differs'}, title noun overlap {t.title_score:.2f}")
    opts = _list(f"{k}={v}" for k, v in options.items())
    price = f"price ${rb.price:.2f} {'is' if rb.price_ok else 'is not'} under the bound"
    return (f"Buy Now purchases {asin} with options {opts} and ends the episode. Attributes matched: "
            f"{_list(rb.attributes_matched)} (missed: {_list(rb.attributes_missed)}); options matched: "
            f"{_list(rb.options_matched)} (missed: {_list(rb.options_missed)}); {price}. Score = r_type "
            f"{t.r_type:g} ({why_type}) x {rb.numerator}/{rb.denominator} = {rb.total:.4f}.")
