"""Task templates over the shopping site (after upstream templates 1355, 159, 212, 211, 186, 172, 214, 213, 169)."""

from __future__ import annotations

import random

from ..sites import World
from ..sites.base import slug
from ..sites.shopping import CATEGORIES, money
from .spec import TaskSpec, click, html_eval, stop, string_eval, target, type_, url_eval

S = "__SHOPPING__"


def _find(name: str) -> list:
    return [type_("Search", name, enter=True, role="searchbox"), click(name)]


def generate(world: World, rng: random.Random, per_template: int) -> list[TaskSpec]:
    """Instantiates every shopping template ``per_template`` times (fewer when entities run out)."""
    site = world.site("shopping")
    products = site.state["products"]
    orders = site.state["orders"]
    out: list[TaskSpec] = []

    def pick(items: list, n: int = per_template) -> list:
        return rng.sample(items, min(n, len(items)))

    for p in pick([p for p in products if p["reviews"]]):
        out.append(TaskSpec("shopping", "product_rating", 1355, "What is the rating of {{product}}",
                            {"product": p["name"]}, S, string_eval(must_include=[f"{p['rating']}%"]),
                            [*_find(p["name"]), stop(f"{p['rating']}%")]))
    for p in pick(products):
        out.append(TaskSpec("shopping", "product_price", 159, "What is the price of {{product}} in the One Stop Market?",
                            {"product": p["name"]}, S, string_eval(must_include=[money(p["price"])]),
                            [*_find(p["name"]), stop(money(p["price"]))]))
    kinds = sorted({k for ks in CATEGORIES.values() for k in ks})
    for kw in pick(kinds):
        kw = kw.lower()
        out.append(TaskSpec("shopping", "search", 212, 'Search for "{{keyword}}"', {"keyword": kw}, S,
                            url_eval(f"{S}/catalogsearch/result/?q={kw.replace(' ', '+')}"),
                            [type_("Search", kw, enter=True, role="searchbox"), stop()]))
    for cat in pick(sorted(CATEGORIES)):
        out.append(TaskSpec("shopping", "browse_category", 211, "I want to browse the products in the {{category}} "
                            "category", {"category": cat}, S, url_eval(f"{S}/{slug(cat)}.html"),
                            [click(cat), stop()]))
    for p in pick(products):
        out.append(TaskSpec("shopping", "add_to_wishlist", 186, "Add {{product}} to my wish list",
                            {"product": p["name"]}, S,
                            html_eval(target(f"{S}/wishlist/", "document.querySelector('.products-grid.wishlist')"
                                                              ".outerText", include=[p["name"]])),
                            [*_find(p["name"]), click("Add to Wish List"), stop()]))
    by_cat: dict[str, list] = {}
    for p in products:
        by_cat.setdefault(p["category"], []).append(p)
    buys = []
    for cat, ps in sorted(by_cat.items()):
        for budget in (30, 60, 100):
            within = [p for p in ps if p["price"] <= budget]
            if within:
                best = max(within, key=lambda p: (p["rating"], -p["price"]))
                if sum(p["rating"] == best["rating"] for p in within) == 1:
                    buys.append((cat, budget, best))
    for cat, budget, p in pick(buys):
        out.append(TaskSpec("shopping", "buy_best_rated", 172, "Buy the highest rated product from the "
                            "{{product_category}} category within a budget {{dollar_value}}.",
                            {"product_category": cat, "dollar_value": f"under {budget}"}, S,
                            html_eval(target("func:shopping_get_latest_order_url()",
                                             'document.querySelector(".order-details-items.ordered").outerText',
                                             include=[p["name"]])),
                            [*_find(p["name"]), click("Add to Cart", role="button"),
                             click("My Cart", prefix=True), click("Proceed to Checkout", role="button"),
                             click("Place Order", role="button"), stop()]))
    account = [click("My Account"), click("My Orders")]
    statuses = sorted({o["status"] for o in orders})
    for status in statuses:
        latest = max((o for o in orders if o["status"] == status), key=lambda o: o["id"])
        out.append(TaskSpec("shopping", "latest_order_total", 214, "Tell me the total cost of my latest {{status}} "
                            "order?", {"status": status.lower()}, S, string_eval(must_include=[money(latest["total"])]),
                            [*account, stop(money(latest["total"]))]))
        out.append(TaskSpec("shopping", "latest_order_number", 213, "Get the order number of my most recent "
                            "{{status}} order", {"status": status.lower()}, S,
                            string_eval(must_include=[latest["number"].lstrip("0")]),
                            [*account, stop(latest["number"])]))
    last_date: dict[str, str] = {}
    for o in sorted(orders, key=lambda o: o["id"]):
        for x in o["items"]:
            last_date[x["name"]] = o["date"]
    for name in pick(sorted(last_date)):
        out.append(TaskSpec("shopping", "last_ordered", 169, "Tell me when I last ordered my {{description}}?",
                            {"description": name}, S, string_eval(fuzzy_match=[last_date[name]]),
                            [*account, stop(last_date[name])]))
    return out
