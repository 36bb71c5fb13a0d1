"""Upstream WebShop's colour normalisation, used by the option reward.

Upstream maps every option string (not only colours) to the first entry of an alphabetical colour
list that occurs in it as a substring, so ``"violet lavender"`` becomes ``"lavender"`` and
``"standard"`` becomes ``"tan"``. The reward depends on that quirk, so it is kept as is.
"""

from __future__ import annotations

#: Upstream's colour list, in its (alphabetical) order: the first substring hit wins.
COLOR_SET: tuple[str, ...] = (
    "alabaster", "apricot", "aqua", "ash", "asphalt", "azure", "banana", "beige", "black", "blue",
    "blush", "bordeaux", "bronze", "brown", "burgundy", "camel", "camo", "caramel", "champagne",
    "charcoal", "cheetah", "chestnut", "chocolate", "christmas", "coffee", "cognac", "copper", "coral",
    "cranberry", "cream", "crystal", "dark", "denim", "eggplant", "elephant", "espresso", "fuchsia",
    "gold", "granite", "grape", "graphite", "grass", "gray", "green", "grey", "heather", "indigo",
    "ivory", "ivy", "khaki", "lavender", "lemon", "leopard", "light", "lilac", "lime", "magenta",
    "maroon", "mauve", "merlot", "midnight", "mint", "mocha", "multicolor", "mushroom", "mustard",
    "natural", "navy", "nude", "olive", "orange", "peach", "pewter", "pink", "plum", "purple",
    "rainbow", "red", "rose", "royal", "rust", "sand", "sapphire", "seashell", "silver", "skull",
    "slate", "steel", "stone", "stonewash", "sunflower", "tan", "taupe", "teal", "tiger", "turquoise",
    "violet", "walnut", "wheat", "white", "wine", "yellow",
)


def normalize_color(text: str) -> str:
    """Returns the first colour of :data:`COLOR_SET` found in ``text`` (substring match), else ``text``."""
    for color in COLOR_SET:
        if color in text:
            return color
    return text
