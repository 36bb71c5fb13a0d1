"""WebShop's pages as lists of text segments, and their two upstream text renderings.

A page is what upstream's HTML shows, reduced to its visible text nodes in order. Each segment
knows whether it is a button, a product link or an option, which is all that the ``text`` mode
(``" [SEP] "``-joined), the ``text_rich`` mode (``[button] X [button_]``...) and the page's
clickables need.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from .catalog import Goal, Product

if TYPE_CHECKING:
    from .reward import RewardBreakdown

BUY_NOW = "Buy Now"
NEXT_PAGE = "Next >"
PREV_PAGE = "< Prev"
BACK_TO_SEARCH = "Back to Search"
SEARCH_BUTTON = "Search"
#: Item sub-pages (upstream's ACTION_TO_TEMPLATE without the hidden Attributes page).
SUB_PAGES = ("Description", "Features", "Reviews")
PRODUCT_WINDOW = 10


@dataclass(frozen=True)
class Segment:
    """One visible text node.

    Attributes:
        text: The text shown.
        kind: ``"text"``, ``"button"``, ``"link"`` (product ASIN) or ``"option"``.
        option_type: For options, the option type they set.
        marked: Options: currently selected; links: already visited in this session.
    """

    text: str
    kind: str = "text"
    option_type: str = ""
    marked: bool = False


@dataclass(frozen=True)
class Clickable:
    """What a click on a page element does: its kind and, for options, the type it sets."""

    kind: str
    option_type: str = ""


@dataclass(frozen=True)
class Page:
    """A rendered page: its name, segments and whether it has the search bar."""

    name: str
    segments: tuple[Segment, ...]
    has_search_bar: bool = False

    def text(self) -> str:
        """Upstream's ``text`` observation: visible texts joined by `` [SEP] ``."""
        return " [SEP] ".join(s.text for s in self.segments)

    def text_rich(self) -> str:
        """Upstream's ``text_rich`` observation (buttons bracketed, clicked options announced)."""
        out = ""
        for s in self.segments:
            if s.kind == "button":
                t = f"[button] {s.text} [button_]"
            elif s.kind == "option":
                if s.marked:
                    t = f"  [clicked button] {s.text} [clicked button_]"
                    out = f"You have clicked {s.text}.\n" + out
                else:
                    t = f"  [button] {s.text} [button_]"
            elif s.kind == "link":
                t = f"\n[clicked button] {s.text} [clicked button_]" if s.marked else f"\n[button] {s.text} [button_]"
            else:
                t = s.text
            out += t + "\n"
        return out

    def clickables(self) -> dict[str, Clickable]:
        """Upstream's ``text_to_clickable``: lower-cased buttons and links, then option values.

        Later entries overwrite earlier ones with the same text, as upstream's dict does.
        """
        out: dict[str, Clickable] = {}
        for s in self.segments:
            if s.kind in ("button", "link"):
                out[s.text.lower()] = Clickable(s.kind)
        for s in self.segments:
            if s.kind == "option":
                out[s.text] = Clickable("option", s.option_type)
        return out


def _instruction(goal_text: str) -> list[Segment]:
    return [Segment("Instruction:"), Segment(goal_text)]


def search_page(goal_text: str) -> Page:
    """The start page: logo, instruction and the search bar."""
    return Page("search", (Segment("WebShop"), *_instruction(goal_text), Segment(SEARCH_BUTTON, "button")),
                has_search_bar=True)


def results_page(goal_text: str, products: Sequence[Product], page: int, total: int,
                 visited: frozenset[str]) -> Page:
    """One page of search results (at most 10 products)."""
    segs = [*_instruction(goal_text), Segment(BACK_TO_SEARCH, "button"), Segment(f"Page {page} (Total results: {total})")]
    if page > 1:
        segs.append(Segment(PREV_PAGE, "button"))
    if page * PRODUCT_WINDOW < total:
        segs.append(Segment(NEXT_PAGE, "button"))
    for p in products:
        segs += [Segment(p.asin, "link", marked=p.asin in visited), Segment(p.name), Segment(p.price_tag)]
    return Page("results", tuple(segs))


def item_page(goal_text: str, product: Product, selected: Mapping[str, str]) -> Page:
    """A product's page: options by type, title, price, rating, sub-page buttons and ``Buy Now``."""
    segs = [*_instruction(goal_text), Segment(BACK_TO_SEARCH, "button"), Segment(PREV_PAGE, "button")]
    chosen = set(selected.values())
    for name, values in product.options.items():
        segs.append(Segment(name))
        segs += [Segment(v, "option", option_type=name, marked=v in chosen) for v in values]
    segs += [Segment(product.name), Segment(f"Price: {product.price_tag}"), Segment(f"Rating: {product.rating}")]
    segs += [Segment(s, "button") for s in SUB_PAGES]
    segs.append(Segment(BUY_NOW, "button"))
    return Page("item", tuple(segs))


def item_sub_page(goal_text: str, product: Product, sub_page: str) -> Page:
    """The ``Description``, ``Features`` or ``Reviews`` page of a product."""
    segs = [*_instruction(goal_text), Segment(BACK_TO_SEARCH, "button"), Segment(PREV_PAGE, "button")]
    if sub_page == "Description":
        segs.append(Segment(product.description or "No Description"))
    elif sub_page == "Features":
        bullets = [b for b in product.bullet_points if b]
        segs += [Segment(b) for b in bullets] if bullets else [Segment("No Features")]
    else:
        if product.reviews:
            for r in product.reviews:
                segs += [Segment(f'"{r.title}"'), Segment(str(r.score)), Segment(r.body)]
        else:
            segs.append(Segment("No reviews found"))
    return Page("item_sub", tuple(s for s in segs if s.text))


def done_page(asin: str, options: Mapping[str, str], reward: float) -> Page:
    """The page after ``Buy Now``, as upstream's text env renders it (its goal fields are empty)."""
    opts = json.dumps(dict(options), sort_keys=True)
    texts = [
        "Thank you for shopping with us!", "Your code:", "None", "(Paste it in your MTurk interface.)",
        "Purchased", "asin", asin, "options", opts, "attrs", "None", "category", "None", "query", "None",
        "product category", "None", "Target", "asin", "options", "attrs", "price upper", "instuction text",
        "category", "product category", "query", "Goal", "None", "Reward", "Your score (min 0.0, max 1.0)",
        repr(float(reward)), "Reward Details", "None",
    ]
    return Page("done", tuple(Segment(t) for t in texts))


@dataclass
class Session:
    """One shopper's state (upstream's ``user_sessions[session_id]``)."""

    goal: Goal
    page: Page
    keywords: tuple[str, ...] | None = None
    page_num: int | None = None
    asin: str | None = None
    asins: set[str] = field(default_factory=set)
    options: dict[str, str] = field(default_factory=dict)
    sub_page: str | None = None
    done: bool = False
    reward: RewardBreakdown | None = None
