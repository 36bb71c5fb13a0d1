"""Task templates over the shopping admin (after upstream templates 279, 242, 742, 257, 364, 255)."""

from __future__ import annotations

import random

from ..sites import World
from .spec import TaskSpec, clear, click, html_eval, stop, string_eval, target, type_, url_eval

A = "__SHOPPING_ADMIN__"
ORDINAL = {1: "1", 2: "2", 3: "3"}


def generate(world: World, rng: random.Random, per_template: int) -> list[TaskSpec]:
    """Instantiates every shopping-admin template ``per_template`` times (fewer when entities run out)."""
    site = world.site("shopping_admin")
    st = site.state
    out: list[TaskSpec] = []

    def pick(items: list, n: int = per_template) -> list:
        return rng.sample(items, min(n, len(items)))

    best = [(year, n) for year in sorted(st["bestsellers"]) for n in (1, 2, 3)]
    for year, n in pick(best):
        name = st["bestsellers"][year][n - 1]["name"]
        out.append(TaskSpec("shopping_admin", "top_bestseller", 279, "What is the top-{{n}} best-selling product in "
                            "{{year}}", {"n": n, "year": int(year)}, A, string_eval(exact_match=name),
                            [click("Bestsellers"), click(year), stop(name)]))
    products = st["products"]

    def open_product(p: dict) -> list:
        return [click("Products"), type_("Search by keyword", p["name"], enter=True, role="searchbox"),
                click("Edit")]

    for p in pick(products):
        out.append(TaskSpec("shopping_admin", "disable_product", 242, "Disable {{product}} from the site, they are "
                            "facing some quality issues.", {"product": p["name"]}, A,
                            html_eval(target(f"{A}/catalog/product/edit/id/{p['id']}/",
                                             "document.querySelector('[name=\"product[status]\"').value", exact="2")),
                            [*open_product(p), click("No", role="option"), click("Save", role="button"), stop()]))
    for p in pick(products):
        delta = rng.choice([5, 10, 15])
        action = rng.choice(["Increase", "Reduce"])
        new = round(p["price"] + (delta if action == "Increase" else -delta), 2)
        out.append(TaskSpec("shopping_admin", "change_price", 742, "{{action}} the price of {{config}} by {{amount}}",
                            {"action": action, "config": p["name"], "amount": f"${delta}"}, A,
                            html_eval(target(f"{A}/catalog/product/edit/id/{p['id']}/",
                                             "document.querySelector('[name=\"product[price]\"').value",
                                             exact=f"{new:.2f}")),
                            [*open_product(p), clear("Price"), type_("Price", f"{new:.2f}"),
                             click("Save", role="button"), stop()]))
    cancellable = [o for o in st["orders"] if o["status"] in ("pending", "processing", "on hold")]
    for o in pick(cancellable):
        out.append(TaskSpec("shopping_admin", "cancel_order", 257, "Cancel order {{id}}", {"id": o["id"]}, A,
                            html_eval(target(f"{A}/sales/order/view/order_id/{o['id']}/",
                                             'document.querySelector("#order_status").outerText', exact="Canceled")),
                            [click("Orders"), type_("Search by keyword", o["number"], enter=True, role="searchbox"),
                             click("View"), click("Cancel", role="button"), stop()]))
    for c in pick(st["customers"]):
        out.append(TaskSpec("shopping_admin", "customer_by_phone", 364, "Find the customer name and email with phone "
                            "number {{PhoneNum}}", {"PhoneNum": c["phone"]}, A,
                            string_eval(must_include=[c["name"], c["email"]]),
                            [click("All Customers"), type_("Search by keyword", c["phone"], enter=True,
                                                           role="searchbox"),
                             stop(f"{c['name']}, {c['email']}")]))
    out.append(TaskSpec("shopping_admin", "show_customers", 255, "Show all customers", {}, A,
                        url_eval(f"{A}/customer/index/"), [click("All Customers"), stop()]))
    return out
