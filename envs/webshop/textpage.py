"""Reads a ``text``-mode WebShop observation back into its page kind and clickables.

The experience model's states are text, so the domain derives the available actions from the
segments alone. On item pages option types and option values look alike; :func:`parse_text_page`
returns both what is certainly clickable and what may be (option types included), so that a guard
built on it never rejects an action the real shop accepts.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

#: Option types seen in the shipped catalog and in upstream's data (lower case).
KNOWN_OPTION_TYPES = frozenset({
    "color", "size", "style", "scent", "flavor name", "flavor", "pattern name", "item package quantity",
    "material", "material type", "configuration", "capacity", "style name", "color name", "size name",
    "number of items", "package quantity", "team name", "item display weight", "length",
})
#: A results page's page line: page number and total.
PAGE_LINE = re.compile(r"Page (\d+) \(Total results: (\d+)\)")
_ASIN = re.compile(r"[A-Za-z0-9]{10}")


@dataclass(frozen=True)
class TextPage:
    """What a text observation shows.

    Attributes:
        kind: ``"search"``, ``"results"``, ``"item"``, ``"item_sub"``, ``"done"`` or ``"unknown"``.
        has_search_bar: Whether ``search[...]`` works.
        clickables: Lower-case click targets that are certainly on the page.
        maybe_clickables: Targets that may be on the page (a superset of ``clickables``).
    """

    kind: str
    has_search_bar: bool
    clickables: frozenset[str]
    maybe_clickables: frozenset[str]


def parse_text_page(state: str) -> TextPage:
    """Parses a ``text``-mode observation (``" [SEP] "``-joined segments)."""
    segs = [s.strip() for s in state.split("[SEP]")]
    low = [s.lower() for s in segs]
    if len(segs) >= 4 and low[0] == "webshop" and low[1] == "instruction:" and low[-1] == "search":
        return TextPage("search", True, frozenset(), frozenset())
    if low and low[0].startswith("thank you for shopping"):
        return TextPage("done", False, frozenset(), frozenset())
    if len(segs) < 4 or low[0] != "instruction:" or low[2] != "back to search":
        return TextPage("unknown", False, frozenset(), frozenset())
    base = {"back to search"}
    if PAGE_LINE.fullmatch(segs[3]):
        i = 4
        while i < len(segs) and low[i] in ("< prev", "next >"):
            base.add(low[i])
            i += 1
        base.update(low[j] for j in range(i, len(segs), 3) if _ASIN.fullmatch(segs[j]))
        return TextPage("results", False, frozenset(base), frozenset(base))
    if low[3] != "< prev":
        return TextPage("unknown", False, frozenset(), frozenset())
    base.add("< prev")
    tail = ["description", "features", "reviews", "buy now"]
    if len(segs) >= 11 and low[-4:] == tail and low[-6].startswith("price:") and low[-5].startswith("rating:"):
        region = segs[4:-7]
        maybe = {s.lower() for s in region}
        sure = {s.lower() for k, s in enumerate(region) if k > 0 and s.lower() not in KNOWN_OPTION_TYPES}
        return TextPage("item", False, frozenset(base | set(tail) | sure), frozenset(base | set(tail) | maybe))
    return TextPage("item_sub", False, frozenset(base), frozenset(base))


def has_search_bar_text(state: str) -> bool:
    """Whether a text observation is the search page (the only one with a search bar)."""
    return parse_text_page(state).has_search_bar
