"""The shop's data model: products as the engine sees them, purchase goals, and the catalog.

Products follow upstream's processed form (``Title``, ``Description``, ``BulletPoints``, ``options``,
``Attributes``...) but as frozen dataclasses; :mod:`.loader` builds them from upstream's raw files.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

#: Price used by upstream when a product has no pricing.
DEFAULT_PRICE = 100.0
#: Upstream's ``price_upper`` when no price bound is given.
NO_PRICE_BOUND = 1_000_000.0


@dataclass(frozen=True)
class Review:
    """One customer review (shown on the ``Reviews`` sub-page)."""

    title: str
    score: int
    body: str


@dataclass(frozen=True)
class Product:
    """A product as the engine renders and scores it.

    Attributes:
        asin: Upstream's 10-character id (upper case), e.g. ``"B09C337K8S"``.
        name: The product title (upstream's ``name`` / ``Title``).
        category: Broad category (``"beauty"``, ``"grocery"``...).
        query: The narrow search query the product was scraped under (lower case).
        product_category: Breadcrumb ``"a › b › c"``.
        description: Full description (``Description``).
        bullet_points: Feature bullets (``BulletPoints``).
        pricing: One price or a ``(low, high)`` range.
        price_tag: The price as shown, e.g. ``"$19.99"`` or ``"$12.5 to $15.99"``.
        options: Option type -> values, both lower case, ``/`` in values shown as `` | ``.
        attributes: Upstream's ``Attributes`` (``["DUMMY_ATTR"]`` when unknown).
        rating: Average rating as shown (``"N.A."`` when unknown).
        reviews: Customer reviews.
    """

    asin: str
    name: str
    category: str
    query: str
    product_category: str
    description: str
    bullet_points: tuple[str, ...]
    pricing: tuple[float, ...]
    price_tag: str
    options: Mapping[str, tuple[str, ...]]
    attributes: tuple[str, ...]
    rating: str = "N.A."
    reviews: tuple[Review, ...] = ()

    def option_type_of(self, value: str) -> str | None:
        """Returns the option type a value belongs to (the last one, as upstream's click map does)."""
        found = None
        for name, values in self.options.items():
            if value in values:
                found = name
        return found


@dataclass(frozen=True)
class Goal:
    """A purchase goal (upstream's goal dict).

    Attributes:
        goal_id: Stable id.
        asin: The product the goal was written for.
        instruction_text: What the shopper is told (ends with the price clause when there is one).
        attributes: Goal attributes to match (fuzzy, > 85) against the bought product.
        goal_options: Goal option values to match against the selected options.
        price_upper: Price bound (``1000000`` when the instruction gives none).
        name: Title of the target product (for the title part of the type reward).
        query: Target's query; category: target's category; product_category: target's breadcrumb.
        option_types: The option type of each goal option, when known (synthetic goals).
        weight: Sampling weight (upstream: 1 for human goals, inverse attribute frequency otherwise).
    """

    goal_id: str
    asin: str
    instruction_text: str
    attributes: tuple[str, ...]
    goal_options: tuple[str, ...]
    price_upper: float
    name: str
    query: str
    category: str
    product_category: str
    option_types: tuple[str, ...] = ()
    weight: float = 1.0

    def to_dict(self) -> dict[str, Any]:
        """Returns the goal as a JSON-serialisable dict (the ``meta["goal"]`` of a task)."""
        return {
            "goal_id": self.goal_id, "asin": self.asin, "instruction_text": self.instruction_text,
            "attributes": list(self.attributes), "goal_options": list(self.goal_options),
            "option_types": list(self.option_types), "price_upper": self.price_upper, "name": self.name,
            "query": self.query, "category": self.category, "product_category": self.product_category,
            "weight": self.weight,
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Goal:
        """Builds a goal from :meth:`to_dict` output."""
        return cls(
            goal_id=str(d["goal_id"]), asin=str(d["asin"]), instruction_text=str(d["instruction_text"]),
            attributes=tuple(d["attributes"]), goal_options=tuple(d["goal_options"]),
            price_upper=float(d["price_upper"]), name=str(d["name"]), query=str(d["query"]),
            category=str(d["category"]), product_category=str(d["product_category"]),
            option_types=tuple(d.get("option_types") or ()), weight=float(d.get("weight", 1.0)),
        )


@dataclass
class Catalog:
    """All products, their (fixed) prices and the purchase goals built from them.

    Attributes:
        products: Products in file order (search ties break by this order).
        prices: ASIN -> the price charged (one draw inside a price range, fixed per catalog seed).
        goals: Goals in upstream's shuffled order; splits are index ranges of this list.
        source: Where the catalog came from (for messages).
    """

    products: list[Product]
    prices: dict[str, float]
    goals: list[Goal] = field(default_factory=list)
    source: str = "<memory>"

    def __post_init__(self) -> None:
        self.by_asin: dict[str, Product] = {p.asin: p for p in self.products}

    def __len__(self) -> int:
        return len(self.products)

    def goal_by_id(self, goal_id: str) -> Goal:
        """Returns the goal with this id (``KeyError`` if none)."""
        if not hasattr(self, "_goal_index"):
            self._goal_index = {g.goal_id: g for g in self.goals}
        return self._goal_index[goal_id]


def fixed_prices(products: Sequence[Product], seed: int = 0) -> dict[str, float]:
    """Draws each product's price once, as upstream does, but reproducibly.

    Upstream draws ``random.uniform(low, high)`` from the global, unseeded generator; here each
    product's draw comes from a generator seeded by ``(seed, asin)``, so it does not depend on order.
    """
    prices: dict[str, float] = {}
    for p in products:
        if not p.pricing:
            prices[p.asin] = DEFAULT_PRICE
        elif len(p.pricing) == 1:
            prices[p.asin] = p.pricing[0]
        else:
            prices[p.asin] = random.Random(f"{seed}:{p.asin}").uniform(p.pricing[0], p.pricing[1])
    return prices
