"""``WebShop-Real-v0``: the reference WebShop engine as a Gymnasium environment."""

from __future__ import annotations

import functools
import random
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar

import gymnasium as gym

from dreamgym_env.error import InvalidConfigError
from dreamgym_env.spaces import BoundedText
from dreamgym_env.types import Task

from .catalog import Catalog, Goal
from .engine import WebShopEngine
from .goals import SplitSizes
from .loader import SHIPPED_DIR, CatalogFiles, load_catalog
from .reasoning import explain
from .reward import HeuristicNounExtractor, NounExtractor, SpacyNounExtractor
from .search import SearchEngine

OBSERVATION_MODES = ("text", "text_rich")
SPLITS = ("train", "dev", "test", "all")
MAX_OBSERVATION_CHARS = 20_000
MAX_ACTION_CHARS = 10_000


@functools.lru_cache(maxsize=4)
def cached_catalog(catalog_dir: str, num_products: int | None, human_goals: bool, seed: int) -> tuple[Catalog, SearchEngine]:
    """Loads a catalog and builds its search index once per process (envs share them read-only)."""
    catalog = load_catalog(CatalogFiles.in_directory(catalog_dir), num_products, human_goals, seed)
    return catalog, SearchEngine(catalog.products)


class WebShopRealEnv(gym.Env[str, str]):
    """
    ## Description

    The WebShop online shop (Yao et al., 2022) served by a pure-Python reference engine: a catalog
    in upstream's raw schema (a generated one ships with the package; upstream's real
    ``items_shuffle.json`` / ``items_ins_v2.json`` / ``items_human_ins.json`` load the same way),
    BM25 search, upstream's pages, action parsing and purchase score.

    ## Mission Space

    A purchase goal, e.g. "i need a long clip-in hair extension which is natural looking, and price
    lower than 40.00 dollars". Goals come from the catalog's instructions; ``split`` picks upstream's
    index ranges of the shuffled goal list (test: first 500, dev: next 1000, train: the rest).

    ## Action Space

    A string: ``search[keywords]`` (only where the page has the search bar) or ``click[value]`` with
    ``value`` one of the page's clickables (matched lower case): ``back to search``, ``next >``,
    ``< prev``, a product ASIN, an option value, ``description``, ``features``, ``reviews``,
    ``buy now``. Anything else leaves the page unchanged, gives reward 0 and sets
    ``info["action_error"]``.

    ## Observation Space

    A string: the page's visible text, ``[SEP]``-joined in ``"text"`` mode (e.g.
    ``WebShop [SEP] Instruction: [SEP] i need ... [SEP] Search``) or with ``[button] X [button_]``
    markers in ``"text_rich"`` mode.

    ## Rewards

    0 on every step except ``click[buy now]``, which gives upstream's score in [0, 1]:
    ``r_type * (matched attributes + matched options + [price <= bound]) / (n_attributes + n_options + 1)``.

    ## Termination

    The episode terminates on ``click[buy now]``; it is truncated by the step limit (15 when made
    through ``gymnasium.make``).

    ## Info

    ``task_id``, ``goal`` (the goal spec), ``valid``, ``action_error``, ``admissible_actions``,
    ``available_actions`` (upstream's ``{"has_search_bar", "clickables"}``), ``reasoning`` (why this
    transition happened, from the engine's facts), ``page`` and, after buying, ``reward_info``.

    ## Registered Configurations

    * ``WebShop-Real-v0``: shipped catalog, ``text`` mode, train goals.

    Args:
        observation_mode: ``"text"`` or ``"text_rich"``.
        split: Goals to sample on reset without a task: ``"train"``, ``"dev"``, ``"test"`` or ``"all"``.
        catalog_dir: Folder with upstream-format files (the shipped catalog when ``None``).
        num_products: Use only the first N products.
        human_goals: Human-instruction goals (upstream's default) or synthetic ones.
        split_sizes: Sizes of the test and dev ranges.
        seed: Seed of the price draws and goal price bounds.
        search_anywhere: Accept ``search[...]`` on every page (upstream's raw env does).
        nouns: ``"heuristic"`` (default) or ``"spacy"`` for the title part of the type reward.
        render_mode: ``None`` or ``"ansi"``.
    """

    metadata: ClassVar[dict[str, Any]] = {"render_modes": ["ansi"]}

    def __init__(self, observation_mode: str = "text", split: str = "train", catalog_dir: str | Path | None = None,
                 num_products: int | None = None, human_goals: bool = True,
                 split_sizes: SplitSizes | None = None, seed: int = 0, search_anywhere: bool = False,
                 nouns: str | NounExtractor = "heuristic", render_mode: str | None = None) -> None:
        if observation_mode not in OBSERVATION_MODES:
            raise InvalidConfigError(f"observation_mode must be one of {OBSERVATION_MODES}, got {observation_mode!r}")
        if split not in SPLITS:
            raise InvalidConfigError(f"split must be one of {SPLITS}, got {split!r}")
        if render_mode not in (None, "ansi"):
            raise InvalidConfigError(f"render_mode must be None or 'ansi', got {render_mode!r}")
        self.observation_mode = observation_mode
        self.render_mode = render_mode
        self.split = split
        catalog_dir = str(catalog_dir or SHIPPED_DIR)
        self.catalog, index = cached_catalog(catalog_dir, num_products, human_goals, seed)
        self.split_sizes = split_sizes or SplitSizes()
        if isinstance(nouns, str):
            if nouns not in ("heuristic", "spacy"):
                raise InvalidConfigError(f"nouns must be 'heuristic', 'spacy' or a callable, got {nouns!r}")
            nouns = HeuristicNounExtractor() if nouns == "heuristic" else SpacyNounExtractor()
        self.engine = WebShopEngine(self.catalog, index, nouns, search_anywhere)
        self.goals = self.split_goals(split)
        if not self.goals:
            raise InvalidConfigError(f"the catalog at {catalog_dir} has no goals in split {split!r}")
        self.observation_space = BoundedText(MAX_OBSERVATION_CHARS)
        self.action_space = BoundedText(MAX_ACTION_CHARS)
        self._goal: Goal | None = None
        self._task_id = ""

    def split_goals(self, split: str) -> list[Goal]:
        """Returns the goals of a split (``"all"``: every goal)."""
        if split == "all":
            return list(self.catalog.goals)
        return [g for i, g in enumerate(self.catalog.goals) if self.split_sizes.split_of(i) == split]

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[str, dict[str, Any]]:
        """Starts an episode: ``options["task"]`` (a Task with ``meta["goal"]``), ``options["goal"]``
        (a goal dict or goal id), else a goal drawn from the split."""
        super().reset(seed=seed)
        options = options or {}
        task = options.get("task")
        if isinstance(task, Task):
            goal = self._goal_of(task.meta.get("goal") or task.meta.get("goal_id"))
            if goal is None:
                goal = self._adhoc_goal(task.instruction)
            self._task_id = task.task_id
        elif options.get("goal") is not None:
            goal = self._goal_of(options["goal"])
            if goal is None:
                raise InvalidConfigError(f"unknown goal {options['goal']!r}: pass a goal dict or a goal id")
            self._task_id = goal.goal_id
        else:
            goal = self.goals[int(self.np_random.integers(len(self.goals)))]
            self._task_id = goal.goal_id
        self._goal = goal
        self.engine.reset(goal)
        info = self._info(valid=True, error=None, reasoning="A new session starts on the search page.")
        return self._obs(), info

    def step(self, action: str) -> tuple[str, float, bool, bool, dict[str, Any]]:
        """Applies ``search[...]`` or ``click[...]``; never raises on a bad action."""
        if self._goal is None:
            raise gym.error.ResetNeeded("call reset() before step()")
        if not isinstance(action, str):
            action = str(action)
        if len(action) > MAX_ACTION_CHARS:
            action = action[:MAX_ACTION_CHARS]
        result = self.engine.step(action)
        info = self._info(result.valid, result.error, explain(result, self.catalog, self._goal))
        if result.event.get("kind") == "buy":
            rb = result.event["breakdown"]
            info["reward_info"] = {
                "r_type": rb.type.r_type, "query_match": rb.type.query_match,
                "category_match": rb.type.category_match, "title_score": rb.type.title_score,
                "attributes_matched": list(rb.attributes_matched), "attributes_missed": list(rb.attributes_missed),
                "options_matched": list(rb.options_matched), "options_missed": list(rb.options_missed),
                "price": rb.price, "price_ok": rb.price_ok, "asin": result.event["asin"],
                "options": result.event["options"],
            }
        return self._obs(), float(result.reward), bool(result.done), False, info

    def render(self) -> str | None:
        """Returns the current page's text (``"ansi"`` mode)."""
        if self.render_mode == "ansi" and self._goal is not None:
            return self.engine.page.text_rich()
        return None

    # ----- helpers ---------------------------------------------------------------------------------
    def _obs(self) -> str:
        page = self.engine.page
        return page.text() if self.observation_mode == "text" else page.text_rich()

    def _info(self, valid: bool, error: str | None, reasoning: str) -> dict[str, Any]:
        assert self._goal is not None
        return {
            "task_id": self._task_id, "goal": self._goal.to_dict(), "valid": valid, "action_error": error,
            "admissible_actions": self.engine.admissible_actions(),
            "available_actions": self.engine.available_actions(), "reasoning": reasoning,
            "page": self.engine.page.name,
        }

    def _goal_of(self, spec: Any) -> Goal | None:
        if spec is None:
            return None
        if isinstance(spec, Goal):
            return spec
        if isinstance(spec, str):
            try:
                return self.catalog.goal_by_id(spec)
            except KeyError:
                return None
        if isinstance(spec, dict):
            gid = spec.get("goal_id")
            if gid is not None:
                try:
                    return self.catalog.goal_by_id(str(gid))
                except KeyError:
                    pass
            return Goal.from_dict(spec)
        return None

    def _adhoc_goal(self, instruction: str) -> Goal:
        """A goal for a bare instruction: no product to match, so every purchase scores 0 on type."""
        return Goal(goal_id=f"adhoc-{random.Random(instruction).getrandbits(32):08x}", asin="",
                    instruction_text=instruction, attributes=(), goal_options=(), price_upper=1_000_000.0,
                    name="", query="", category="", product_category="")


def make_goal_tasks(goals: Sequence[Goal], splits: Sequence[str], domain: str = "webshop") -> list[Task]:
    """Builds the domain's tasks (``meta``: split and goal spec) from goals."""
    from .pages import search_page

    return [
        Task(task_id=g.goal_id, domain=domain, instruction=g.instruction_text,
             initial_observation=search_page(g.instruction_text).text(), meta={"split": s, "goal": g.to_dict()})
        for g, s in zip(goals, splits)
    ]
