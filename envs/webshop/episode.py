"""What a WebShop episode so far fixes about the next page.

WebShop's text pages carry no state of their own: an item page reads the same whatever options are
selected, a results page is a pure function of the keywords and the page number, and ``Back to Search``
always shows the start page. So a page the episode has already shown comes back word for word when the
agent returns to it, and :func:`told_page` gives it without asking the experience model (the real
engine does the same, see ``engine.py``). Everything else (a first search, a first look at a product, a
purchase) stays the model's to predict.

The episode is replayed as the engine would navigate it (keywords, page number, product), keyed by what
the pages showed. In a dreamed episode the pages are the model's own, so the rule keeps it consistent
with itself rather than correct.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from dreamgym_env.types import Task, Transition

from .actions import R_TYPES, parse_action
from .pages import BACK_TO_SEARCH, BUY_NOW, NEXT_PAGE, PREV_PAGE, PRODUCT_WINDOW, SUB_PAGES, done_page
from .textpage import KNOWN_OPTION_TYPES, PAGE_LINE, parse_text_page

_BACK = BACK_TO_SEARCH.lower()
_PREV = PREV_PAGE.lower()
_NEXT = NEXT_PAGE.lower()
_BUY = BUY_NOW.lower()
_SUB_PAGES = tuple(s.lower() for s in SUB_PAGES)
_ITEM_BUTTONS = frozenset({_BACK, _PREV, _BUY, *_SUB_PAGES})

Keywords = tuple[str, ...]


@dataclass
class EpisodePages:
    """The pages an episode has shown, keyed the way the engine builds them.

    Attributes:
        start: The search page (the episode's first observation).
        results: ``(keywords, page number)`` -> results page.
        items: ASIN (lower case) -> item page.
        subs: ``(ASIN, sub-page)`` -> description/features/reviews page.
        keywords: The current search's keywords (``None`` when unknown).
        page_num: The current results page number (``None`` when unknown).
        asin: The product being viewed (``None`` when unknown).
        options: Option type -> value selected since the product was opened (what a purchase records).
    """

    start: str | None = None
    results: dict[tuple[Keywords, int], str] = field(default_factory=dict)
    items: dict[str, str] = field(default_factory=dict)
    subs: dict[tuple[str, str], str] = field(default_factory=dict)
    keywords: Keywords | None = None
    page_num: int | None = None
    asin: str | None = None
    options: dict[str, str] = field(default_factory=dict)

    def forget_place(self) -> None:
        """Drops where the agent is (after a page the replay cannot account for)."""
        self.keywords, self.page_num, self.asin = None, None, None
        self.options = {}

    def record(self, state: str, action: str, next_state: str) -> None:
        """Replays one transition: moves like the engine and stores the page it showed."""
        here, there = parse_text_page(state).kind, parse_text_page(next_state).kind
        name, arg = parse_action(action)
        if arg is None or name not in ("search", "click"):
            return
        if state == next_state:  # rejected, or an option click: the page (and the place) stay
            if name == "click" and here == "item" and (kind := option_types(state).get(arg.lower())) is not None:
                self.options[kind] = arg.lower()
            return
        arg = arg.lower()
        if name == "search":
            self._land_results(tuple(arg.split(" ")), 1, next_state, there)
        elif arg == _BACK:
            self.forget_place()
            if there == "search":
                self.start = self.start or next_state
        elif here == "results" and arg in (_NEXT, _PREV):
            page = None if self.page_num is None else self.page_num + (1 if arg == _NEXT else -1)
            self._land_results(self.keywords, page, next_state, there)
        elif here == "results":
            self.asin = arg if there == "item" else None
            if self.asin is not None:
                self.items.setdefault(arg, next_state)
        elif here == "item" and arg == _PREV:
            self._land_results(self.keywords, self.page_num, next_state, there)
        elif here == "item" and arg in _SUB_PAGES:
            if there == "item_sub" and self.asin is not None:
                self.subs.setdefault((self.asin, arg), next_state)
            elif there != "item_sub":
                self.forget_place()
        elif here == "item_sub" and arg == _PREV:
            if there == "item" and self.asin is not None:
                self.items.setdefault(self.asin, next_state)
            elif there != "item":
                self.forget_place()
        else:
            self.forget_place()

    def _land_results(self, keywords: Keywords | None, page: int | None, shown: str, kind: str) -> None:
        if kind != "results" or keywords is None or page is None or page < 1:
            self.forget_place()
            return
        self.keywords, self.page_num, self.asin, self.options = keywords, page, None, {}
        self.results.setdefault((keywords, page), shown)

    def told(self, state: str, action: str) -> str | None:
        """The next page if the episode fixes it, else ``None``."""
        name, arg = parse_action(action)
        if arg is None or name not in ("search", "click"):
            return None
        arg, kind = arg.lower(), parse_text_page(state).kind
        if name == "search":
            return self.results.get((tuple(arg.split(" ")), 1)) if kind == "search" else None
        if kind not in ("results", "item", "item_sub"):
            return None
        if arg == _BACK:
            return self.start
        if kind == "results":
            if arg in (_NEXT, _PREV):
                if self.keywords is None or self.page_num is None:
                    return None
                return self.results.get((self.keywords, self.page_num + (1 if arg == _NEXT else -1)))
            return self.items.get(arg)
        if kind == "item":
            if arg == _PREV:
                return None if self.keywords is None else self.results.get((self.keywords, self.page_num or 0))
            if arg in _SUB_PAGES:
                return None if self.asin is None else self.subs.get((self.asin, arg))
            # An option value (or a segment that is not clickable): the text page reads the same after it.
            return None if arg in _ITEM_BUTTONS else state
        if arg == _PREV:
            return None if self.asin is None else self.items.get(self.asin)
        return None


def repair_page(action: str, page: str, state: str) -> str:
    """Rewrites what ``state`` and ``action`` fix in a predicted ``page``; the rest stays the model's.

    * Every page but the start and purchase pages repeats the goal after ``Instruction:`` word for word
      (all 1,436 such real held-out pages), and a model often rewrites it: it is put back from ``state``.
    * A product opened from a results page shows that row's title and price (``Price: <price>``; all 359
      real held-out first looks): an item page predicted for ``click[<asin>]`` gets them from the row.
    * A results page's header follows from the action: page 1 after a search, the next or previous page
      of the same total after ``next >`` / ``< prev``, with ``< Prev`` after page 1 and ``Next >`` while
      more results follow (:func:`_results_header`).
    """
    segs = [s.strip() for s in page.split("[SEP]")]
    here = [s.strip() for s in state.split("[SEP]")]
    goal = here[2] if here[:2] == ["WebShop", "Instruction:"] and len(here) > 2 else \
        here[1] if here[:1] == ["Instruction:"] and len(here) > 1 else None
    if goal is None or len(segs) < 2 or segs[0] != "Instruction:":
        return page
    fixed = [segs[0], goal, *segs[2:]]
    name, arg = parse_action(action)
    if name == "click" and arg is not None and parse_text_page(state).kind == "results" \
            and parse_text_page(page).kind == "item":
        rows = [i for i in range(4, len(here) - 2) if here[i].lower() == arg.lower()]
        if rows:
            fixed[-7], fixed[-6] = here[rows[0] + 1], f"Price: {here[rows[0] + 2]}"
    if parse_text_page(page).kind == "results":
        fixed = _results_header(name, (arg or "").lower(), fixed, here)
    return page if fixed == segs else " [SEP] ".join(fixed)


def _results_header(name: str, arg: str, segs: list[str], here: list[str]) -> list[str]:
    """``segs`` (a predicted results page) with the page line and the ``< Prev`` / ``Next >`` buttons the
    action fixes; the total is the state's on a page turn, else the model's."""
    m = PAGE_LINE.fullmatch(segs[3])
    if m is None:
        return segs
    shown, total = int(m.group(1)), int(m.group(2))
    now = PAGE_LINE.fullmatch(here[3]) if len(here) > 3 else None
    if name == "search":
        number = 1
    elif name == "click" and now is not None and arg in (_NEXT, _PREV):
        number, total = int(now.group(1)) + (1 if arg == _NEXT else -1), int(now.group(2))
    else:
        number = shown
    rows = 4
    while rows < len(segs) and segs[rows].lower() in (_PREV, _NEXT):
        rows += 1
    nav = (["< Prev"] if number > 1 else []) + (["Next >"] if number * PRODUCT_WINDOW < total else [])
    return [*segs[:3], f"Page {number} (Total results: {total})", *nav, *segs[rows:]]


def option_types(item_page: str) -> dict[str, str]:
    """An item page's clickable option values (as the engine matches them) -> their option type.

    The engine matches an option by its exact text, so a value with capitals cannot be clicked with
    WebShop's lower-cased argument; such values are left out. Types are told from values by
    :data:`~.textpage.KNOWN_OPTION_TYPES` (every type of the shipped catalog is there)."""
    segs = [s.strip() for s in item_page.split("[SEP]")][4:-7]
    out: dict[str, str] = {}
    kind = None
    for seg in segs:
        if seg.lower() in KNOWN_OPTION_TYPES:
            kind = seg
        elif kind is not None and seg == seg.lower():
            out[seg] = kind
    return out


def purchase_page(task: Task, history: Sequence[Transition], state: str, score: float) -> str | None:
    """The page after ``click[buy now]`` on ``state`` that pays ``score``, when the episode names the product
    (the ASIN it clicked to open it) and the options it selected since; else ``None``.

    ``score`` is written the way the engine computes it (``k / n * r_type``) when the task's goal says
    ``n``, so that a snapped reward (rounded to 10 digits) reads exactly as the engine prints it.
    """
    if parse_text_page(state).kind != "item":
        return None
    pages = episode_pages(task, history)
    if pages.asin is None:
        return None
    return done_page(pages.asin.upper(), pages.options, _engine_score(task, score)).text()


def _engine_score(task: Task, score: float) -> float:
    goal = task.meta.get("goal") or {}
    if not goal:
        return score
    n = len(goal.get("attributes") or ()) + len(goal.get("goal_options") or ()) + 1
    for r_type in sorted(R_TYPES, reverse=True):
        for k in range(n + 1):
            if round(r_type * k / n, 10) == round(score, 10):
                return k / n * r_type
    return score


def episode_pages(task: Task, history: Sequence[Transition]) -> EpisodePages:
    """Replays ``history`` (the episode's transitions so far, oldest first) into :class:`EpisodePages`."""
    first = history[0].state if history else task.initial_observation
    pages = EpisodePages(start=first if parse_text_page(first).kind == "search" else None)
    for t in history:
        pages.record(t.state, t.action, t.next_state)
    return pages


def told_page(task: Task, history: Sequence[Transition], state: str, action: str) -> str | None:
    """The page ``action`` leads to from ``state`` when the episode so far fixes it, else ``None``.

    Fixed are: the start page after ``Back to Search``; a results page for keywords and a page number
    already shown; a product's page or sub-page already opened; the item page after ``< Prev`` on a
    sub-page and the results after ``< Prev`` on an item page (when shown before); and the same item
    page after a click on an option (text pages do not mark the selection). ``Buy Now`` never is.
    """
    if parse_action(action)[1] is None:
        return None
    return episode_pages(task, history).told(state, action)
