"""Upstream WebShop's purchase score, with each part exposed for tests and teacher reasoning.

``total = r_type * (attributes matched + options matched + [price <= price_upper])
/ (n_attributes + n_options + 1)``, where

* ``r_type`` is 1, 0.5, 0.1 or 0 from the query, the breadcrumb and the noun overlap of the titles;
* an attribute matches when a product attribute scores ``> 85`` (``token_set_ratio``) against it,
  or when it occurs in the title, the features or the description;
* a goal option matches when a selected option scores ``> 85`` against it, both passed through
  upstream's colour normalisation first.

Fuzzy scores reproduce ``thefuzz``'s (full processing, ASCII only, rounded to an integer) with
rapidfuzz. The noun extractor used for the title score is pluggable: upstream uses spaCy's
``en_core_web_lg`` parts of speech, whose output drifts across spaCy versions; the default here is a
deterministic, dependency-free heuristic (:class:`HeuristicNounExtractor`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from rapidfuzz import fuzz
from rapidfuzz.utils import default_process

from .actions import achievable_rewards  # noqa: F401  (re-exported: part of the score's definition)
from .catalog import Goal, Product
from .normalize import normalize_color

#: A fuzzy score must be strictly above this to count as a match.
FUZZY_THRESHOLD = 85


def fuzzy_score(a: str, b: str) -> int:
    """``thefuzz.fuzz.token_set_ratio(a, b)``: full processing, ASCII only, rounded to an int."""
    pa = default_process("".join(c for c in a if ord(c) < 128))
    pb = default_process("".join(c for c in b if ord(c) < 128))
    if not pa or not pb:
        return 0
    return round(fuzz.token_set_ratio(pa, pb))


class NounExtractor(Protocol):
    """Returns the (lower-case) nouns of a product title, in order, duplicates kept."""

    def __call__(self, title: str) -> list[str]:
        """Extracts nouns from ``title``."""


_STOPWORDS = frozenset(
    """a an and are as at be but by for from if in into is it its no not of on or such that the their
    then there these they this to was will with without per pcs pc pack count set size inch inches oz
    ounce ounces lb lbs ml fl cm mm ft x new best premium natural extra super ultra mini large small
    medium big long short high low soft hard light dark black white red blue green pink gray grey
    brown purple yellow orange silver gold multicolor compatible perfect easy great professional
    portable durable adjustable waterproof organic free""".split()
)
_TOKEN = re.compile(r"[a-z][a-z'\-]*[a-z]|[a-z]")


class HeuristicNounExtractor:
    """Content words of a title: alphabetic tokens minus stop words and common adjectives/units.

    A deterministic stand-in for spaCy's noun tags. It agrees with spaCy on whether two titles share
    their head nouns in the common cases (identical titles: 1.0, unrelated: 0.0); exact fractions differ.
    """

    def __call__(self, title: str) -> list[str]:
        """Extracts content words from ``title``."""
        return [t for t in _TOKEN.findall(title.lower()) if t not in _STOPWORDS and len(t) > 1]


class SpacyNounExtractor:
    """Upstream's extractor: tokens tagged NOUN or PROPN by a spaCy pipeline (``en_core_web_lg``).

    Needs ``spacy`` and the model installed; both are imported on first use.
    """

    def __init__(self, model: str = "en_core_web_lg") -> None:
        self.model = model
        self._nlp = None

    def __call__(self, title: str) -> list[str]:
        """Extracts spaCy nouns from ``title``."""
        if self._nlp is None:
            try:
                import spacy
            except ImportError as e:
                from dreamgym_env.error import MissingDependencyError

                raise MissingDependencyError("spacy", "webshop", "spaCy noun matching") from e
            self._nlp = spacy.load(self.model)
        return [t.text.lower() for t in self._nlp(title) if t.pos_ in ("PNOUN", "NOUN", "PROPN")]


@dataclass(frozen=True)
class TypeReward:
    """The type part: ``r_type`` and the three facts it is derived from."""

    r_type: float
    query_match: bool
    category_match: bool
    title_score: float


@dataclass(frozen=True)
class RewardBreakdown:
    """Every part of one purchase's score (what the teacher reasoning explains)."""

    total: float
    type: TypeReward
    attributes_matched: tuple[str, ...]
    attributes_missed: tuple[str, ...]
    options_matched: tuple[str, ...]
    options_missed: tuple[str, ...]
    price: float
    price_ok: bool

    @property
    def denominator(self) -> int:
        """``n_attributes + n_options + 1``."""
        return len(self.attributes_matched) + len(self.attributes_missed) + len(self.options_matched) + len(
            self.options_missed) + 1

    @property
    def numerator(self) -> int:
        """Matched attributes + matched options + the price indicator."""
        return len(self.attributes_matched) + len(self.options_matched) + int(self.price_ok)


def type_reward(product: Product, goal: Goal, nouns: NounExtractor) -> TypeReward:
    """Upstream's ``get_type_reward``: same query, >= 2 shared breadcrumb parts, title noun overlap."""
    query_match = product.query == goal.query
    bought_cats = {x.strip() for x in product.product_category.split("›")}
    goal_cats = {x.strip() for x in goal.product_category.split("›")}
    category_match = len(bought_cats & goal_cats) >= 2
    bought = nouns(product.name)
    desired = nouns(goal.name)
    title_score = 0.2 if not desired else len(set(bought) & set(desired)) / len(desired)
    r_type = 1.0
    if not (query_match or category_match or title_score > 0.2):
        r_type = 0.5
    if title_score < 0.1:
        r_type = 0.1
    if title_score == 0.0:
        r_type = 0.0
    return TypeReward(r_type, query_match, category_match, title_score)


def attribute_matches(product: Product, goal_attributes: Sequence[str]) -> list[bool]:
    """Upstream's ``get_attribute_reward``, per goal attribute: matched or not."""
    bullets = " ".join(product.bullet_points).lower()
    title, desc = product.name.lower(), product.description.lower()
    out = []
    for g in goal_attributes:
        hit = any(fuzzy_score(p, g) > FUZZY_THRESHOLD for p in product.attributes)
        if not hit:
            hit = g in title or g in bullets or g in desc
        out.append(hit)
    return out


def option_matches(selected: Sequence[str], goal_options: Sequence[str]) -> list[bool]:
    """Upstream's ``get_option_reward``, per goal option: does some selected option match it."""
    sel = [normalize_color(o) for o in selected]
    out = []
    for g in goal_options:
        g = normalize_color(g)
        out.append(any(fuzzy_score(p, g) > FUZZY_THRESHOLD for p in sel))
    return out


def get_reward(product: Product, goal: Goal, price: float, options: Mapping[str, str],
               nouns: NounExtractor | None = None) -> RewardBreakdown:
    """Scores buying ``product`` at ``price`` with the selected ``options`` (type -> value) for ``goal``."""
    nouns = nouns or HeuristicNounExtractor()
    tr = type_reward(product, goal, nouns)
    attr_hits = attribute_matches(product, goal.attributes)
    opt_hits = option_matches(list(options.values()), goal.goal_options)
    price_ok = price <= goal.price_upper
    n = len(goal.attributes) + len(goal.goal_options) + 1
    total = (sum(attr_hits) + sum(opt_hits) + int(price_ok)) / n * tr.r_type
    return RewardBreakdown(
        total=total, type=tr,
        attributes_matched=tuple(a for a, h in zip(goal.attributes, attr_hits) if h),
        attributes_missed=tuple(a for a, h in zip(goal.attributes, attr_hits) if not h),
        options_matched=tuple(o for o, h in zip(goal.goal_options, opt_hits) if h),
        options_missed=tuple(o for o, h in zip(goal.goal_options, opt_hits) if not h),
        price=price, price_ok=price_ok,
    )
