"""Purchase goals built from products as upstream builds them, and the train/test splits.

Human goals come from per-product instruction records (``items_human_ins.json``: instruction,
instruction_attributes, instruction_options); synthetic goals from ``items_ins_v2.json``'s
instruction plus one goal per combination of the product's options. Both append upstream's price
clause, ``", and price lower than X.00 dollars"``, with X drawn as upstream draws it, then the goal
list is shuffled with upstream's fixed seed (233). Splits are index ranges of that list, as in
upstream's benchmarks: ``test`` = goals[:500], ``dev`` = goals[500:1500], ``train`` = goals[1500:].
"""

from __future__ import annotations

import itertools
import random
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from dreamgym_env.types import stable_id

from .catalog import NO_PRICE_BOUND, Goal, Product

#: Upstream's candidate price bounds: 10, 20, ..., 990 dollars.
PRICE_RANGE: tuple[float, ...] = tuple(10.0 * i for i in range(1, 100))
#: Upstream's goal shuffle seed.
GOAL_SHUFFLE_SEED = 233


@dataclass(frozen=True)
class SplitSizes:
    """Index ranges of the shuffled goal list: test first, then dev, the rest is train."""

    test: int = 500
    dev: int = 1000

    def split_of(self, index: int) -> str:
        """Returns ``"test"``, ``"dev"`` or ``"train"`` for a goal's index in the shuffled list."""
        if index < self.test:
            return "test"
        if index < self.test + self.dev:
            return "dev"
        return "train"


def price_clause(price: float, rng: random.Random) -> tuple[float, str]:
    """Draws a price bound above ``price`` as upstream does; returns it and the instruction suffix."""
    candidates = [p for p in PRICE_RANGE if p > price][:4]
    if len(candidates) >= 2:
        _, upper = sorted(rng.sample(candidates, 2))
        return upper, f", and price lower than {upper:.2f} dollars"
    return NO_PRICE_BOUND, ""


def human_goals(products: Sequence[Product], instructions: Mapping[str, Sequence[Mapping[str, Any]]],
                prices: Mapping[str, float], seed: int = 0) -> list[Goal]:
    """Builds one goal per human instruction with at least one attribute (upstream's ``get_human_goals``)."""
    rng = random.Random(seed)
    goals: list[Goal] = []
    for p in products:
        for i, ins in enumerate(instructions.get(p.asin, ())):
            attrs = tuple(ins.get("instruction_attributes") or ())
            if not attrs:
                continue
            upper, clause = price_clause(prices[p.asin], rng)
            raw_opts = ins.get("instruction_options") or ()
            if isinstance(raw_opts, Mapping):
                opts, types = tuple(raw_opts.values()), tuple(raw_opts.keys())
            else:
                opts, types = tuple(raw_opts), ()
            text = str(ins["instruction"]).strip(".") + clause
            goals.append(Goal(
                goal_id=stable_id("webshop-goal", p.asin, i, text), asin=p.asin, instruction_text=text,
                attributes=attrs, goal_options=opts, option_types=types, price_upper=upper, name=p.name,
                query=p.query, category=p.category, product_category=p.product_category, weight=1.0,
            ))
    return _shuffle(goals)


def synthetic_goals(products: Sequence[Product], attribute_records: Mapping[str, Mapping[str, Any]],
                    prices: Mapping[str, float], seed: int = 0) -> list[Goal]:
    """Builds goals from ``items_ins_v2`` instructions, one per option combination (``get_synthetic_goals``)."""
    rng = random.Random(seed)
    goals: list[Goal] = []
    counts: dict[str, int] = defaultdict(int)
    for p in products:
        rec = attribute_records.get(p.asin) or {}
        text0 = rec.get("instruction")
        attrs = tuple(rec.get("instruction_attributes") or ())
        if not text0 or not attrs:
            continue
        upper, clause = price_clause(prices[p.asin], rng)
        names = sorted(p.options)
        for combo in itertools.product(*(p.options[n] for n in names)):
            opt_text = ", and ".join(f"{n}: {v}" for n, v in zip(names, combo))
            opt_text = f" with {opt_text}" if opt_text else ""
            text = f"{text0}{opt_text}{clause}"
            goals.append(Goal(
                goal_id=stable_id("webshop-goal", p.asin, text), asin=p.asin, instruction_text=text,
                attributes=attrs, goal_options=tuple(combo), option_types=tuple(names), price_upper=upper,
                name=p.name, query=p.query, category=p.category, product_category=p.product_category,
            ))
            for a in attrs:
                counts[a] += 1
    goals = [_with_weight(g, sum(1.0 / counts[a] for a in g.attributes) / len(g.attributes)) for g in goals]
    return _shuffle(goals)


def _with_weight(g: Goal, w: float) -> Goal:
    return Goal(**{**g.__dict__, "weight": w})


def _shuffle(goals: list[Goal]) -> list[Goal]:
    random.Random(GOAL_SHUFFLE_SEED).shuffle(goals)
    return goals
