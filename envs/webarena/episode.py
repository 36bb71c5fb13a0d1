"""What a WebArena episode so far fixes about the next page.

A page is a function of its URL and the sites' data: loading a URL again shows the same tree, with the
same ids, until something changes the data. The browser keeps each tab's history as a list of URLs and
reloads a page when the agent goes back or forward. So, replaying the episode's actions over the URLs its
pages showed, :func:`told_page` gives without the experience model:

* ``goto [url]`` and ``go_back``/``go_forward`` to a page the episode has loaded before, while nothing that
  could change the sites' data has happened since (a button, an option, a submitted form);
* ``scroll`` on a page that fits in the viewport, and ``press`` of a key that changes nothing on the page
  (``Tab``, ``Meta+a``, ...): the same page.

:func:`no_page_to_go` is the matching guard: ``go_forward`` before any ``go_back`` has nowhere to go.
Everything else (a first visit, a button, a typed value) stays the model's to predict. The replay stops
telling as soon as it cannot follow the history exactly (several tabs, or a button that may or may not have
added a history entry). In a dreamed episode the pages are the model's own, so the rules keep it consistent
with itself rather than correct.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from dreamgym_env.types import Transition

from .actions import Action, ActionParsingError, parse_action
from .browser import VIEWPORT_LINES
from .sites import BLANK_URL
from .tree import EDITABLE_ROLES

#: Keys whose press changes nothing the tree shows (``Enter`` submits, ``Backspace``/``Delete`` edit the
#: focused field, ``Alt+ArrowLeft``/``Meta+[`` go back; every other key only moves focus or selects).
_PAGE_KEYS = frozenset({"Enter", "Backspace", "Delete", "Alt+ArrowLeft", "Meta+["})
_BACK_KEYS = frozenset({"Alt+ArrowLeft", "Meta+["})
_URL = re.compile(r"\nURL: ([^\n]*)\Z")
_FOCUSED_FIELD = re.compile(r"^\t+\[\d+\] .* focused: True", re.MULTILINE)

#: What the browser shows on ``about:blank``, where every tab's history starts.
BLANK_PAGE = f"Tab 0 (current): \n\n[1] RootWebArea '' focused: True\nURL: {BLANK_URL}"


def page_url(observation: str) -> str | None:
    """The URL an observation ends with (``URL: <url>``), or ``None``."""
    m = _URL.search(observation)
    return m.group(1) if m else None


def one_tab(observation: str) -> bool:
    """Whether the observation shows a single open tab."""
    return " | Tab " not in observation.split("\n", 1)[0]


def tree_lines(observation: str) -> int:
    """Element lines of the visible tree below the ``RootWebArea`` line."""
    return sum(1 for line in observation.split("\n") if line.startswith("\t") and line.lstrip("\t").startswith("["))


def _role(state: str, element_id: int | None) -> str | None:
    m = re.search(rf"^\t+\[{element_id}\] (\S+) ", state, re.MULTILINE)
    return m.group(1) if m else None


@dataclass
class EpisodeBrowser:
    """The focused tab's history and the freshly loaded pages an episode has shown.

    Attributes:
        history: The tab's URLs (``None`` once the replay cannot follow them).
        pos: Index of the current page in ``history``.
        loaded: URL -> the page as a fresh load shows it (cleared when the sites' data may have changed).
        back_since_push: Whether the tab has gone back since it last opened a URL (only then can
            ``go_forward`` go anywhere when the history is unknown).
        lost: Whether the replay stopped (several tabs, or a page without its URL): nothing more is told.
    """

    history: list[str] | None = None
    pos: int = 0
    loaded: dict[str, str] = field(default_factory=dict)
    back_since_push: bool = False
    lost: bool = False

    def start(self, observation: str) -> None:
        """The episode's first page: the browser opened ``about:blank``, then the start URL."""
        url = page_url(observation)
        if url is None or not one_tab(observation):
            self.lost = True
            return
        self.history, self.pos = [BLANK_URL, url], 1
        self.loaded[BLANK_URL] = BLANK_PAGE
        self.loaded[url] = observation

    def step(self, t: Transition) -> None:
        """Follows one transition of the episode."""
        if self.lost:
            return
        if not (one_tab(t.state) and one_tab(t.next_state)):
            self.lost = True
            return
        try:
            action = parse_action(t.action)
        except ActionParsingError:
            return
        if t.valid is False:
            return  # rejected: nothing happened
        before, after = page_url(t.state), page_url(t.next_state)
        if after is None:
            self.lost = True  # not a browser page (e.g. a dreamed one): the URL cannot be followed
            return
        kind = action.kind
        if kind in ("new_tab", "tab_focus", "close_tab"):
            self.lost = True
        elif kind == "goto":
            self._push(after, t.next_state)
        elif kind in ("go_back", "go_forward") or (kind == "press" and action.text in _BACK_KEYS):
            self._move(-1 if kind != "go_forward" else 1, after, t)
        elif kind == "click" and _role(t.state, action.element_id) == "link":
            self._push(after, t.next_state)  # a link only opens its URL
        elif self._may_submit(action, t.state):
            self._submitted(before, after, t.next_state)

    def _may_submit(self, action: Action, state: str) -> bool:
        """A button, option or checkbox runs a handler; Enter in a field submits its form."""
        if action.kind == "click":
            return _role(state, action.element_id) not in EDITABLE_ROLES
        return (action.kind == "type" and action.enter) or (action.kind == "press" and action.text == "Enter")

    def _push(self, url: str, page: str) -> None:
        if self.history is not None:
            self.history = self.history[: self.pos + 1] + [url]
            self.pos = len(self.history) - 1
        self.back_since_push = False  # opening a URL drops the forward history
        self.loaded[url] = page

    def _move(self, delta: int, url: str, t: Transition) -> None:
        if delta < 0:
            self.back_since_push = True
        if t.next_state == t.state and (self.history is None or not 0 <= self.pos + delta < len(self.history)):
            return  # nowhere to go: nothing happened
        if self.history is not None and 0 <= self.pos + delta < len(self.history) \
                and self.history[self.pos + delta] == url:
            self.pos += delta
        else:
            self.history = None
        self.loaded[url] = t.next_state

    def _submitted(self, before: str | None, after: str, page: str) -> None:
        # The handler may have changed the sites' data: every page loaded so far may read differently now
        # (about:blank never does).
        self.loaded = {BLANK_URL: BLANK_PAGE}
        if after != before:
            self._push(after, page)  # it opened a URL: a fresh load, after the change
        elif not _FOCUSED_FIELD.search(page):
            # Re-rendered in place, or reopened the same URL (a fresh load, which focuses no field): the
            # history is unknown. A focused field survives only a re-render, which adds no history entry.
            self.history = None

    def can_move(self, delta: int) -> bool | None:
        """Whether ``go_back`` (-1) or ``go_forward`` (+1) has a page to go to (``None``: unknown)."""
        if self.lost:
            return None
        if self.history is not None:
            return 0 <= self.pos + delta < len(self.history)
        return None if delta < 0 or self.back_since_push else False

    def target(self, delta: int) -> str | None:
        """The URL ``go_back`` (-1) or ``go_forward`` (+1) would load, if known."""
        if self.lost or self.history is None or not 0 <= self.pos + delta < len(self.history):
            return None
        return self.history[self.pos + delta]


def episode_browser(history: Sequence[Transition], state: str) -> EpisodeBrowser:
    """Replays an episode's transitions (``state`` is the current page when there are none)."""
    browser = EpisodeBrowser()
    browser.start(history[0].state if history else state)
    for t in history:
        browser.step(t)
    return browser


def told_page(history: Sequence[Transition], state: str, action: str) -> str | None:
    """The page ``action`` certainly shows next, given the episode so far, or ``None`` (the model's to predict).

    Only for valid actions (the guard has run): see the module docstring for the rules.
    """
    try:
        parsed = parse_action(action)
    except ActionParsingError:
        return None
    if not one_tab(state):
        return None
    if parsed.kind == "scroll":
        return state if tree_lines(state) < VIEWPORT_LINES else None
    if parsed.kind == "press" and parsed.text not in _PAGE_KEYS:
        return state
    if parsed.kind not in ("goto", "go_back", "go_forward") \
            and not (parsed.kind == "press" and parsed.text in _BACK_KEYS):
        return None
    browser = episode_browser(history, state)
    if browser.lost:
        return None
    if parsed.kind == "goto":
        return browser.loaded.get(parsed.text.strip())
    url = browser.target(1 if parsed.kind == "go_forward" else -1)
    return browser.loaded.get(url) if url is not None else None


def no_page_to_go(history: Sequence[Transition], state: str, action: str) -> str | None:
    """Why ``go_back`` or ``go_forward`` certainly has nowhere to go, or ``None``.

    ``go_forward`` needs a ``go_back`` since the tab last opened a URL; ``go_back`` needs a page before the
    current one (every tab starts on ``about:blank``, which has none).
    """
    try:
        parsed = parse_action(action)
    except ActionParsingError:
        return None
    back = parsed.kind == "go_back" or (parsed.kind == "press" and parsed.text in _BACK_KEYS)
    if parsed.kind != "go_forward" and not back:
        return None
    if episode_browser(history, state).can_move(-1 if back else 1) is False:
        return f"there is no page to go {'back' if back else 'forward'} to"
    return None
