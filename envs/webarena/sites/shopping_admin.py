"""Shopping admin: a small Magento admin panel (orders, products, customers, bestseller reports)."""

from __future__ import annotations

import random
from collections.abc import Mapping
from typing import Any

from ..tree import Node, Page
from .base import Site, button, combobox, first, heading, link, row, set_dom, table, text, textbox

GARMENTS = ["Tank", "Tee", "Hoodie", "Jacket", "Short", "Pant", "Bra", "Band", "Bag", "Watch"]
NAMES = ["Helios", "Quest", "Atlas", "Orion", "Zephyr", "Juno", "Cassius", "Ida", "Nova", "Sprite", "Aether",
         "Mars", "Erika", "Hera", "Chaz"]
LINES = ["Endurance", "Lumaflex", "Running", "Yoga", "Fitness", "Training", "Crew", "Trail"]
FIRST = ["Sarah", "John", "Grace", "Alex", "Maria", "Lily", "Adam", "Jane", "Bob", "Olivia", "Ravi", "Sophie"]
LAST = ["Miller", "Smith", "Nguyen", "Johnson", "Garcia", "Chen", "Brown", "Lee", "Kim", "Patel"]
ORDER_STATUSES = ["pending", "processing", "complete", "canceled", "on hold"]


def generate_content(seed: int = 0) -> dict[str, Any]:
    """Generates the admin's catalog, customers, orders and bestseller reports from a seed."""
    rng = random.Random(f"shopping_admin-{seed}")
    products, seen = [], set()
    while len(products) < 30:
        name = f"{rng.choice(NAMES)} {rng.choice(LINES)} {rng.choice(GARMENTS)}"
        if name in seen:
            continue
        seen.add(name)
        pid = 600 + len(products) * 7
        products.append({"id": pid, "name": name, "sku": "".join(w[0] for w in name.split()) + f"-{pid}",
                         "price": round(rng.uniform(15, 95), 2), "qty": rng.randint(0, 200), "status": 1})
    customers, used = [], set()
    while len(customers) < 16:
        fn, ln = rng.choice(FIRST), rng.choice(LAST)
        if (fn, ln) in used:
            continue
        used.add((fn, ln))
        customers.append({"id": len(customers) + 1, "name": f"{fn} {ln}",
                          "email": f"{fn.lower()}.{ln.lower()}@example.com",
                          "phone": f"+1 {rng.randint(200, 999)} {rng.randint(200, 999)} {rng.randint(1000, 9999)}"})
    orders = []
    for i in range(24):
        c = rng.choice(customers)
        items = rng.sample(products, rng.randint(1, 2))
        orders.append({"id": 300 + i, "number": f"000000{300 + i}", "customer": c["name"],
                       "date": f"{rng.randint(1, 12)}/{rng.randint(1, 28)}/{rng.choice([2022, 2023])}",
                       "status": rng.choice(ORDER_STATUSES), "items": [p["name"] for p in items],
                       "total": round(sum(p["price"] for p in items) + 5, 2)})
    bestsellers = {}
    for year in (2022, 2023):
        ranked = rng.sample(products, 5)
        qtys = sorted((rng.randint(5, 60) for _ in ranked), reverse=True)
        bestsellers[str(year)] = [{"name": p["name"], "qty": q} for p, q in zip(ranked, qtys)]
    return {"products": products, "customers": customers, "orders": orders, "bestsellers": bestsellers}


def money(x: float) -> str:
    """Formats a price like Magento."""
    return f"${x:,.2f}"


class ShoppingAdminSite(Site):
    """The store's admin panel (upstream ``__SHOPPING_ADMIN__``)."""

    name = "shopping_admin"
    placeholder = "__SHOPPING_ADMIN__"
    default_url = "http://shopping-admin.local/admin"
    routes = (
        (r"/(?:dashboard/?)?", "dashboard"),
        (r"/sales/order/?", "orders"),
        (r"/sales/order/view/order_id/(\d+)/?", "order_view"),
        (r"/catalog/product/?", "products"),
        (r"/catalog/product/edit/id/(\d+)/?", "product_edit"),
        (r"/customer/index/?", "customers"),
        (r"/reports/report_sales/bestsellers/?", "bestsellers"),
    )

    def _page(self, url: str, title: str, *body: Node) -> Page:
        menu = Node("menubar", "").add(
            link("Dashboard", self.url("/dashboard/")),
            link("Orders", self.url("/sales/order/")),
            link("Products", self.url("/catalog/product/")),
            link("All Customers", self.url("/customer/index/")),
            link("Bestsellers", self.url("/reports/report_sales/bestsellers/")),
        )
        return Page(url=url, title=f"{title} / Magento Admin", body=[menu, heading(title), *body])

    def _grid_search(self, path: str, label: str) -> list[Node]:
        go = (lambda v: self.url(path, search=v.get("search", "").strip() or None))
        return [textbox(label, "search", submit=go, role="searchbox"), button("Search", go)]

    def dashboard(self, query: Mapping[str, list[str]]) -> Page:
        n_pending = sum(o["status"] == "pending" for o in self.state["orders"])
        return self._page(self.url("/dashboard/"), "Dashboard", text(f"Lifetime Sales {len(self.state['orders'])}"),
                          text(f"Pending orders {n_pending}"))

    def orders(self, query: Mapping[str, list[str]]) -> Page:
        q = first(query, "search").lower()
        status = first(query, "status")
        rows = []
        for o in sorted(self.state["orders"], key=lambda o: -o["id"]):
            if q and q not in f"{o['number']} {o['customer']}".lower():
                continue
            if status and o["status"] != status:
                continue
            rows.append(row([o["number"], o["date"], o["customer"], money(o["total"]), o["status"].title()],
                            link("View", self.url(f"/sales/order/view/order_id/{o['id']}/"),
                                 describe=f"'View' of order {o['number']}")))
        page = self._page(self.url("/sales/order/", search=q or None, status=status or None), "Orders",
                          *self._grid_search("/sales/order/", "Search by keyword"),
                          text(f"{len(rows)} records found"),
                          table(["ID", "Purchase Date", "Bill-to Name", "Grand Total", "Status"], rows[:12]))
        page.values["search"] = q
        return page

    def order_view(self, query: Mapping[str, list[str]], oid: str) -> Page | None:
        o = next((o for o in self.state["orders"] if o["id"] == int(oid)), None)
        if o is None:
            return None

        def cancel(v: dict[str, str]) -> None:
            if o["status"] in ("pending", "processing", "on hold"):
                o["status"] = "canceled"

        def hold(v: dict[str, str]) -> None:
            if o["status"] in ("pending", "processing"):
                o["status"] = "on hold"

        body: list[Node] = [text(f"Order Status {o['status'].title()}"), text(f"Order Date {o['date']}"),
                            text(f"Customer Name {o['customer']}"),
                            *[text(f"Item {name}") for name in o["items"]],
                            text(f"Grand Total {money(o['total'])}")]
        if o["status"] in ("pending", "processing", "on hold"):
            body.append(button("Cancel", cancel, describe=f"the 'Cancel' button of order {o['number']}"))
        if o["status"] in ("pending", "processing"):
            body.append(button("Hold", hold, describe=f"the 'Hold' button of order {o['number']}"))
        page = self._page(self.url(f"/sales/order/view/order_id/{o['id']}/"), f"#{o['number']}", *body)
        set_dom(page, 'document.querySelector("#order_status").outerText', o["status"].title())
        return page

    def products(self, query: Mapping[str, list[str]]) -> Page:
        q = first(query, "search").lower()
        rows = []
        for p in self.state["products"]:
            if q and q not in f"{p['name']} {p['sku']}".lower():
                continue
            rows.append(row([str(p["id"]), p["name"], p["sku"], money(p["price"]), str(p["qty"]),
                             "Enabled" if p["status"] == 1 else "Disabled"],
                            link("Edit", self.url(f"/catalog/product/edit/id/{p['id']}/"),
                                 describe=f"'Edit' of {p['name']!r}")))
        page = self._page(self.url("/catalog/product/", search=q or None), "Products",
                          *self._grid_search("/catalog/product/", "Search by keyword"),
                          text(f"{len(rows)} records found"),
                          table(["ID", "Name", "SKU", "Price", "Quantity", "Status"], rows[:10]))
        page.values["search"] = q
        return page

    def product_edit(self, query: Mapping[str, list[str]], pid: str) -> Page | None:
        p = next((p for p in self.state["products"] if p["id"] == int(pid)), None)
        if p is None:
            return None
        url = self.url(f"/catalog/product/edit/id/{p['id']}/")
        def save(v: dict[str, str]) -> str:
            try:
                p["price"] = round(float(v.get("price", p["price"]).replace("$", "").replace(",", "")), 2)
            except ValueError:
                pass
            if v.get("qty", "").strip().isdigit():
                p["qty"] = int(v["qty"])
            p["status"] = 1 if v.get("status", "Yes") == "Yes" else 2
            return url

        page = self._page(url, p["name"], text(f"SKU {p['sku']}"),
                          combobox("Enable Product", "status", ["Yes", "No"]),
                          textbox("Price", "price"), textbox("Quantity", "qty"),
                          button("Save", save, describe=f"the 'Save' button of {p['name']!r}"),
                          link("Back", self.url("/catalog/product/")))
        page.values.update({"price": f"{p['price']:.2f}", "qty": str(p["qty"]),
                            "status": "Yes" if p["status"] == 1 else "No"})
        set_dom(page, "document.querySelector('[name=\"product[status]\"').value", str(p["status"]))
        set_dom(page, "document.querySelector('[name=\"product[price]\"').value", f"{p['price']:.2f}")
        set_dom(page, "document.querySelector('[name=\"product[quantity_and_stock_status][qty]\"').value",
                str(p["qty"]))
        return page

    def customers(self, query: Mapping[str, list[str]]) -> Page:
        q = first(query, "search").lower()
        rows = [row([str(c["id"]), c["name"], c["email"], c["phone"]])
                for c in self.state["customers"] if not q or q in f"{c['name']} {c['email']} {c['phone']}".lower()]
        page = self._page(self.url("/customer/index/", search=q or None), "Customers",
                          *self._grid_search("/customer/index/", "Search by keyword"),
                          text(f"{len(rows)} records found"),
                          table(["ID", "Name", "Email", "Phone"], rows[:10]))
        page.values["search"] = q
        return page

    def bestsellers(self, query: Mapping[str, list[str]]) -> Page:
        year = first(query, "year", "2023")
        rows = [row([str(i + 1), b["name"], f"Order Quantity {b['qty']}"])
                for i, b in enumerate(self.state["bestsellers"].get(year, []))]
        years = [link(y, self.url("/reports/report_sales/bestsellers/", year=y)) for y in sorted(self.state["bestsellers"])]
        return self._page(self.url("/reports/report_sales/bestsellers/", year=year), f"Bestsellers Report {year}",
                          Node("group", "Period").add(*years),
                          table(["Rank", "Product", "Order Quantity"], rows))
