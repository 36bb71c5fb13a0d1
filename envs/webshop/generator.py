"""A seeded generator of WebShop products and human-style instructions in upstream's raw schema.

It writes what upstream's Google-Drive dump holds (``items_shuffle.json``, ``items_ins_v2.json``,
``items_human_ins.json``, ``reviews.json``), so the generated catalog goes through the same loader
as the real one. Products of one query share a head noun and an attribute pool but differ in
attributes, options and price, so that buying the right product and options is what scores.
"""

from __future__ import annotations

import random
import string
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from tqdm.auto import tqdm


@dataclass(frozen=True)
class QuerySpec:
    """One kind of product (upstream's ``query``) and the vocabulary to write it."""

    query: str
    nouns: tuple[str, ...]
    breadcrumb: tuple[str, ...]
    attributes: tuple[str, ...]
    options: tuple[tuple[str, tuple[str, ...]], ...]
    price: tuple[float, float]


@dataclass(frozen=True)
class CategorySpec:
    """A broad category (upstream's ``category``) and its queries."""

    name: str
    queries: tuple[QuerySpec, ...]


_COLORS = ("black", "white", "navy blue", "grey", "red", "pink", "beige", "olive green", "burgundy",
           "light blue", "brown", "purple")
_SIZES = ("x-small", "small", "medium", "large", "x-large", "xx-large")
_PACKS = ("pack of 1", "pack of 2", "pack of 3", "pack of 6", "pack of 12")

CATEGORIES: tuple[CategorySpec, ...] = (
    CategorySpec("beauty", (
        QuerySpec("hair extensions", ("clip in hair extensions", "hair extension", "ponytail extension"),
                  ("Beauty & Personal Care", "Hair Care", "Hair Extensions, Wigs & Accessories", "Extensions"),
                  ("natural looking", "heat resistant", "long lasting", "easy to apply", "human hair",
                   "synthetic hair", "tangle free", "double weft"),
                  (("color", ("jet black", "dark brown", "ash blonde", "honey blonde", "auburn", "platinum")),
                   ("size", ("14 inch", "18 inch", "20 inch", "22 inch", "24 inch"))), (9.0, 80.0)),
        QuerySpec("deodorant", ("deodorant", "deodorant stick", "natural deodorant"),
                  ("Beauty & Personal Care", "Personal Care", "Deodorants & Antiperspirants", "Deodorants"),
                  ("aluminum free", "sensitive skin", "long lasting", "paraben free", "cruelty free",
                   "travel size", "baking soda free", "organic ingredients"),
                  (("scent", ("bright citrus", "calming lavender", "fresh cucumber", "unscented", "sandalwood")),
                   ("size", ("2.5 ounce", "3 ounce (pack of 1)", "3 ounce (pack of 2)", "travel set (4-pack)"))),
                  (5.0, 30.0)),
        QuerySpec("lipstick", ("matte lipstick", "liquid lipstick", "lip stain"),
                  ("Beauty & Personal Care", "Makeup", "Lips", "Lipstick"),
                  ("long lasting", "waterproof", "cruelty free", "vegan", "moisturizing", "transfer proof",
                   "highly pigmented", "non drying"),
                  (("color", ("ruby red", "nude", "rose pink", "berry", "coral", "mauve", "plum")),),
                  (4.0, 25.0)),
        QuerySpec("face moisturizer", ("face moisturizer", "facial cream", "daily moisturizer"),
                  ("Beauty & Personal Care", "Skin Care", "Face", "Creams & Moisturizers"),
                  ("dry skin", "sensitive skin", "hyaluronic acid", "fragrance free", "oil free",
                   "anti aging", "non comedogenic", "spf 30"),
                  (("size", ("1.7 fl oz", "2 fl oz", "3.4 fl oz")),), (8.0, 60.0)),
        QuerySpec("nail polish", ("nail polish", "gel nail polish", "nail lacquer"),
                  ("Beauty & Personal Care", "Foot, Hand & Nail Care", "Nail Art & Polish", "Nail Polish"),
                  ("quick dry", "long lasting", "non toxic", "high gloss", "chip resistant", "easy to apply"),
                  (("color", ("red", "nude pink", "navy", "lilac", "black", "coral")),
                   ("size", ("0.5 fl oz", "pack of 3", "pack of 6"))), (3.0, 20.0)),
        QuerySpec("shampoo", ("shampoo", "clarifying shampoo", "moisturizing shampoo"),
                  ("Beauty & Personal Care", "Hair Care", "Shampoo & Conditioner", "Shampoos"),
                  ("sulfate free", "tea tree", "essential oils", "natural ingredients", "dry hair",
                   "color safe", "paraben free", "dandruff control"),
                  (("scent", ("tea tree", "coconut", "lavender", "mint", "unscented")),
                   ("size", ("8 fl oz", "12 fl oz", "16 fl oz", "33.8 fl oz"))), (6.0, 40.0)),
    )),
    CategorySpec("electronics", (
        QuerySpec("bluetooth headphones", ("wireless headphones", "bluetooth headphones", "over ear headphones"),
                  ("Electronics", "Headphones, Earbuds & Accessories", "Headphones", "Over-Ear Headphones"),
                  ("noise cancelling", "wireless bluetooth", "long battery life", "built in microphone",
                   "foldable", "hands free", "fast charging", "deep bass"),
                  (("color", ("black", "white", "silver", "rose gold", "blue")),), (19.0, 250.0)),
        QuerySpec("phone case", ("phone case", "protective case", "slim case"),
                  ("Cell Phones & Accessories", "Cases, Holsters & Sleeves", "Basic Cases"),
                  ("shockproof", "wireless charging", "slim fit", "tempered glass", "kickstand",
                   "card holder", "drop protection", "anti scratch"),
                  (("color", ("black", "clear", "navy blue", "purple", "green", "pink")),
                   ("size", ("iphone 13", "iphone 13 pro", "iphone 14", "galaxy s22", "galaxy s23"))),
                  (6.0, 35.0)),
        QuerySpec("usb c charger", ("usb c charger", "wall charger", "fast charger"),
                  ("Electronics", "Computers & Accessories", "Power Adapters & Chargers"),
                  ("fast charging", "power delivery", "compact design", "dual port", "foldable plug",
                   "overheat protection", "gan technology"),
                  (("size", ("20w", "30w", "45w", "65w", "100w")), ("color", ("white", "black"))),
                  (9.0, 60.0)),
        QuerySpec("hdmi cable", ("hdmi cable", "high speed hdmi cable", "4k hdmi cord"),
                  ("Electronics", "Television & Video", "Accessories", "Cables", "HDMI Cables"),
                  ("4k", "high speed", "gold plated", "braided nylon", "ethernet", "8k", "ultra hd"),
                  (("size", ("3 feet", "6 feet", "10 feet", "15 feet", "25 feet")),
                   ("item package quantity", ("1", "2", "3"))), (5.0, 30.0)),
        QuerySpec("wireless mouse", ("wireless mouse", "ergonomic mouse", "optical mouse"),
                  ("Electronics", "Computers & Accessories", "Computer Accessories & Peripherals", "Mice"),
                  ("usb receiver", "silent click", "ergonomic design", "rechargeable battery",
                   "adjustable dpi", "plug and play", "long battery life"),
                  (("color", ("black", "grey", "white", "pink", "blue")),), (8.0, 60.0)),
        QuerySpec("smart watch", ("smart watch", "fitness tracker", "smartwatch"),
                  ("Electronics", "Wearable Technology", "Smartwatches"),
                  ("heart rate monitor", "waterproof", "sleep tracking", "long battery life", "gps",
                   "blood oxygen", "touch screen", "step counter"),
                  (("color", ("black", "silver", "rose gold", "navy blue", "pink")),
                   ("size", ("40mm", "44mm", "small | medium", "medium | large"))), (25.0, 300.0)),
    )),
    CategorySpec("fashion", (
        QuerySpec("men's t-shirts", ("t-shirt", "crew neck tee", "short sleeve shirt"),
                  ("Clothing, Shoes & Jewelry", "Men", "Clothing", "Shirts", "T-Shirts"),
                  ("cotton", "machine wash", "short sleeve", "relaxed fit", "moisture wicking", "slim fit",
                   "crew neck", "breathable"),
                  (("color", _COLORS), ("size", _SIZES)), (8.0, 40.0)),
        QuerySpec("women's leggings", ("leggings", "yoga pants", "high waisted leggings"),
                  ("Clothing, Shoes & Jewelry", "Women", "Clothing", "Leggings"),
                  ("high waist", "tummy control", "squat proof", "butt lift", "moisture wicking",
                   "four way stretch", "pocket", "elastic waistband"),
                  (("color", _COLORS), ("size", _SIZES)), (10.0, 45.0)),
        QuerySpec("running shoes", ("running shoes", "walking shoes", "sneakers"),
                  ("Clothing, Shoes & Jewelry", "Men", "Shoes", "Athletic", "Running"),
                  ("non slip", "lightweight", "breathable mesh", "arch support", "rubber sole",
                   "memory foam", "slip on", "wide toe box"),
                  (("color", ("black", "white", "grey", "navy", "red", "black white")),
                   ("size", ("7", "8", "8.5", "9", "9.5", "10", "11", "12"))), (25.0, 120.0)),
        QuerySpec("winter jacket", ("winter jacket", "puffer jacket", "down coat"),
                  ("Clothing, Shoes & Jewelry", "Women", "Clothing", "Coats, Jackets & Vests", "Down & Parkas"),
                  ("water resistant", "hooded", "windproof", "warm fleece lined", "zipper closure",
                   "packable", "long sleeve", "quilted"),
                  (("color", _COLORS), ("size", _SIZES)), (35.0, 180.0)),
        QuerySpec("women's sandals", ("sandals", "flat sandals", "slide sandals"),
                  ("Clothing, Shoes & Jewelry", "Women", "Shoes", "Sandals"),
                  ("open toe", "arch support", "non slip", "ankle strap", "memory foam", "rubber sole",
                   "comfortable"),
                  (("color", ("black", "brown", "white", "beige", "gold", "pink")),
                   ("size", ("6", "7", "7.5", "8", "8.5", "9", "10"))), (15.0, 70.0)),
    )),
    CategorySpec("grocery", (
        QuerySpec("protein bars", ("protein bars", "snack bars", "energy bars"),
                  ("Grocery & Gourmet Food", "Snack Foods", "Bars", "Protein Bars"),
                  ("gluten free", "high protein", "low sugar", "keto friendly", "non gmo", "dairy free",
                   "plant based", "individually wrapped"),
                  (("flavor name", ("chocolate chip", "peanut butter", "cinnamon", "cookies and cream",
                                     "salted caramel", "blueberry")), ("size", _PACKS)), (10.0, 45.0)),
        QuerySpec("green tea", ("green tea", "tea bags", "matcha green tea"),
                  ("Grocery & Gourmet Food", "Beverages", "Coffee, Tea & Cocoa", "Tea", "Green"),
                  ("organic", "caffeine free", "decaffeinated", "individually wrapped", "non gmo",
                   "kosher", "antioxidant", "loose leaf"),
                  (("flavor name", ("jasmine", "mint", "lemon ginger", "original", "honey")),
                   ("size", ("20 count", "40 count", "100 count", "pack of 6"))), (5.0, 35.0)),
        QuerySpec("coffee beans", ("whole bean coffee", "ground coffee", "coffee beans"),
                  ("Grocery & Gourmet Food", "Beverages", "Coffee, Tea & Cocoa", "Coffee", "Whole Coffee Beans"),
                  ("dark roast", "medium roast", "fair trade", "single origin", "organic", "arabica",
                   "low acid", "freshly roasted"),
                  (("flavor name", ("french roast", "colombian", "espresso", "breakfast blend", "hazelnut")),
                   ("size", ("12 ounce", "2 pound", "5 pound"))), (9.0, 60.0)),
        QuerySpec("olive oil", ("extra virgin olive oil", "olive oil", "cooking oil"),
                  ("Grocery & Gourmet Food", "Pantry Staples", "Cooking Oils, Vinegars & Sprays", "Oils", "Olive"),
                  ("cold pressed", "extra virgin", "organic", "non gmo", "first cold press", "kosher",
                   "gluten free"),
                  (("size", ("16.9 fl oz", "25.3 fl oz", "33.8 fl oz", "pack of 2")),), (8.0, 50.0)),
        QuerySpec("dog treats", ("dog treats", "dog chews", "training treats"),
                  ("Pet Supplies", "Dogs", "Treats", "Biscuits"),
                  ("grain free", "natural ingredients", "made in usa", "high protein", "soft and chewy",
                   "low calorie", "real chicken"),
                  (("flavor name", ("chicken", "beef", "peanut butter", "salmon", "bacon")),
                   ("size", ("6 ounce", "12 ounce", "1 pound", "pack of 3"))), (6.0, 40.0)),
    )),
    CategorySpec("garden", (
        QuerySpec("office chair", ("office chair", "desk chair", "ergonomic chair"),
                  ("Home & Kitchen", "Furniture", "Home Office Furniture", "Home Office Chairs", "Desk Chairs"),
                  ("lumbar support", "adjustable height", "high back", "mesh back", "padded armrests",
                   "swivel", "easy assembly", "heavy duty"),
                  (("color", ("black", "grey", "white", "blue", "pink")),), (45.0, 350.0)),
        QuerySpec("bed sheets", ("bed sheet set", "sheets", "microfiber sheets"),
                  ("Home & Kitchen", "Bedding", "Sheets & Pillowcases", "Sheet & Pillowcase Sets"),
                  ("deep pocket", "machine wash", "wrinkle free", "breathable", "hypoallergenic",
                   "100% cotton", "soft", "fade resistant"),
                  (("color", ("white", "grey", "navy blue", "sage green", "beige", "light blue")),
                   ("size", ("twin", "full", "queen", "king", "california king"))), (18.0, 120.0)),
        QuerySpec("throw pillow covers", ("throw pillow covers", "cushion covers", "pillow cases"),
                  ("Home & Kitchen", "Home Décor Products", "Decorative Pillows, Inserts & Covers", "Throw Pillow Covers"),
                  ("hidden zipper", "machine wash", "soft velvet", "decorative", "double sided",
                   "living room", "set of 2"),
                  (("color", ("mustard yellow", "teal", "grey", "cream", "burnt orange", "navy blue")),
                   ("size", ("16x16 inch", "18x18 inch", "20x20 inch", "12x20 inch"))), (8.0, 35.0)),
        QuerySpec("coffee table", ("coffee table", "side table", "end table"),
                  ("Home & Kitchen", "Furniture", "Living Room Furniture", "Tables", "Coffee Tables"),
                  ("solid wood", "storage shelf", "easy assembly", "mid century", "rustic", "metal frame",
                   "living room", "space saving"),
                  (("color", ("walnut", "black", "white", "rustic brown", "oak")),), (40.0, 400.0)),
        QuerySpec("led desk lamp", ("led desk lamp", "table lamp", "reading lamp"),
                  ("Tools & Home Improvement", "Lighting & Ceiling Fans", "Lamps & Shades", "Desk Lamps"),
                  ("dimmable", "usb charging port", "eye caring", "touch control", "adjustable arm",
                   "energy efficient", "timer", "color temperature"),
                  (("color", ("black", "white", "silver", "wood grain")),), (12.0, 80.0)),
        QuerySpec("shower curtain", ("shower curtain", "fabric shower curtain", "bathroom curtain"),
                  ("Home & Kitchen", "Bath", "Bathroom Accessories", "Shower Curtains, Hooks & Liners", "Shower Curtains"),
                  ("waterproof", "machine wash", "mildew resistant", "hooks included", "weighted hem",
                   "quick drying", "heavy duty"),
                  (("color", ("white", "grey", "blue", "floral", "black white")),
                   ("size", ("72x72 inch", "72x84 inch", "36x72 inch"))), (9.0, 45.0)),
    )),
)

_BRANDS = tuple(
    "Aurelia Bexley Cobalt Dunmore Everkind Fableworks Glenrow Halcyon Ivora Juniper Kestrel Lumen "
    "Marlowe Northvale Orchard Pinecrest Quillon Rosewood Solace Tidewell Umbra Verity Willowby Xenia "
    "Yarrowe Zephyrine Alder Brightwell Cedarly Driftwood".split()
)
_OPENERS = ("i need", "i want", "i'm looking for", "i am looking for", "find me", "i would like",
            "i'd like to buy", "get me")
_REVIEW_TITLES = ("Great value", "Works as described", "Not what I expected", "Love it", "Decent quality",
                  "Would buy again", "Okay for the price")
_REVIEW_BODIES = ("Exactly what I needed and it arrived quickly.", "Quality is fine but the color was off.",
                  "Does the job. Packaging could be better.", "Better than the pricier brands I tried.",
                  "Stopped working after a few weeks.", "Fits well and feels sturdy.")


@dataclass(frozen=True)
class GeneratorConfig:
    """What to generate.

    Attributes:
        products_per_query: Products written for each query (there are 28 queries).
        instructions_per_product: Range of human-style instructions per product.
        review_share: Share of products that get reviews.
        seed: Seed of everything.
    """

    products_per_query: int = 110
    instructions_per_product: tuple[int, int] = (1, 2)
    review_share: float = 0.3
    seed: int = 0


@dataclass
class GeneratedFiles:
    """The generated data, one attribute per upstream file."""

    items: list[dict[str, Any]]
    attributes: dict[str, dict[str, Any]]
    human_instructions: dict[str, list[dict[str, Any]]]
    reviews: list[dict[str, Any]]


def _asin(rng: random.Random, used: set[str]) -> str:
    while True:
        a = "B0" + "".join(rng.choices(string.ascii_uppercase + string.digits, k=8))
        if a not in used:
            used.add(a)
            return a


def _price(rng: random.Random, lo: float, hi: float) -> str:
    p = round(rng.uniform(lo, hi), 2)
    if rng.random() < 0.25:
        q = round(p * rng.uniform(1.1, 1.6), 2)
        return f"${p:.2f} - ${q:.2f}"
    return f"${p:.2f}"


def _title(rng: random.Random, brand: str, noun: str, attrs: Sequence[str], opts: dict[str, list[str]]) -> str:
    lead = [a for a in attrs[:2] if a not in noun]
    words = [brand] + [a.title() for a in lead] + [noun.title()]
    tail = []
    if attrs[2:]:
        tail.append(f"with {attrs[2].title()}")
    if "size" in opts and rng.random() < 0.3:
        tail.append(opts["size"][0].title())
    return " ".join(words) + (", " + ", ".join(tail) if tail else "")


def _product(rng: random.Random, cat: CategorySpec, q: QuerySpec, used: set[str]) -> dict[str, Any]:
    brand = rng.choice(_BRANDS)
    noun = rng.choice(q.nouns)
    attrs = rng.sample(q.attributes, k=min(len(q.attributes), rng.randint(3, 5)))
    opts: dict[str, list[str]] = {}
    for name, values in q.options:
        if rng.random() < 0.9:
            opts[name] = rng.sample(values, k=rng.randint(min(2, len(values)), len(values)))
    bullets = [f"{a.upper() if i == 0 else a.capitalize()}: this {noun} is {a}, made by {brand} for everyday use."
               for i, a in enumerate(attrs)]
    bullets.append(f"What you get: {noun} from {brand}, backed by a 30-day satisfaction guarantee.")
    desc = (f"The {brand} {noun} is designed to be {', '.join(attrs[:-1])} and {attrs[-1]}. "
            + ("Available in " + "; ".join(f"{k}: {', '.join(v)}" for k, v in opts.items()) + ". " if opts else "")
            + f"A dependable choice in {q.breadcrumb[-1].lower()}.")
    return {
        "asin": _asin(rng, used),
        "name": _title(rng, brand, noun, attrs, opts),
        "full_description": desc,
        "small_description": bullets,
        "pricing": _price(rng, *q.price),
        "list_price": "",
        "brand": brand,
        "images": [f"https://m.media-amazon.com/images/I/{_asin(rng, set())}.jpg"],
        "product_category": " › ".join(q.breadcrumb),
        "category": cat.name,
        "query": q.query,
        "customization_options": {
            name: [{"value": v, "image": None} for v in values] for name, values in opts.items()
        } or None,
        "_attrs": attrs,
        "_noun": noun,
    }


def _instruction(rng: random.Random, item: dict[str, Any]) -> dict[str, Any]:
    attrs: list[str] = item["_attrs"]
    noun: str = item["_noun"]
    k = rng.randint(1, min(3, len(attrs)))
    chosen = rng.sample(attrs, k)
    options = item["customization_options"] or {}
    picked: list[str] = []
    phrases: list[str] = []
    for name, contents in options.items():
        if rng.random() < 0.75:
            v = rng.choice(contents)["value"]
            picked.append(v)
            if name == "color":
                phrases.append(f"in {v} color")
            elif name == "size":
                phrases.append(f"in size {v}" if rng.random() < 0.5 else f"in {v}")
            elif v.isdigit():
                phrases.append(f"{name} {v}")
            else:
                phrases.append(f"in {v}")
    opener = rng.choice(_OPENERS)
    if len(chosen) == 1 and chosen[0].split()[-1] != noun.split()[0] and chosen[0] not in noun:
        first = chosen[0]
        article = "" if noun.endswith("s") else ("an " if first[0] in "aeiou" else "a ")
        body = f"{article}{first} {noun}"
    else:
        article = "" if noun.endswith("s") else ("an " if noun[0] in "aeiou" else "a ")
        rel = "that are" if noun.endswith("s") else "that is"
        body = f"{article}{noun} {rel} {' and '.join(chosen)}"
    text = f"{opener} {body}"
    if phrases:
        text += ", " + " and ".join(phrases)
    return {"asin": item["asin"], "instruction": text, "instruction_attributes": chosen,
            "instruction_options": picked}


def generate(config: GeneratorConfig | None = None, progress: bool = True) -> GeneratedFiles:
    """Generates a catalog with instructions. Same config, same output."""
    config = config or GeneratorConfig()
    rng = random.Random(config.seed)
    used: set[str] = set()
    items: list[dict[str, Any]] = []
    specs = [(c, q) for c in CATEGORIES for q in c.queries]
    for cat, q in tqdm(specs, desc="generate webshop catalog", disable=not progress):
        items += [_product(rng, cat, q, used) for _ in range(config.products_per_query)]
    rng.shuffle(items)  # upstream's items_shuffle.json is shuffled
    attributes: dict[str, dict[str, Any]] = {}
    human: dict[str, list[dict[str, Any]]] = {}
    reviews: list[dict[str, Any]] = []
    lo, hi = config.instructions_per_product
    for item in items:
        ins = [_instruction(rng, item) for _ in range(rng.randint(lo, hi))]
        human[item["asin"]] = ins
        attributes[item["asin"]] = {"attributes": list(item["_attrs"]), "instruction": ins[0]["instruction"],
                                    "instruction_attributes": ins[0]["instruction_attributes"]}
        if rng.random() < config.review_share:
            rs = [{"title": rng.choice(_REVIEW_TITLES), "stars": rng.randint(1, 5), "review": rng.choice(_REVIEW_BODIES)}
                  for _ in range(rng.randint(1, 3))]
            reviews.append({"asin": item["asin"], "reviews": rs,
                            "average_rating": round(sum(r["stars"] for r in rs) / len(rs), 1)})
    for item in items:
        del item["_attrs"], item["_noun"]
    return GeneratedFiles(items, attributes, human, reviews)
