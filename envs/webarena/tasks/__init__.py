"""Task generation over the reference sites, in upstream's ``test.raw.json`` config schema."""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from dreamgym_env.types import Task

from ..browser import Browser
from ..sites import World, generate_content
from . import gitlab, reddit, shopping, shopping_admin
from . import map as map_tasks
from .spec import Step, TaskSpec

#: Template generators by site name, registered by name (add your own with :func:`register_generator`).
GENERATORS: dict[str, Callable[[World, random.Random, int], list[TaskSpec]]] = {
    "shopping": shopping.generate, "shopping_admin": shopping_admin.generate, "gitlab": gitlab.generate,
    "reddit": reddit.generate, "map": map_tasks.generate,
}

__all__ = ["GENERATORS", "Step", "TaskGenConfig", "TaskSpec", "generate_tasks", "register_generator", "spec_to_task"]


def register_generator(site: str, fn: Callable[[World, random.Random, int], list[TaskSpec]]) -> None:
    """Registers a template generator for a site."""
    GENERATORS[site] = fn


@dataclass(frozen=True)
class TaskGenConfig:
    """How many tasks to generate.

    Attributes:
        seed: Seed of the site content and of the template instantiation.
        per_template: Instances per template (fewer when a template runs out of entities).
        test_every: Every n-th instance of each template goes to the ``test`` split.
    """

    seed: int = 0
    per_template: int = 8
    test_every: int = 5


def spec_to_task(spec: TaskSpec, numeric_id: int, split: str, world: World) -> Task:
    """Turns a spec into an upstream-schema config and a :class:`Task` whose meta carries it."""
    program = spec.eval["eval_types"] != ["string_match"] and spec.template not in ("search", "browse_category")
    config: dict[str, Any] = {
        "sites": [spec.site], "task_id": numeric_id, "require_login": True,
        "storage_state": f"./.auth/{spec.site}_state.json", "start_url": spec.start_path, "geolocation": None,
        "intent_template": spec.intent_template, "instantiation_dict": dict(spec.slots), "intent": spec.intent,
        "require_reset": bool(program and "program_html" in spec.eval["eval_types"]), "eval": spec.eval,
        "intent_template_id": spec.upstream_template_id,
    }
    browser = Browser(world)
    browser.reset(world.resolve(spec.start_path))
    return Task(
        task_id=f"webarena-ref-{numeric_id:04d}", domain="webarena", instruction=spec.intent,
        initial_observation=browser.observe(),
        meta={"split": split, "sites": [spec.site], "template": f"{spec.site}/{spec.template}",
              "eval_types": list(spec.eval["eval_types"]), "config": config,
              "solution": [s.to_dict() for s in spec.solution]},
    )


def generate_tasks(config: TaskGenConfig | None = None, content: Mapping[str, Any] | None = None) -> list[Task]:
    """Generates tasks for every site (deterministic for a given config and content)."""
    config = config or TaskGenConfig()
    content = content if content is not None else generate_content(config.seed)
    world = World(content)
    tasks: list[Task] = []
    for site, gen in GENERATORS.items():
        rng = random.Random(f"tasks-{site}-{config.seed}")
        counts: dict[str, int] = {}
        for spec in gen(world, rng, config.per_template):
            k = counts.get(spec.template, 0)
            counts[spec.template] = k + 1
            split = "test" if k % config.test_every == config.test_every - 1 else "train"
            tasks.append(spec_to_task(spec, len(tasks), split, world))
    return tasks
