"""Reads upstream WebShop's data files into a :class:`~.catalog.Catalog`.

Upstream's files (the Google-Drive dump) and the catalog shipped here share one format:

* ``items_shuffle*.json``: a list of raw products (``asin``, ``name``, ``full_description``,
  ``small_description``, ``pricing`` such as ``"$12.50 - $15.99"``, ``customization_options``
  ``{type: [{"value", "image"}]}``, ``category``, ``query``, ``product_category``, ``images``...);
* ``items_ins_v2*.json``: ``{asin: {"attributes": [...], "instruction": ..., "instruction_attributes": [...]}}``;
* ``items_human_ins.json``: ``{asin: [{"instruction", "instruction_attributes", "instruction_options"}]}``;
* ``reviews.json`` (optional): ``[{"asin", "reviews": [{"title", "stars", "review"}], "average_rating"}]``.

Any of them may be gzip-compressed (``.gz``). A malformed record raises
:class:`~dreamgym_env.error.DataFormatError` naming the file, the record and the field.
"""

from __future__ import annotations

import gzip
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from dreamgym_env.error import DataFormatError

from .catalog import DEFAULT_PRICE, Catalog, Product, Review, fixed_prices
from .goals import human_goals, synthetic_goals

#: Where the catalog shipped with the package lives.
SHIPPED_DIR = Path(__file__).parent / "data" / "catalog"


@dataclass(frozen=True)
class CatalogFiles:
    """The upstream-format files of one catalog.

    Attributes:
        products: ``items_shuffle*.json`` (required).
        attributes: ``items_ins_v2*.json`` (product attributes; synthetic instructions).
        human_instructions: ``items_human_ins.json``.
        reviews: ``reviews.json``.
    """

    products: Path
    attributes: Path | None = None
    human_instructions: Path | None = None
    reviews: Path | None = None

    @classmethod
    def in_directory(cls, directory: str | Path) -> CatalogFiles:
        """Finds the files in a folder by upstream's names (``.json`` or ``.json.gz``)."""
        d = Path(directory)

        def pick(*patterns: str) -> Path | None:
            for pat in patterns:
                hits = sorted(d.glob(pat))
                if hits:
                    return hits[0]
            return None

        products = pick("items_shuffle*.json", "items_shuffle*.json.gz")
        if products is None:
            raise FileNotFoundError(
                f"No items_shuffle*.json(.gz) in {d}. Point `catalog_dir` at a folder holding upstream "
                "WebShop's data files (items_shuffle*.json, items_ins_v2*.json, items_human_ins.json)."
            )
        return cls(
            products=products,
            attributes=pick("items_ins_v2*.json", "items_ins_v2*.json.gz"),
            human_instructions=pick("items_human_ins*.json", "items_human_ins*.json.gz"),
            reviews=pick("reviews*.json", "reviews*.json.gz"),
        )


def read_json(path: str | Path) -> Any:
    """Reads a ``.json`` or ``.json.gz`` file, naming the file in any decoding error."""
    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rt", encoding="utf-8") as f:
            return json.load(f)
    except (json.JSONDecodeError, UnicodeDecodeError, EOFError, gzip.BadGzipFile) as e:
        raise DataFormatError(str(path), None, "<json>", f"not valid JSON: {e}") from e


def parse_pricing(raw: Any, source: str, asin: str) -> tuple[tuple[float, ...], str]:
    """Parses upstream's pricing string into ``(prices, price_tag)`` exactly as upstream does."""
    if raw is None or not raw:
        return (DEFAULT_PRICE,), f"${DEFAULT_PRICE}"
    if not isinstance(raw, str):
        raise DataFormatError(source, asin, "pricing", f"expected a string like '$12.99', got {raw!r}")
    try:
        prices = [float(Decimal(re.sub(r"[^\d.]", "", part))) for part in raw.split("$")[1:]]
    except InvalidOperation as e:
        raise DataFormatError(source, asin, "pricing", f"cannot read a price in {raw!r}") from e
    if not prices:
        raise DataFormatError(source, asin, "pricing", f"no '$' price in {raw!r}")
    if len(prices) == 1:
        return (prices[0],), f"${prices[0]}"
    return (prices[0], prices[1]), f"${prices[0]} to ${prices[1]}"


def parse_options(raw: Any, source: str, asin: str) -> dict[str, tuple[str, ...]]:
    """Parses ``customization_options`` into ``{type: values}``, lower case, ``/`` shown as `` | ``."""
    if not raw:
        return {}
    if not isinstance(raw, Mapping):
        raise DataFormatError(source, asin, "customization_options", "expected an object {type: [{value}]}")
    out: dict[str, tuple[str, ...]] = {}
    for name, contents in raw.items():
        if contents is None:
            continue
        if not isinstance(contents, Sequence) or isinstance(contents, str):
            raise DataFormatError(source, asin, f"customization_options.{name}", "expected a list")
        values = []
        for c in contents:
            if not isinstance(c, Mapping) or not isinstance(c.get("value"), str):
                raise DataFormatError(source, asin, f"customization_options.{name}",
                                      f"each entry needs a string 'value', got {c!r}")
            values.append(c["value"].strip().replace("/", " | ").lower())
        out[str(name).lower()] = tuple(values)
    return out


_REQUIRED = ("asin", "name", "category", "query", "product_category")


def parse_product(raw: Any, source: str, index: int, attributes: Mapping[str, Any],
                  reviews: Mapping[str, Mapping[str, Any]]) -> Product | None:
    """Turns one raw product into a :class:`Product` (``None`` for upstream's skipped asins)."""
    if not isinstance(raw, Mapping):
        raise DataFormatError(source, f"#{index}", "<record>", f"expected an object, got {type(raw).__name__}")
    asin = raw.get("asin")
    if not isinstance(asin, str):
        raise DataFormatError(source, f"#{index}", "asin", "missing or not a string")
    if asin == "nan" or len(asin) > 10:  # upstream drops these
        return None
    for name in _REQUIRED:
        if not isinstance(raw.get(name), str):
            raise DataFormatError(source, asin, name, "missing or not a string")
    small = raw.get("small_description")
    bullets = small if isinstance(small, list) else [small if small is not None else ""]
    if not all(isinstance(b, str) for b in bullets):
        raise DataFormatError(source, asin, "small_description", "expected a string or a list of strings")
    desc = raw.get("full_description")
    if desc is None:
        desc = ""
    if not isinstance(desc, str):
        raise DataFormatError(source, asin, "full_description", "expected a string")
    pricing, tag = parse_pricing(raw.get("pricing"), source, asin)
    attrs = attributes.get(asin, {}).get("attributes") if isinstance(attributes.get(asin), Mapping) else None
    rev = reviews.get(asin) or {}
    rating = rev.get("average_rating", "N.A.") if rev else "N.A."
    return Product(
        asin=asin, name=raw["name"], category=raw["category"], query=raw["query"].lower().strip(),
        product_category=raw["product_category"], description=desc, bullet_points=tuple(bullets),
        pricing=pricing, price_tag=tag, options=parse_options(raw.get("customization_options"), source, asin),
        attributes=tuple(attrs) if attrs else ("DUMMY_ATTR",), rating=str(rating),
        reviews=tuple(_parse_reviews(rev.get("reviews") or [], source, asin)),
    )


def _parse_reviews(raw: Sequence[Any], source: str, asin: str) -> list[Review]:
    out = []
    for r in raw:
        if not isinstance(r, Mapping):
            raise DataFormatError(source, asin, "reviews", "each review must be an object")
        score = r.get("score", r.get("stars", 0))
        try:
            score = int(float(score))
        except (TypeError, ValueError) as e:
            raise DataFormatError(source, asin, "reviews.stars", f"not a number: {score!r}") from e
        out.append(Review(title=str(r.get("title", "")), score=score, body=str(r.get("review", r.get("body", "")))))
    return out


def load_catalog(files: CatalogFiles, num_products: int | None = None, human_goals_mode: bool = True,
                 seed: int = 0) -> Catalog:
    """Loads products, prices and goals from upstream-format files.

    Args:
        files: The files to read.
        num_products: Keep only the first N products (upstream's ``num_products``; files are pre-shuffled).
        human_goals_mode: Build goals from human instructions (upstream's default) or synthetic ones.
        seed: Seed of the price draws inside ranges and of the goals' price bounds.
    """
    src = str(files.products)
    raw_products = read_json(files.products)
    if not isinstance(raw_products, list):
        raise DataFormatError(src, None, "<root>", "expected a JSON list of products")
    attributes = _read_mapping(files.attributes)
    human = _read_mapping(files.human_instructions)
    reviews: dict[str, Mapping[str, Any]] = {}
    if files.reviews is not None:
        rv = read_json(files.reviews)
        if not isinstance(rv, list):
            raise DataFormatError(str(files.reviews), None, "<root>", "expected a JSON list")
        reviews = {r["asin"]: r for r in rv if isinstance(r, Mapping) and "asin" in r}
    if num_products is not None:
        raw_products = raw_products[:num_products]
    products: list[Product] = []
    seen: set[str] = set()
    for i, raw in enumerate(raw_products):
        p = parse_product(raw, src, i, attributes, reviews)
        if p is None or p.asin in seen:
            continue
        seen.add(p.asin)
        products.append(p)
    prices = fixed_prices(products, seed)
    if human_goals_mode:
        _check_instructions(human, str(files.human_instructions))
        goals = human_goals(products, human, prices, seed)
    else:
        goals = synthetic_goals(products, attributes, prices, seed)
    return Catalog(products=products, prices=prices, goals=goals, source=src)


def load_shipped_catalog(seed: int = 0) -> Catalog:
    """Loads the generated catalog shipped with the package."""
    return load_catalog(CatalogFiles.in_directory(SHIPPED_DIR), seed=seed)


def _read_mapping(path: Path | None) -> dict[str, Any]:
    if path is None:
        return {}
    data = read_json(path)
    if not isinstance(data, Mapping):
        raise DataFormatError(str(path), None, "<root>", "expected a JSON object keyed by asin")
    return dict(data)


def _check_instructions(human: Mapping[str, Any], source: str) -> None:
    for asin, records in human.items():
        if not isinstance(records, list):
            raise DataFormatError(source, asin, "<record>", "expected a list of instruction objects")
        for r in records:
            if not isinstance(r, Mapping) or not isinstance(r.get("instruction"), str):
                raise DataFormatError(source, asin, "instruction", "missing or not a string")
            if not isinstance(r.get("instruction_attributes", []), list):
                raise DataFormatError(source, asin, "instruction_attributes", "expected a list")
