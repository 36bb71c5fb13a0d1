"""A headless browser over the reference sites: tabs, history, viewport, and upstream's actions."""

from __future__ import annotations

from dataclasses import dataclass, field

from .actions import Action
from .sites import BLANK_URL, World
from .tree import Node, Page, RenderedPage, render

#: Observation lines shown per viewport (after the root line); ``scroll`` moves by this much.
VIEWPORT_LINES = 48


@dataclass
class Tab:
    """One browser tab: its history, the loaded page, scroll position and focused field."""

    history: list[str] = field(default_factory=lambda: [BLANK_URL])
    pos: int = 0
    page: Page = field(default_factory=lambda: Page(url=BLANK_URL, title=""))
    view: RenderedPage | None = None
    scroll: int = 0
    focused: str | None = None
    selected_all: bool = False


@dataclass
class Effect:
    """What an executed action did, as facts for teacher reasoning.

    Attributes:
        error: Why the action failed (page unchanged), else ``None``.
        node: The element acted on, if any.
        navigated: Whether the current tab's URL changed.
        mutated: Whether the site's state was changed by a button/submit handler.
        note: One phrase describing what happened.
    """

    error: str | None = None
    node: Node | None = None
    navigated: bool = False
    mutated: bool = False
    note: str = ""


class Browser:
    """Executes upstream's id-based actions on the pages of a :class:`World`.

    Args:
        world: The sites.
        viewport_lines: Page lines visible at once (like upstream's ``current_viewport_only``).
    """

    def __init__(self, world: World, viewport_lines: int = VIEWPORT_LINES) -> None:
        self.world = world
        self.viewport_lines = viewport_lines
        self.tabs: list[Tab] = [Tab()]
        self.active = 0

    # ----- observation --------------------------------------------------------------------------
    @property
    def tab(self) -> Tab:
        """The focused tab."""
        return self.tabs[self.active]

    @property
    def url(self) -> str:
        """URL of the focused tab."""
        return self.tab.page.url

    def view(self) -> RenderedPage:
        """The focused tab's rendered page (cached until the page changes)."""
        t = self.tab
        if t.view is None:
            t.view = render(t.page, t.focused)
        return t.view

    def visible_ids(self) -> dict[int, Node]:
        """Ids of the elements inside the current viewport."""
        v = self.view()
        lo, hi = self._window(v)
        return {i: n for i, n in v.by_id.items() if lo <= v.line_of[i] < hi}

    def _window(self, v: RenderedPage) -> tuple[int, int]:
        lo = 1 + self.tab.scroll
        return lo, min(len(v.lines), lo + self.viewport_lines)

    def observe(self) -> str:
        """The observation text: tab titles, blank line, visible tree, then ``URL: <url>``."""
        titles = []
        for i, t in enumerate(self.tabs):
            titles.append(f"Tab {i} (current): {t.page.title}" if i == self.active else f"Tab {i}: {t.page.title}")
        v = self.view()
        lo, hi = self._window(v)
        lines = [v.lines[0], *v.lines[lo:hi]]
        return " | ".join(titles) + "\n\n" + "\n".join(lines) + f"\nURL: {self.url}"

    # ----- navigation ---------------------------------------------------------------------------
    def reset(self, url: str) -> None:
        """Closes every tab and opens ``url`` in a single fresh tab."""
        self.tabs = [Tab()]
        self.active = 0
        self.goto(url)

    def goto(self, url: str) -> None:
        """Loads ``url`` in the focused tab, dropping the forward history."""
        t = self.tab
        page = self.world.load(url)
        t.history = t.history[: t.pos + 1] + [page.url]
        t.pos = len(t.history) - 1
        self._show(page)

    def reload(self) -> None:
        """Re-renders the focused tab's page from the current site state, keeping typed values."""
        old = self.tab.page
        page = self.world.load(old.url)
        if page.url == old.url:
            page.values.update(old.values)
        self._show(page, keep_scroll=True)

    def _show(self, page: Page, keep_scroll: bool = False) -> None:
        t = self.tab
        t.page, t.view, t.focused = page, None, None if not keep_scroll else t.focused
        if not keep_scroll:
            t.scroll = 0

    # ----- actions ------------------------------------------------------------------------------
    def execute(self, action: Action) -> Effect:
        """Runs one parsed action. Never raises for agent mistakes: they come back as ``Effect.error``."""
        k = action.kind
        if k != "press":
            self.tab.selected_all = False
        if k in ("click", "hover", "type"):
            node = self.visible_ids().get(action.element_id or -1)
            if node is None:
                where = "on this page" if action.element_id not in self.view().by_id else "in the current viewport"
                return Effect(error=f"there is no element [{action.element_id}] {where}")
            if k == "hover":
                return Effect(node=node, note=f"hovered over {node.label}; hovering shows nothing new here")
            if k == "click":
                return self._click(node)
            return self._type(node, action.text, action.enter)
        if k == "press":
            return self._press(action.text)
        if k == "scroll":
            return self._scroll(action.text)
        if k == "goto":
            before = self.url
            self.goto(action.text)
            return Effect(navigated=self.url != before, note=f"opened {self.url}"
                          + (" (page not found)" if self.tab.page.status == 404 else ""))
        if k == "new_tab":
            self.tabs.append(Tab())
            self.active = len(self.tabs) - 1
            return Effect(navigated=True, note=f"opened a new blank tab {self.active} and focused it")
        if k == "tab_focus":
            if action.tab is None or not 0 <= action.tab < len(self.tabs):
                return Effect(error=f"there is no tab {action.tab} (open tabs: 0-{len(self.tabs) - 1})")
            self.active = action.tab
            return Effect(navigated=True, note=f"switched to tab {action.tab} ({self.tab.page.title or 'blank'})")
        if k == "close_tab":
            self.tabs.pop(self.active)
            if not self.tabs:
                self.tabs = [Tab()]
            self.active = min(self.active, len(self.tabs) - 1)
            return Effect(navigated=True, note=f"closed the tab; tab {self.active} is now focused")
        if k in ("go_back", "go_forward"):
            t = self.tab
            new = t.pos + (-1 if k == "go_back" else 1)
            if not 0 <= new < len(t.history):
                return Effect(error=f"there is no page to go {'back' if k == 'go_back' else 'forward'} to")
            t.pos = new
            self._show(self.world.load(t.history[new]))
            return Effect(navigated=True, note=f"went {'back' if k == 'go_back' else 'forward'} to {self.url}")
        return Effect(note="stopped")

    def _follow(self, target: str | None, node: Node, verb: str) -> Effect:
        if target:
            before = self.url
            self.goto(target)
            return Effect(node=node, navigated=self.url != before, mutated=True, note=f"{verb}; the browser opened "
                          f"{self.tab.page.title or self.url}")
        self.reload()
        return Effect(node=node, mutated=True, note=f"{verb}; the page updated in place")

    def _click(self, node: Node) -> Effect:
        values = self.tab.page.values
        if node.on_click is not None:
            return self._follow(node.on_click(values), node, f"clicked {node.label}")
        if node.href is not None:
            self.goto(node.href)
            return Effect(node=node, navigated=True, note=f"clicked {node.label}, which opened "
                          f"{self.tab.page.title or self.url}")
        if node.field is not None:
            self.tab.focused = node.field
            self.tab.view = None
            return Effect(node=node, note=f"clicked {node.label}, which is now focused")
        return Effect(node=node, note=f"clicked {node.label}, which is not interactive, so nothing changed")

    def _type(self, node: Node, text: str, enter: bool) -> Effect:
        if not node.editable:
            return Effect(error=f"element [{self._id_of(node)}] is {node.label}, not an editable field")
        t = self.tab
        if node.role == "combobox":
            option = next((c for c in node.children if c.name.lower().startswith(text.strip().lower())), None)
            if option is None:
                return Effect(error=f"{node.label} has no option starting with {text!r}")
            t.page.values[node.field or ""] = option.name
            t.view = None
            return Effect(node=node, note=f"selected {option.name!r} in {node.label}")
        # Upstream types with the keyboard: text is appended to what is in the field.
        t.page.values[node.field or ""] = t.page.values.get(node.field or "", "") + text
        t.focused = node.field
        t.view = None
        note = f"typed {text!r} into {node.label}"
        if enter:
            return self._enter(node, note + " and pressed Enter")
        return Effect(node=node, note=note)

    def _enter(self, node: Node, note: str) -> Effect:
        if node.submit is None:
            return Effect(node=node, note=note + ", which does not submit anything here")
        return self._follow(node.submit(self.tab.page.values), node, note)

    def _press(self, combo: str) -> Effect:
        t = self.tab
        if combo == "Enter":
            node = next((n for n in self.view().by_id.values() if t.focused and n.field == t.focused), None)
            if node is None:
                return Effect(note="pressed Enter with no field focused, so nothing changed")
            return self._enter(node, f"pressed Enter in {node.label}")
        if combo in ("Alt+ArrowLeft", "Meta+["):
            return self.execute(Action("go_back"))
        if combo in ("Control+a", "Meta+a") and t.focused:
            t.selected_all = True
            return Effect(note="selected all text of the focused field")
        if combo in ("Backspace", "Delete") and t.focused:
            old = t.page.values.get(t.focused, "")
            t.page.values[t.focused] = "" if t.selected_all else old[:-1]
            t.selected_all = False
            t.view = None
            return Effect(note="deleted the selected text of the focused field" if not t.page.values[t.focused]
                          else "deleted the last character of the focused field")
        return Effect(note=f"pressed {combo}, which has no effect on this page")

    def _scroll(self, direction: str) -> Effect:
        t = self.tab
        total = len(self.view().lines) - 1
        step = self.viewport_lines - 4
        new = max(0, min(t.scroll + (step if direction == "down" else -step), max(0, total - self.viewport_lines)))
        if new == t.scroll:
            return Effect(note=f"scrolled {direction}, but the page is already at the "
                          f"{'bottom' if direction == 'down' else 'top'}")
        t.scroll = new
        return Effect(note=f"scrolled {direction}; the viewport now shows other elements of the same page")

    def _id_of(self, node: Node) -> int:
        return next(i for i, n in self.view().by_id.items() if n is node)
