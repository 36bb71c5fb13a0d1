"""The five reference sites and the :class:`World` that routes URLs to them."""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from ..tree import Page
from .base import Site, not_found
from .gitlab import GitlabSite
from .gitlab import generate_content as gitlab_content
from .map import MapSite
from .map import generate_content as map_content
from .reddit import RedditSite
from .reddit import generate_content as reddit_content
from .shopping import ShoppingSite
from .shopping import generate_content as shopping_content
from .shopping_admin import ShoppingAdminSite
from .shopping_admin import generate_content as shopping_admin_content

#: Site classes by upstream site name.
SITE_CLASSES: dict[str, type[Site]] = {
    "shopping": ShoppingSite, "shopping_admin": ShoppingAdminSite, "gitlab": GitlabSite, "reddit": RedditSite,
    "map": MapSite,
}
_GENERATORS = {"shopping": shopping_content, "shopping_admin": shopping_admin_content, "gitlab": gitlab_content,
               "reddit": reddit_content, "map": map_content}
CONTENT_FILE = Path(__file__).resolve().parent.parent / "data" / "content.json"

__all__ = ["BLANK_URL", "SITE_CLASSES", "Site", "World", "generate_content", "shipped_content"]

BLANK_URL = "about:blank"


def generate_content(seed: int = 0) -> dict[str, dict[str, Any]]:
    """Generates every site's content from one seed (deterministic)."""
    return {name: gen(seed) for name, gen in _GENERATORS.items()}


@functools.lru_cache(maxsize=1)
def _shipped_text() -> str:
    return CONTENT_FILE.read_text(encoding="utf-8")


def shipped_content() -> dict[str, dict[str, Any]]:
    """The shipped site content (seed 0, written by ``make_data``); a fresh copy per call."""
    return json.loads(_shipped_text())


class World:
    """All reference sites of one episode, with the URL placeholders of upstream configs.

    Args:
        content: Site content by site name (defaults to the shipped content).
        urls: Base URL per site name, overriding each site's default (e.g. to mirror real hosts).
    """

    def __init__(self, content: Mapping[str, Mapping[str, Any]] | None = None,
                 urls: Mapping[str, str] | None = None) -> None:
        content = shipped_content() if content is None else content
        urls = dict(urls or {})
        self.sites: dict[str, Site] = {name: cls(content[name], urls.get(name)) for name, cls in SITE_CLASSES.items()}

    def site(self, name: str) -> Site:
        """The site named ``name``."""
        return self.sites[name]

    def placeholders(self) -> dict[str, str]:
        """Upstream placeholder (``__GITLAB__``) -> base URL."""
        return {s.placeholder: s.base_url for s in self.sites.values()}

    def resolve(self, text: str) -> str:
        """Replaces upstream URL placeholders in ``text`` by this world's base URLs."""
        for ph, url in self.placeholders().items():
            text = text.replace(ph, url)
        return text

    def site_of(self, url: str) -> Site | None:
        """The site serving ``url`` (longest matching base URL), if any."""
        best = None
        for s in self.sites.values():
            if (url == s.base_url or url.startswith((s.base_url + "/", s.base_url + "?"))) and \
                    (best is None or len(s.base_url) > len(best.base_url)):
                best = s
        return best

    def load(self, url: str) -> Page:
        """Builds the page at ``url`` (a 404 page for unknown paths, a blank page for ``about:blank``)."""
        url = url.strip()
        if url == BLANK_URL or not url:
            return Page(url=BLANK_URL, title="")
        site = self.site_of(url)
        if site is None:
            return Page(url=url, title="This site can't be reached", body=[], status=502)
        rest = url[len(site.base_url):]
        parts = urlsplit(rest)
        query = parse_qs(parts.query, keep_blank_values=False)
        try:
            return site.page(parts.path, query)
        except (ValueError, KeyError, IndexError):
            # Malformed ids in a hand-typed URL: the real sites answer 404, so do we.
            return not_found(url)
