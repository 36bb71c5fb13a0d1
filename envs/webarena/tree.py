"""Pages as accessibility trees, rendered exactly like WebArena's text observation.

Upstream (``browser_env/processors.py``) prints one node per line as ``[id] role 'name'`` (the
name is Python's ``repr``), followed by ``prop: value`` pairs, indented by one tab per depth,
under a first line ``Tab 0 (current): <title>`` and a blank line. We build pages as :class:`Node`
trees, give every node an id that is stable for that page, and render the same text.
"""

from __future__ import annotations

import random
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

#: Roles that accept ``type [id] [text]`` (upstream types into any focused editable element).
EDITABLE_ROLES = frozenset({"textbox", "searchbox", "combobox", "spinbutton"})

#: What a button/link callback returns: a URL to navigate to, or ``None`` to re-render the page.
Handler = Callable[[dict[str, str]], "str | None"]


@dataclass
class Node:
    """One accessibility node.

    Attributes:
        role: ARIA role (``link``, ``button``, ``textbox``, ``StaticText``...).
        name: Accessible name (shown with ``repr``).
        props: Extra properties shown after the name (``required: False``, ``checked: true``...).
        children: Child nodes.
        href: For links: the URL a click opens.
        on_click: For buttons/options/checkboxes: a callback run on click with the page's field values.
        field: For editable nodes: the form-field key their value is stored under.
        submit: For editable nodes: the callback run when Enter is pressed in them.
        describe: A short human phrase for teacher reasoning (defaults to role and name).
    """

    role: str
    name: str = ""
    props: dict[str, Any] = field(default_factory=dict)
    children: list[Node] = field(default_factory=list)
    href: str | None = None
    on_click: Handler | None = None
    field: str | None = None
    submit: Handler | None = None
    describe: str | None = None

    def add(self, *nodes: Node) -> Node:
        """Appends children and returns ``self`` (for compact page builders)."""
        self.children.extend(nodes)
        return self

    @property
    def editable(self) -> bool:
        """Whether typing into this node changes its value."""
        return self.role in EDITABLE_ROLES and self.field is not None

    @property
    def label(self) -> str:
        """A short phrase naming this node in reasoning text."""
        return self.describe or f"the {self.role} {self.name!r}"


@dataclass
class Page:
    """One loaded page: its title, URL, tree and the values of its form fields.

    Attributes:
        url: Full URL.
        title: Tab title.
        body: Children of the root ``RootWebArea`` node.
        values: Form-field values, by field key (typing updates them; they survive re-renders).
        dom: Element text by normalised DOM locator, for ``program_html`` evaluation; a callable
            value computes it from the live form values (an input's ``.value``).
        status: HTTP-like status (404 for unknown paths).
    """

    url: str
    title: str
    body: list[Node] = field(default_factory=list)
    values: dict[str, str] = field(default_factory=dict)
    dom: dict[str, str | Callable[[dict[str, str]], str]] = field(default_factory=dict)
    status: int = 200


@dataclass
class RenderedPage:
    """A page's lines with their ids, ready for a viewport."""

    lines: list[str]
    by_id: dict[int, Node]
    line_of: dict[int, int]


def _id_rng(url: str) -> random.Random:
    return random.Random(zlib.crc32(url.encode("utf-8")))


def _props_str(props: dict[str, Any]) -> str:
    return "".join(f" {k}: {v}" for k, v in props.items())


def render(page: Page, focused_field: str | None = None) -> RenderedPage:
    """Assigns ids and renders every node of ``page`` to upstream's line format.

    Ids are drawn from a generator seeded by the URL, so the same page content always gets the
    same ids, and different pages get different, WebArena-looking ids (``[1254] link 'My Account'``).
    """
    rng = _id_rng(page.url.split("#")[0])
    next_id = 100 + rng.randrange(100, 2000)
    lines: list[str] = [f"[1] RootWebArea {page.title!r} focused: True"]
    by_id: dict[int, Node] = {}
    line_of: dict[int, int] = {}

    def walk(node: Node, depth: int, selected: str | None) -> None:
        nonlocal next_id
        nid = next_id
        next_id += 1 + rng.randrange(3)
        by_id[nid] = node
        props = dict(node.props)
        if node.field is not None and focused_field == node.field:
            props = {"focused": True, **props}
        if node.role == "option" and selected is not None:
            props["selected"] = node.name == selected
        line_of[nid] = len(lines)
        lines.append("\t" * depth + f"[{nid}] {node.role} {node.name!r}{_props_str(props)}")
        value = page.values.get(node.field or "") if node.field else None
        if value and node.role != "combobox":
            vid = next_id
            next_id += 1
            lines.append("\t" * (depth + 1) + f"[{vid}] StaticText {value!r}")
        choice = page.values.get(node.field or "", "") if node.role == "combobox" else None
        for child in node.children:
            walk(child, depth + 1, choice)

    for n in page.body:
        walk(n, 1, None)
    return RenderedPage(lines, by_id, line_of)


def iter_nodes(nodes: list[Node]) -> Iterator[Node]:
    """Yields every node of a forest, depth first."""
    for n in nodes:
        yield n
        yield from iter_nodes(n.children)


def dom_value(page: Page, locator: str) -> str | None:
    """The text an upstream JS locator selects on ``page``, or ``None`` when the page has no such element."""
    v = page.dom.get(normalise_locator(locator))
    if v is None:
        return None
    return v(page.values) if callable(v) else v


def normalise_locator(locator: str) -> str:
    """Canonical form of a DOM locator: quotes unified, escapes and whitespace removed."""
    return "".join(locator.replace('\\"', "'").replace('"', "'").split())
