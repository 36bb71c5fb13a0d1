"""What every reference site shares: routing, page-building helpers and the site contract."""

from __future__ import annotations

import copy
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any
from urllib.parse import quote_plus, urlencode

from ..tree import Handler, Node, Page, normalise_locator

#: A route: a compiled path pattern and the method that builds its page.
Route = tuple["re.Pattern[str]", Callable[..., Page]]


class Site:
    """A small stateful website that renders pages as accessibility trees.

    Subclasses set ``name`` (upstream's site name), ``placeholder`` (upstream's URL placeholder,
    e.g. ``__SHOPPING__``), ``default_url`` and ``routes`` (``(regex, method name)`` pairs matched
    against the path after the site's base URL). State is a deep copy of the content dict, so
    every episode starts from the same site.
    """

    name: str = ""
    placeholder: str = ""
    default_url: str = ""
    routes: Sequence[tuple[str, str]] = ()

    def __init__(self, content: Mapping[str, Any], base_url: str | None = None) -> None:
        self.base_url = (base_url or self.default_url).rstrip("/")
        self.state: dict[str, Any] = copy.deepcopy(dict(content))
        self._routes = [(re.compile(p), getattr(self, m)) for p, m in self.routes]

    def url(self, path: str = "/", **query: Any) -> str:
        """Returns the absolute URL of ``path`` on this site (with an encoded query string)."""
        q = {k: v for k, v in query.items() if v is not None}
        return self.base_url + path + (("?" + urlencode(q, doseq=True)) if q else "")

    def page(self, path: str, query: Mapping[str, list[str]]) -> Page:
        """Builds the page at ``path`` (relative to the base URL) for the current state."""
        path = path or "/"
        for pattern, build in self._routes:
            m = pattern.fullmatch(path)
            if m:
                page = build(query, *m.groups())
                if page is not None:
                    return page
        return not_found(self.base_url + path)


def not_found(url: str) -> Page:
    """A 404 page."""
    return Page(url=url, title="404 Not Found", body=[heading("404 Not Found"),
                                                      text("The page you requested was not found.")], status=404)


# ----- node helpers ---------------------------------------------------------------------------

def text(s: str) -> Node:
    """A ``StaticText`` node."""
    return Node("StaticText", s)


def heading(s: str) -> Node:
    """A ``heading`` node."""
    return Node("heading", s)


def link(name: str, href: str, describe: str | None = None) -> Node:
    """A link that navigates to ``href``."""
    return Node("link", name, href=href, describe=describe)


def button(name: str, on_click: Handler | None = None, describe: str | None = None, **props: Any) -> Node:
    """A button running ``on_click`` (a button without a handler does nothing)."""
    return Node("button", name, props=dict(props), on_click=on_click, describe=describe)


def textbox(name: str, field: str, submit: Handler | None = None, role: str = "textbox",
            required: bool = False) -> Node:
    """An editable field whose value is stored under ``field``; Enter runs ``submit``."""
    return Node(role, name, props={"required": required}, field=field, submit=submit)


def combobox(name: str, field: str, options: Sequence[str]) -> Node:
    """A select element: clicking one of its options (or typing an option's text) selects it.

    The renderer marks the option equal to the field's value as ``selected: True``.
    """
    node = Node("combobox", name, props={"hasPopup": "menu", "expanded": False}, field=field)
    for opt in options:
        def choose(v: dict[str, str], opt: str = opt) -> None:
            v[field] = opt
        node.add(Node("option", opt, on_click=choose))
    return node


def row(cells: Sequence[str], *controls: Node) -> Node:
    """A table row named by its cell texts, with its interactive cells as children."""
    return Node("row", " ".join(c for c in cells if c)).add(*controls)


def table(headers: Sequence[str], rows: Sequence[Node]) -> Node:
    """A table: a header row then the given rows."""
    return Node("table", "").add(Node("row", " ".join(headers)), *rows)


def search_url(base: str, path: str, q: str) -> str:
    """Builds a search URL the way the real sites encode queries (spaces as '+')."""
    return f"{base}{path}?q={quote_plus(q)}"


def set_dom(page: Page, locator: str, value: str | Callable[[dict[str, str]], str]) -> None:
    """Publishes an element's text (or a function of the live form values) under a DOM locator."""
    page.dom[normalise_locator(locator)] = value


def first(query: Mapping[str, list[str]], key: str, default: str = "") -> str:
    """The first value of a query parameter."""
    vals = query.get(key) or [default]
    return vals[0]


def slug(s: str) -> str:
    """URL slug of a name."""
    return re.sub(r"[^a-z0-9]+", "-", s.lower()).strip("-")
