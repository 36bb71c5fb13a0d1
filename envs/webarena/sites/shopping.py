"""Shopping: a small One Stop Market (Magento storefront): catalog, search, products, cart, orders."""

from __future__ import annotations

import random
from collections.abc import Mapping
from typing import Any

from ..tree import Node, Page
from .base import Site, button, first, heading, link, row, search_url, set_dom, slug, table, text, textbox

CATEGORIES = {
    "Beauty & Personal Care": ["Shampoo", "Face Serum", "Lip Balm", "Hand Cream", "Nail Polish", "Body Lotion"],
    "Electronics": ["Bluetooth Headphones", "USB-C Charger", "Wireless Mouse", "HDMI Cable", "Power Bank",
                    "Smart Watch Band"],
    "Grocery & Gourmet Food": ["Gingerbread Cookie Mix", "Green Tea", "Dark Chocolate Bar", "Trail Mix",
                               "Maple Syrup", "Coffee Beans"],
    "Home & Kitchen": ["Cutting Board", "Chef Knife", "Coffee Mug", "Bath Towel", "Storage Basket",
                       "Table Lamp"],
    "Sports & Outdoors": ["Yoga Mat", "Water Bottle", "Resistance Band", "Camping Lantern", "Jump Rope",
                          "Running Socks"],
}
BRANDS = ["Amazon Basics", "Ninja", "EYZUTAK", "Sony", "Lodge", "Anker", "Burt's", "Gaiam", "Hydro Flask", "Olay",
          "Nestle", "Twinings", "Coleman", "Mueller"]
ADJECTIVES = ["Organic", "Premium", "Compact", "Classic", "Deluxe", "Ultra", "Eco", "Pro", "Mini", "Large"]
REVIEWERS = ["Jane", "Omar", "Lucia", "Ken", "Priya", "Sam", "Grace", "Tom", "Aisha", "Leo"]
REVIEW_GOOD = ["Works great, exactly as described.", "Excellent quality for the price.", "Would buy again."]
REVIEW_BAD = ["Broke after two weeks.", "Poor quality, not worth the money.", "Smaller than expected."]
STATUSES = ["Complete", "Complete", "Complete", "Canceled", "Pending", "Processing"]
CUSTOMER = {"name": "Emma Lopez", "email": "emma.lopez@gmail.com"}
PER_PAGE = 8
TODAY = "6/12/23"


def generate_content(seed: int = 0) -> dict[str, Any]:
    """Generates the store's catalog, reviews and the customer's order history from a seed."""
    rng = random.Random(f"shopping-{seed}")
    products: list[dict[str, Any]] = []
    names: set[str] = set()
    for cat, kinds in CATEGORIES.items():
        for kind in kinds:
            for _ in range(rng.randint(2, 3)):
                name = f"{rng.choice(BRANDS)} {rng.choice(ADJECTIVES)} {kind}"
                if name in names:
                    continue
                names.add(name)
                n_rev = rng.randint(0, 4)
                reviews = []
                for _ in range(n_rev):
                    stars = rng.randint(1, 5)
                    reviews.append({"author": rng.choice(REVIEWERS), "rating": stars * 20,
                                    "text": rng.choice(REVIEW_GOOD if stars >= 3 else REVIEW_BAD)})
                rating = round(sum(r["rating"] for r in reviews) / n_rev) if reviews else 0
                products.append({
                    "sku": f"B0{rng.randrange(10**8):08d}", "name": name, "category": cat,
                    "price": round(rng.uniform(3, 120), 2), "rating": rating, "reviews": reviews,
                })
    orders = []
    for i in range(rng.randint(8, 12)):
        items = rng.sample(products, rng.randint(1, 3))
        lines = [{"sku": p["sku"], "name": p["name"], "price": p["price"], "qty": rng.randint(1, 2)} for p in items]
        month, day = 1 + i, rng.randint(1, 28)
        orders.append({
            "id": 150 + i, "number": f"000000{150 + i}", "date": f"{month}/{day}/23",
            "status": rng.choice(STATUSES), "items": lines, "shipping": 5.0 * len(lines),
            "total": round(sum(x["price"] * x["qty"] for x in lines) + 5.0 * len(lines), 2),
        })
    return {"products": products, "orders": orders, "cart": [], "wishlist": [], "customer": dict(CUSTOMER)}


def money(x: float) -> str:
    """Formats a price like Magento."""
    return f"${x:,.2f}"


class ShoppingSite(Site):
    """The customer-facing store (upstream ``__SHOPPING__``)."""

    name = "shopping"
    placeholder = "__SHOPPING__"
    default_url = "http://shopping.local"
    routes = (
        (r"/", "home"),
        (r"/catalogsearch/result/?", "search"),
        (r"/([a-z0-9-]+)\.html", "product_or_category"),
        (r"/checkout/cart/?", "cart"),
        (r"/checkout/?", "checkout"),
        (r"/checkout/onepage/success/?", "success"),
        (r"/wishlist/?", "wishlist"),
        (r"/customer/account/?", "account"),
        (r"/sales/order/history/?", "order_history"),
        (r"/sales/order/view/order_id/(\d+)/?", "order_view"),
    )

    # ----- state helpers ------------------------------------------------------------------------
    def product_url(self, p: Mapping[str, Any]) -> str:
        """URL of a product page."""
        return self.url(f"/{slug(p['name'])}.html")

    def category_url(self, cat: str) -> str:
        """URL of a category page."""
        return self.url(f"/{slug(cat)}.html")

    def product_by_slug(self, s: str) -> dict[str, Any] | None:
        """The product whose page slug is ``s``."""
        return next((p for p in self.state["products"] if slug(p["name"]) == s), None)

    def latest_order_url(self) -> str:
        """URL of the most recent order (upstream helper ``shopping_get_latest_order_url``)."""
        latest = max(self.state["orders"], key=lambda o: o["id"])
        return self.url(f"/sales/order/view/order_id/{latest['id']}/")

    # ----- chrome -------------------------------------------------------------------------------
    def _page(self, url: str, title: str, *body: Node) -> Page:
        n_cart = sum(x["qty"] for x in self.state["cart"])
        header = [
            link("My Account", self.url("/customer/account/")),
            link("My Wish List", self.url("/wishlist/")),
            link(f"My Cart {n_cart} items" if n_cart else "My Cart", self.url("/checkout/cart/")),
            link("One Stop Market", self.url("/")),
            textbox("Search", "q", submit=lambda v: search_url(self.base_url, "/catalogsearch/result/",
                                                                v.get("q", "")), role="searchbox"),
            button("Search", lambda v: search_url(self.base_url, "/catalogsearch/result/", v.get("q", ""))),
        ]
        return Page(url=url, title=title, body=header + list(body))

    def _listing(self, products: list[dict[str, Any]], page_no: int, base: str) -> list[Node]:
        start = (page_no - 1) * PER_PAGE
        shown = products[start:start + PER_PAGE]
        if not products:
            return [text("Your search returned no results.")]
        nodes: list[Node] = [text(f"Items {start + 1}-{start + len(shown)} of {len(products)}")]
        for p in shown:
            nodes.append(link(p["name"], self.product_url(p)))
            nodes.append(text(money(p["price"])))
        if start + PER_PAGE < len(products):
            sep = "&" if "?" in base else "?"
            nodes.append(link("Page Next", f"{base}{sep}p={page_no + 1}"))
        return nodes

    # ----- pages --------------------------------------------------------------------------------
    def home(self, query: Mapping[str, list[str]]) -> Page:
        cats = [link(c, self.category_url(c)) for c in CATEGORIES]
        featured = sorted(self.state["products"], key=lambda p: -p["rating"])[:4]
        show = [heading("Product Showcases")]
        for p in featured:
            show += [link(p["name"], self.product_url(p)), text(money(p["price"]))]
        return self._page(self.url("/"), "One Stop Market", Node("menu", "Categories").add(*cats), *show)

    def search(self, query: Mapping[str, list[str]]) -> Page:
        q = first(query, "q").strip()
        order = first(query, "product_list_order", "relevance")
        page_no = max(1, int(first(query, "p", "1")) if first(query, "p", "1").isdigit() else 1)
        toks = [t for t in q.lower().split() if t]
        scored = []
        for p in self.state["products"]:
            hits = sum(t in p["name"].lower() for t in toks)
            if hits:
                scored.append((-hits, p["name"], p))
        found = [p for *_, p in sorted(scored, key=lambda x: (x[0], x[1]))]
        if order == "price":
            found.sort(key=lambda p: p["price"])
        base = search_url(self.base_url, "/catalogsearch/result/", q)
        if order != "relevance":
            base += f"&product_list_order={order}"
        title = f"Search results for: '{q}'"
        page = self._page(self.url("/catalogsearch/result/", q=q, product_list_order=order if order != "relevance"
                                   else None, p=page_no if page_no > 1 else None),
                          title, heading(title),
                          link("Sort By Price", base.split("&product_list_order")[0] + "&product_list_order=price"),
                          *self._listing(found, page_no, base))
        page.values["q"] = q
        return page

    def product_or_category(self, query: Mapping[str, list[str]], s: str) -> Page | None:
        p = self.product_by_slug(s)
        if p is not None:
            return self.product(p)
        cat = next((c for c in CATEGORIES if slug(c) == s), None)
        if cat is None:
            return None
        order = first(query, "product_list_order", "position")
        page_no = int(first(query, "p", "1")) if first(query, "p", "1").isdigit() else 1
        prods = [p for p in self.state["products"] if p["category"] == cat]
        if order == "price":
            prods.sort(key=lambda p: p["price"])
        base = self.category_url(cat) + ("?product_list_order=price" if order == "price" else "")
        url = self.url(f"/{s}.html", product_list_order=order if order != "position" else None,
                       p=page_no if page_no > 1 else None)
        return self._page(url, cat, heading(cat), link("Sort By Price", self.category_url(cat)
                                                         + "?product_list_order=price"),
                          *self._listing(prods, max(1, page_no), base))

    def product(self, p: dict[str, Any]) -> Page:
        url = self.product_url(p)

        def add_to_cart(v: dict[str, str]) -> None:
            qty = int(v.get("qty", "1")) if v.get("qty", "1").strip().isdigit() else 1
            for item in self.state["cart"]:
                if item["sku"] == p["sku"]:
                    item["qty"] += max(qty, 1)
                    break
            else:
                self.state["cart"].append({"sku": p["sku"], "name": p["name"], "price": p["price"],
                                           "qty": max(qty, 1)})

        def add_to_wishlist(v: dict[str, str]) -> str:
            if p["sku"] not in self.state["wishlist"]:
                self.state["wishlist"].append(p["sku"])
            return self.url("/wishlist/")

        n = len(p["reviews"])
        body: list[Node] = [
            heading(p["name"]),
            text(f"Rating: {p['rating']}%") if n else text("Be the first to review this product"),
            text(f"{n} Reviews") if n else text(""),
            text(money(p["price"])), text("In stock"), text(f"SKU {p['sku']}"),
            textbox("Qty", "qty", role="spinbutton"),
            button("Add to Cart", add_to_cart, describe=f"the 'Add to Cart' button of {p['name']!r}"),
            link("Add to Wish List", url, describe=f"the 'Add to Wish List' link of {p['name']!r}"),
            link(p["category"], self.category_url(p["category"])),
        ]
        body[-2].on_click = add_to_wishlist
        if n:
            body.append(heading("Customer Reviews"))
            for r in p["reviews"][:3]:
                body.append(Node("article", f"Review by {r['author']}").add(text(f"Rating {r['rating']}%"),
                                                                             text(r["text"])))
        page = self._page(url, p["name"], *[b for b in body if b.name or b.role != "StaticText"])
        page.values.setdefault("qty", "1")
        set_dom(page, "document.querySelector('.product-info-main').outerText",
                f"{p['name']} {money(p['price'])} SKU {p['sku']}")
        return page

    def cart(self, query: Mapping[str, list[str]]) -> Page:
        cart = self.state["cart"]
        if not cart:
            body = [heading("Shopping Cart"), text("You have no items in your shopping cart.")]
        else:
            rows = []
            for item in cart:
                def remove(v: dict[str, str], sku: str = item["sku"]) -> None:
                    self.state["cart"] = [x for x in self.state["cart"] if x["sku"] != sku]
                rows.append(row([item["name"], money(item["price"]), f"Qty {item['qty']}"],
                                button("Remove item", remove, describe=f"'Remove item' for {item['name']!r}")))
            total = sum(x["price"] * x["qty"] for x in cart)
            body = [heading("Shopping Cart"), table(["Item", "Price", "Qty"], rows),
                    text(f"Order Total {money(total)}"),
                    button("Proceed to Checkout", lambda v: self.url("/checkout/"))]
        page = self._page(self.url("/checkout/cart/"), "Shopping Cart", *body)
        set_dom(page, "document.querySelector('.cart.table-wrapper').outerText",
                " ".join(f"{x['name']} {x['qty']}" for x in cart))
        return page

    def checkout(self, query: Mapping[str, list[str]]) -> Page:
        cart = self.state["cart"]

        def place_order(v: dict[str, str]) -> str | None:
            if not self.state["cart"]:
                return None
            oid = max(o["id"] for o in self.state["orders"]) + 1 if self.state["orders"] else 150
            lines = [dict(x) for x in self.state["cart"]]
            self.state["orders"].append({
                "id": oid, "number": f"000000{oid}", "date": TODAY, "status": "Pending", "items": lines,
                "shipping": 5.0 * len(lines),
                "total": round(sum(x["price"] * x["qty"] for x in lines) + 5.0 * len(lines), 2),
            })
            self.state["cart"] = []
            return self.url("/checkout/onepage/success/")

        body: list[Node] = [heading("Checkout"), text(f"Ship to {self.state['customer']['name']}")]
        for x in cart:
            body.append(text(f"{x['name']} x{x['qty']} {money(x['price'] * x['qty'])}"))
        body.append(button("Place Order", place_order) if cart else text("Your cart is empty."))
        return self._page(self.url("/checkout/"), "Checkout", *body)

    def success(self, query: Mapping[str, list[str]]) -> Page:
        latest = max(self.state["orders"], key=lambda o: o["id"])
        return self._page(self.url("/checkout/onepage/success/"), "Success Page",
                          heading("Thank you for your purchase!"),
                          text("Your order number is:"),
                          link(latest["number"], self.url(f"/sales/order/view/order_id/{latest['id']}/")))

    def wishlist(self, query: Mapping[str, list[str]]) -> Page:
        items = [p for sku in self.state["wishlist"] for p in self.state["products"] if p["sku"] == sku]
        body: list[Node] = [heading("My Wish List")]
        body += [link(p["name"], self.product_url(p)) for p in items] or [text("You have no items in your wish list.")]
        page = self._page(self.url("/wishlist/"), "My Wish List", *body)
        set_dom(page, "document.querySelector('.products-grid.wishlist').outerText",
                "\n".join(p["name"] for p in items))
        return page

    def account(self, query: Mapping[str, list[str]]) -> Page:
        c = self.state["customer"]
        return self._page(self.url("/customer/account/"), "My Account", heading("My Account"),
                          text(f"Contact Information {c['name']} {c['email']}"),
                          link("My Orders", self.url("/sales/order/history/")),
                          link("My Wish List", self.url("/wishlist/")))

    def order_history(self, query: Mapping[str, list[str]]) -> Page:
        orders = sorted(self.state["orders"], key=lambda o: -o["id"])
        rows = [row([o["number"], o["date"], money(o["total"]), o["status"]],
                    link("View Order", self.url(f"/sales/order/view/order_id/{o['id']}/"),
                         describe=f"'View Order' of order #{o['number']}"))
                for o in orders]
        return self._page(self.url("/sales/order/history/"), "My Orders", heading("My Orders"),
                          table(["Order #", "Date", "Order Total", "Status"], rows))

    def order_view(self, query: Mapping[str, list[str]], oid: str) -> Page | None:
        o = next((o for o in self.state["orders"] if o["id"] == int(oid)), None)
        if o is None:
            return None
        rows = [row([x["name"], money(x["price"]), f"Ordered: {x['qty']}", money(x["price"] * x["qty"])])
                for x in o["items"]]
        page = self._page(self.url(f"/sales/order/view/order_id/{o['id']}/"), f"Order # {o['number']}",
                          heading(f"Order # {o['number']}"), text(o["status"]), text(f"Order Date: {o['date']}"),
                          table(["Product Name", "Price", "Qty", "Subtotal"], rows),
                          text(f"Shipping & Handling {money(o['shipping'])}"),
                          text(f"Grand Total {money(o['total'])}"))
        set_dom(page, 'document.querySelector(".order-details-items.ordered").outerText',
                "\n".join(f"{x['name']} {money(x['price'])} Ordered: {x['qty']}" for x in o["items"]))
        return page
