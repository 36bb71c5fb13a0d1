"""The WebShop reference engine: upstream's session state machine, without Flask, HTML or Java.

Actions are parsed like upstream (``(.+)\\[(.+)\\]``, argument lower-cased) and matched against the
current page's available actions: ``search[...]`` needs the search bar, ``click[x]`` needs ``x`` among
the page's clickables (and is not ``search``). Anything else leaves the page unchanged with reward 0
and says why in :attr:`StepResult.error`. Transitions follow upstream's ``SimServer.receive``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .actions import MAX_KEYWORDS_CHARS, parse_action
from .catalog import Catalog, Goal, Product
from .pages import (
    BACK_TO_SEARCH,
    BUY_NOW,
    NEXT_PAGE,
    PREV_PAGE,
    PRODUCT_WINDOW,
    SUB_PAGES,
    Page,
    Session,
    done_page,
    item_page,
    item_sub_page,
    results_page,
    search_page,
)
from .reward import NounExtractor, RewardBreakdown, get_reward
from .search import SearchEngine


@dataclass(frozen=True)
class StepResult:
    """What one action did.

    Attributes:
        page: The page after the action.
        reward: The purchase score on ``Buy Now``, else 0.
        done: Whether the episode ended (only ``Buy Now``).
        valid: Whether the action was available on the page.
        error: Why an invalid action was rejected (``None`` if valid).
        event: What happened, for explanations: ``kind`` plus facts (see :mod:`.reasoning`).
    """

    page: Page
    reward: float
    done: bool
    valid: bool
    error: str | None
    event: dict[str, Any] = field(default_factory=dict)


class WebShopEngine:
    """Serves one session at a time over a catalog.

    Args:
        catalog: Products, prices and goals.
        search_engine: A prebuilt index (built from the catalog when ``None``).
        nouns: Noun extractor for the type reward (the heuristic one when ``None``).
        search_anywhere: Accept ``search[...]`` on every page, as upstream's raw text env does; off
            by default, as in the published agent harnesses that check ``has_search_bar``.
    """

    def __init__(self, catalog: Catalog, search_engine: SearchEngine | None = None,
                 nouns: NounExtractor | None = None, search_anywhere: bool = False) -> None:
        self.catalog = catalog
        self.search_engine = search_engine or SearchEngine(catalog.products)
        self.nouns = nouns
        self.search_anywhere = search_anywhere
        self.session: Session | None = None
        self._search_cache: dict[tuple[str, ...], list[str]] = {}

    # ----- session -----------------------------------------------------------------------------
    def reset(self, goal: Goal) -> Page:
        """Starts a session for ``goal`` on the search page."""
        self.session = Session(goal=goal, page=search_page(goal.instruction_text))
        return self.session.page

    @property
    def page(self) -> Page:
        """The current page."""
        return self._s.page

    def available_actions(self) -> dict[str, Any]:
        """Upstream's ``get_available_actions()``: ``{"has_search_bar": bool, "clickables": [...]}``."""
        page = self._s.page
        return {"has_search_bar": page.has_search_bar, "clickables": list(page.clickables())}

    def admissible_actions(self) -> list[str]:
        """The page's actions as action strings (``search[...]`` stands for any keywords)."""
        page = self._s.page
        acts = ["search[...]"] if page.has_search_bar else []
        return acts + [f"click[{c}]" for c in page.clickables() if c != "search"]

    def search_results(self, keywords: tuple[str, ...]) -> list[str]:
        """Returns the (cached) ASINs a search for ``keywords`` finds, best first."""
        if keywords not in self._search_cache:
            if len(self._search_cache) > 4096:
                self._search_cache.clear()
            self._search_cache[keywords] = self.search_engine.search(" ".join(keywords))
        return self._search_cache[keywords]

    # ----- stepping ----------------------------------------------------------------------------
    def step(self, action: str) -> StepResult:
        """Applies one action. Never raises on bad input."""
        s = self._s
        if s.done:
            return self._invalid("the episode is over (the product was bought)", action)
        name, arg = parse_action(action)
        if arg is None:
            return self._invalid("not a WebShop action: use search[keywords] or click[value]", action)
        arg = arg.lower()
        if name == "search":
            if not (s.page.has_search_bar or self.search_anywhere):
                return self._invalid("this page has no search bar; click[back to search] first", action)
            if not arg.strip():
                return self._invalid("search[] needs keywords", action)
            if len(arg) > MAX_KEYWORDS_CHARS:
                return self._invalid(f"search keywords are {len(arg)} characters long (max {MAX_KEYWORDS_CHARS})",
                                     action)
            return self._search(tuple(arg.split(" ")), 1, "search")
        if name == "click":
            clickables = s.page.clickables()
            if arg not in clickables or arg == "search":
                shown = ", ".join(c for c in clickables if c != "search") or "none"
                return self._invalid(f"{arg!r} is not clickable on this page (clickable: {shown})", action)
            return self._click(arg, clickables[arg].kind, clickables[arg].option_type)
        return self._invalid(f"unknown action {name!r}: use search[keywords] or click[value]", action)

    def _click(self, arg: str, kind: str, option_type: str) -> StepResult:
        s = self._s
        where = s.page.name
        if arg == BUY_NOW.lower():
            return self._buy()
        if arg == BACK_TO_SEARCH.lower():
            s.page = search_page(s.goal.instruction_text)
            s.keywords, s.page_num, s.asin, s.sub_page = None, None, None, None
            s.asins, s.options = set(), {}
            return self._ok({"kind": "back_to_search", "from": where})
        if arg == NEXT_PAGE.lower() and where == "results":
            return self._search(s.keywords or (), (s.page_num or 1) + 1, "next")
        if arg == PREV_PAGE.lower() and where == "results":
            return self._search(s.keywords or (), (s.page_num or 1) - 1, "prev")
        if arg == PREV_PAGE.lower() and where == "item_sub":
            s.sub_page = None
            s.page = item_page(s.goal.instruction_text, self._product, s.options)
            return self._ok({"kind": "prev_to_item", "asin": s.asin})
        if arg == PREV_PAGE.lower() and where == "item":
            return self._search(s.keywords or (), s.page_num or 1, "prev_to_results")
        if arg in (p.lower() for p in SUB_PAGES):
            s.sub_page = arg.capitalize()
            s.page = item_sub_page(s.goal.instruction_text, self._product, s.sub_page)
            return self._ok({"kind": "sub_page", "sub_page": s.sub_page, "asin": s.asin})
        if kind == "link":
            s.asin = arg.upper()
            s.asins.add(s.asin)
            s.page = item_page(s.goal.instruction_text, self._product, s.options)
            return self._ok({"kind": "item", "asin": s.asin})
        # An option value: select it for its type, stay on the item page.
        s.options[option_type] = arg
        s.page = item_page(s.goal.instruction_text, self._product, s.options)
        return self._ok({"kind": "option", "asin": s.asin, "option_type": option_type, "value": arg,
                         "selected": dict(s.options)})

    def _search(self, keywords: tuple[str, ...], page: int, how: str) -> StepResult:
        s = self._s
        hits = self.search_results(keywords)
        s.keywords, s.page_num, s.asin, s.options, s.sub_page = keywords, page, None, {}, None
        shown = hits[(page - 1) * PRODUCT_WINDOW: page * PRODUCT_WINDOW]
        products = [self.catalog.by_asin[a] for a in shown]
        s.page = results_page(s.goal.instruction_text, products, page, len(hits), frozenset(s.asins))
        return self._ok({"kind": how, "keywords": " ".join(keywords), "page": page, "total": len(hits),
                         "shown": shown})

    def _buy(self) -> StepResult:
        s = self._s
        product = self._product
        price = self.catalog.prices[product.asin]
        rb = get_reward(product, s.goal, price, s.options, self.nouns)
        s.done, s.reward = True, rb
        s.page = done_page(product.asin, s.options, rb.total)
        return StepResult(s.page, rb.total, True, True, None,
                          {"kind": "buy", "asin": product.asin, "options": dict(s.options), "breakdown": rb})

    def _ok(self, event: dict[str, Any]) -> StepResult:
        return StepResult(self._s.page, 0.0, False, True, None, event)

    def _invalid(self, error: str, action: str) -> StepResult:
        return StepResult(self._s.page, 0.0, False, False, error, {"kind": "invalid", "action": action})

    @property
    def _s(self) -> Session:
        if self.session is None:
            raise RuntimeError("WebShopEngine.reset(goal) must be called before stepping")
        return self.session

    @property
    def _product(self) -> Product:
        return self.catalog.by_asin[self._s.asin or ""]

    def goal_facts(self, product: Product) -> RewardBreakdown:
        """Scores ``product`` for the current goal with no options selected (for explanations)."""
        return get_reward(product, self._s.goal, self.catalog.prices[product.asin], {}, self.nouns)
