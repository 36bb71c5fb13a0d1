"""Pins each branch of upstream WebShop's purchase score (cases from upstream's test_goal.py)."""

from __future__ import annotations

from math import isclose
from typing import ClassVar

import pytest
from dreamgym_env.envs.webshop.actions import achievable_rewards
from dreamgym_env.envs.webshop.catalog import Goal, Product
from dreamgym_env.envs.webshop.normalize import normalize_color
from dreamgym_env.envs.webshop.reward import (
    HeuristicNounExtractor,
    attribute_matches,
    fuzzy_score,
    get_reward,
    option_matches,
    type_reward,
)


def product(**kw) -> Product:
    base = {"asin": "B000000001", "name": "Name 1", "category": "beauty", "query": "query 1",
                "product_category": "a › b › c", "description": "", "bullet_points": (), "pricing": (10.0,),
                "price_tag": "$10.0", "options": {}, "attributes": ()}
    base.update(kw)
    return Product(**base)


def goal(**kw) -> Goal:
    base = {"goal_id": "g", "asin": "B000000001", "instruction_text": "i need x", "attributes": (), "goal_options": (),
                "price_upper": 40.0, "name": "Name 1", "query": "query 1", "category": "beauty", "product_category": "a › b › c"}
    base.update(kw)
    return Goal(**base)


def words(title: str) -> list[str]:
    return title.lower().split()


@pytest.mark.parametrize("text, expected", [
    ("", ""), ("black forest", "black"), ("violet lavender", "lavender"), ("steelivy fuchsia", "fuchsia"),
    ("123alabaster", "alabaster"), ("webshop", "webshop"), ("standard", "tan"),
])
def test_normalize_color_takes_first_listed_colour_substring(text, expected):
    assert normalize_color(text) == expected


def test_fuzzy_score_processes_like_thefuzz():
    assert fuzzy_score("XL", "xl") == 100  # lower-cased
    assert fuzzy_score("tea-tree!", "tea tree") == 100  # punctuation -> spaces
    assert fuzzy_score("", "x") == 0 and fuzzy_score("!!!", "x") == 0  # empty after processing
    assert fuzzy_score("essential oil", "essential oils") > 85
    assert isinstance(fuzzy_score("café", "cafe"), int)
    assert fuzzy_score("café", "caf") == 100  # non-ASCII dropped, as force_ascii does


class TestTypeReward:
    def test_exact_match_is_one(self):
        r = type_reward(product(), goal(), words)
        assert (r.r_type, r.query_match, r.category_match, r.title_score) == (1.0, True, True, 1.0)

    @pytest.mark.parametrize("cat, match", [("b › c › a", True), ("d › e › f", False), ("a › d › b", True),
                                            ("a › a › b", True), ("a › a › d", False)])
    def test_category_needs_two_shared_parts_in_any_order(self, cat, match):
        assert type_reward(product(product_category=cat), goal(), words).category_match is match

    def test_no_query_no_category_and_weak_title_is_half(self):
        g = goal(name="red shoe box lid cover", query="q2", product_category="x › y")
        r = type_reward(product(name="red lamp"), g, words)  # 1/5 = 0.2: not > 0.2
        assert isclose(r.title_score, 0.2) and r.r_type == 0.5

    def test_title_above_point_two_alone_is_enough(self):
        g = goal(name="red shoe box lid", query="q2", product_category="x › y")
        assert type_reward(product(name="red shoe"), g, words).r_type == 1.0  # 2/4

    def test_query_match_rescues_weak_title(self):
        g = goal(name="red shoe box lid cover", product_category="x › y")
        assert type_reward(product(name="red lamp"), g, words).r_type == 1.0

    def test_title_below_point_one_is_point_one_even_with_query_match(self):
        g = goal(name="a b c d e f g h i j k")
        assert type_reward(product(name="a z"), g, words).r_type == 0.1  # 1/11

    def test_no_shared_noun_is_zero(self):
        assert type_reward(product(name="lamp"), goal(name="shoe"), words).r_type == 0.0

    def test_goal_without_nouns_scores_point_two(self):
        r = type_reward(product(name="lamp"), goal(name="the"), lambda t: [])
        assert r.title_score == 0.2 and r.r_type == 1.0  # query matches

    def test_heuristic_extractor_on_upstream_titles(self):
        nouns = HeuristicNounExtractor()
        g = goal(name="Saireed UL Listed 2 Prong Power Cord for JBL Bar 3.1 Bar 2.1 Channel 4K Ultra HD Soundbar")
        p = product(name="BRST AC Power Cord Outlet Socket Cable Plug Lead for Panasonic SC-HT830V DVD/VCR Combo Home Theater System")
        assert isclose(type_reward(p, g, nouns).title_score, 2 / 12)  # upstream (spaCy): 0.17
        p2 = product(name="Minkissy 2pcs Stainless Steel Eyebrow Tweezers Blackhead Acne Remover Portable Makeup Tweezers (Silver)")
        assert type_reward(p2, goal(name="Rusticware 921ORB Kitchen and Bath Cabinet Knob"), nouns).title_score < 0.05


class TestAttributes:
    ATTRS = ("tea tree", "essential oils", "natural ingredients")

    def test_exact_and_fuzzy(self):
        p = product(attributes=("tea tree", "essential oil", "natural ingredients"))
        assert attribute_matches(p, self.ATTRS) == [True, True, True]

    def test_partial(self):
        p = product(attributes=("essential oil", "natural ingredients"))
        assert attribute_matches(p, self.ATTRS) == [False, True, True]

    def test_found_in_features_or_description(self):
        p = product(bullet_points=("This shampoo has essential oils and smells like lemons",),
                    description="Best shampoo on the market, made with natural ingredients")
        assert attribute_matches(p, self.ATTRS) == [False, True, True]

    def test_found_in_title(self):
        assert attribute_matches(product(name="Tea Tree Shampoo"), self.ATTRS) == [True, False, False]

    def test_no_match(self):
        p = product(attributes=("tea bag", "earl gray", "lipton"), name="English tea for breakfast",
                    bullet_points=("Soothing aroma", "Calming, great feeling"),
                    description="Best tea made by Lipton, great to pair with breakfast")
        assert attribute_matches(p, self.ATTRS) == [False, False, False]


class TestOptions:
    def test_exact(self):
        assert option_matches(["pack of 12", "grey", "XL"], ["grey", "XL", "pack of 12"]) == [True] * 3

    def test_partial(self):
        assert option_matches(["pack of 12", "blue", "XL"], ["grey", "XL", "pack of 12"]) == [False, True, True]

    def test_fuzzy(self):
        assert option_matches(["pack of 12", "powder snow", "XL"], ["cool powder snow", "XL", "pack of 12"]) == [True] * 3

    def test_colour_normalisation_applies(self):
        # Both normalise to "blue": upstream counts a different shade as a match.
        assert option_matches(["navy blue"], ["light blue"]) == [True]
        assert option_matches(["navy"], ["light blue"]) == [False]

    def test_empty(self):
        assert option_matches(["goal 1"], []) == [] and option_matches([], ["goal 1", "goal 2"]) == [False, False]


class TestTotal:
    G: ClassVar[dict] = {"name": "Mens D.O.N. Issue 2 Gca Basketball Sneakers Shoes Casual - Off White",
                         "attributes": ("tea tree", "essential oils", "natural ingredients"),
                         "goal_options": ("grey", "XL")}

    def test_exact_match_is_one(self):
        p = product(name=self.G["name"], attributes=("tea tree", "essential oil", "natural ingredients"))
        rb = get_reward(p, goal(**self.G), 35, {"color": "grey", "size": "XL"}, words)
        assert rb.total == 1 and (rb.numerator, rb.denominator) == (6, 6)

    def test_attribute_variation(self):
        p = product(name=self.G["name"], bullet_points=("This shampoo has essential oils and smells like lemons",),
                    description="Best shampoo on the market, made with natural ingredients")
        rb = get_reward(p, goal(**self.G), 35, {"color": "grey", "size": "XL"}, words)
        assert isclose(rb.total, 5 / 6) and rb.attributes_missed == ("tea tree",)

    def test_option_variation(self):
        p = product(name=self.G["name"], description="made with natural ingredients")
        g = goal(**{**self.G, "goal_options": ("grey", "XL", "pack of 12")})
        assert isclose(get_reward(p, g, 35, {"color": "grey", "size": "XL"}, words).total, 4 / 7)

    def test_price_above_bound_loses_its_share(self):
        p = product(name=self.G["name"], attributes=("tea tree", "essential oil", "natural ingredients"))
        rb = get_reward(p, goal(**self.G), 40.01, {"color": "grey", "size": "XL"}, words)
        assert not rb.price_ok and isclose(rb.total, 5 / 6)
        assert get_reward(p, goal(**self.G), 40.0, {"color": "grey", "size": "XL"}, words).price_ok

    def test_type_factor_multiplies(self):
        g = goal(**{**self.G, "goal_options": ("grey", "XL", "pack of 12"),
                    "name": "Saireed UL Listed 2 Prong Power Cord for JBL Bar 3.1 Bar 2.1 Channel 4K Ultra HD Soundbar"})
        p = product(name="BRST AC Power Cord Outlet Socket Cable Plug Lead for Panasonic SC-HT830V DVD/VCR Combo Home Theater System",
                    query="query 2", product_category="a › d › e", description="natural ingredients")
        rb = get_reward(p, g, 35, {"color": "grey", "size": "XL"}, HeuristicNounExtractor())
        assert rb.type.r_type == 0.5 and isclose(rb.total, 0.2857, abs_tol=1e-3)  # upstream's value

    def test_achievable_grid_contains_every_outcome(self):
        grid = achievable_rewards(3, 2)
        assert 0.0 in grid and 1.0 in grid and round(0.5 * 4 / 6, 10) in grid and round(0.1 / 6, 10) in grid
        assert round(0.55, 10) not in grid
