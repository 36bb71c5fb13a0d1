"""``ALFWorld-Real-v0``: the real ALFWorld engine on generated ALFRED problems, as a Gymnasium env."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any, ClassVar, SupportsFloat

import gymnasium as gym

from dreamgym_env.spaces import BoundedText
from dreamgym_env.types import Task

from .engine import DIALECTS, NOTHING_HAPPENS, ALFWorldEngine
from .expert import expert_action
from .problem import InvalidProblemError, Problem
from .teacher import explain
from .world import World

MAX_OBSERVATION_CHARS = 4000
MAX_ACTION_CHARS = 128
_PUT_ALIAS = re.compile(r"put ([a-z]+ \d+) (?:in|on) ([a-z]+ \d+)")


class ALFWorldRealEnv(gym.Env[str, str]):
    """The real ALFWorld text engine (TextWorld + ALFRED PDDL) on problems from this package's generator.

    ## Description
    A household task in an ALFRED room: the agent walks between receptacles, opens them, takes and
    puts objects, cleans/heats/cools them with the sinkbasin/microwave/fridge and turns on lamps.
    Each episode plays one generated problem (one of the six ALFWorld task types) with the real
    engine, so observations, admissible commands and rewards are ground truth. Every step's ``info``
    carries a teacher explanation computed from the engine's PDDL facts before and after the step.

    ## Action Space
    ``str``: one command. ``go to R``, ``open R``, ``close R``, ``take O from R``, ``put O in/on R``
    (dialect ``"put"``; ``put O in R`` and ``put O on R`` are accepted as aliases, as dataset
    harnesses do) or ``move O to R`` (dialect ``"move"``), ``clean/heat/cool O with R``, ``use O``,
    ``examine X``, ``inventory``, ``look`` (and ``help`` in the ``"move"`` dialect). A command that
    is not admissible (or not a string) gets "Nothing happens." and changes nothing.

    ## Observation Space
    ``str`` (:class:`dreamgym_env.spaces.BoundedText`, at most 4000 characters): the engine's feedback. At reset, "You are in
    the middle of a room. Looking quickly around you, you see ...\\n\\nYour task is to: ...".

    ## Rewards
    1 on the step at which the PDDL goal holds, else 0.

    ## Termination
    Terminates when the goal holds. Truncation comes from the registered step limit (50).

    ## Info
    ``task_id``, ``task_type``, ``admissible_actions`` (sorted, unique, as upstream), ``valid``,
    ``action_error`` (``None`` or why the command was not admissible), ``reasoning`` (teacher
    explanation), ``won`` and ``expert_action`` (the privileged expert's next command).

    ## Registered Configurations
    * ``ALFWorld-Real-v0``: dialect ``"put"`` (the public datasets' wording), train tasks.
      ``gym.make("ALFWorld-Real-v0", dialect="move")`` plays alfworld 0.4's wording;
      ``split="test"`` draws held-out-layout tasks when no task is given.

    Args:
        dialect: ``"put"`` or ``"move"``.
        split: Task split drawn from when ``reset`` gets no task.
        tasks: Tasks to draw from instead of the shipped ones.
        render_mode: ``"ansi"`` or ``"human"``.
        cache_size: Problems whose PDDL translation is kept for fast replay.
    """

    metadata: ClassVar[dict[str, Any]] = {"render_modes": ["ansi", "human"]}

    def __init__(self, dialect: str = "put", split: str = "train", tasks: Sequence[Task] | None = None,
                 render_mode: str | None = None, cache_size: int = 16) -> None:
        if dialect not in DIALECTS:
            raise ValueError(f"unknown dialect {dialect!r}; choose one of {DIALECTS}")
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ValueError(f"unknown render_mode {render_mode!r}; choose one of {self.metadata['render_modes']}")
        self.dialect = dialect
        self.split = split
        self.render_mode = render_mode
        self._tasks = list(tasks) if tasks is not None else None
        self.engine = ALFWorldEngine(dialect, cache_size=cache_size)
        self.observation_space = BoundedText(MAX_OBSERVATION_CHARS)
        self.action_space = BoundedText(MAX_ACTION_CHARS)
        self._task_id = ""
        self._obs = ""
        self._world: World | None = None

    # ----- tasks --------------------------------------------------------------------------------
    def _task_pool(self) -> Sequence[Task]:
        if self._tasks is None:
            from .domain import ALFWorldDomain

            self._tasks = list(ALFWorldDomain().tasks(self.split))
        return self._tasks

    def _problem_from(self, options: dict[str, Any] | None) -> tuple[Problem, str]:
        options = options or {}
        if "problem" in options:
            p = options["problem"]
            return p, p.problem_id
        task = options.get("task")
        if task is None:
            pool = self._task_pool()
            task = pool[int(self.np_random.integers(len(pool)))]
        if not isinstance(task, Task):
            raise TypeError(f"options['task'] must be a dreamgym_env.types.Task, got {type(task).__name__}")
        if "problem" not in task.meta:
            raise InvalidProblemError(task.task_id, "task.meta has no 'problem': only tasks made by the ALFWorld "
                                      "generator (envs/alfworld/data/tasks.jsonl, make_data) can be played")
        return Problem.from_dict(task.meta["problem"]), task.task_id

    # ----- gym API ------------------------------------------------------------------------------
    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[str, dict[str, Any]]:
        """Starts a task: ``options["task"]`` (a generated :class:`Task`), ``options["problem"]``, or one
        drawn from the split with the env's RNG."""
        super().reset(seed=seed)
        problem, task_id = self._problem_from(options)
        self.engine.load(problem)
        self._obs = self.engine.reset()
        self._task_id = task_id
        self._world = World.from_facts(self.engine.facts())
        info = self._info()
        info.update(valid=True, action_error=None, reasoning="", won=False)
        return self._obs, info

    def step(self, action: str) -> tuple[str, SupportsFloat, bool, bool, dict[str, Any]]:
        """Plays one command."""
        if self._world is None:
            raise RuntimeError("call reset() before step()")
        problem = self.engine.problem
        before = self._world
        if not isinstance(action, str):
            error = f"action must be a str, got {type(action).__name__}"
            self._obs = NOTHING_HAPPENS
            info = self._info()
            info.update(valid=False, action_error=error, won=self.engine.won,
                        reasoning=f"The action is invalid because {error}, so nothing happens.")
            return self._obs, 0.0, False, False, info
        command = " ".join(action.strip().split())
        if self.dialect == "put":
            command = _PUT_ALIAS.sub(r"put \1 in/on \2", command)
        obs, admissible, won = self.engine.step(command)
        after = World.from_facts(self.engine.facts()) if admissible else before
        reasoning, error = explain(command, before, after, admissible, won, problem.goal, self.dialect)
        self._world = after
        self._obs = obs[:MAX_OBSERVATION_CHARS]
        info = self._info()
        info.update(valid=admissible, action_error=error, reasoning=reasoning, won=won)
        if self.render_mode == "human":
            print(f"> {command}\n{self._obs}")
        return self._obs, float(won), won, False, info

    def _info(self) -> dict[str, Any]:
        problem = self.engine.problem
        assert self._world is not None
        return {
            "task_id": self._task_id,
            "task_type": problem.goal.task_type,
            "instruction": problem.instruction,
            "admissible_actions": self.engine.admissible_commands,
            "expert_action": expert_action(self._world, problem.goal, self.dialect, self.engine.facts_db),
        }

    def render(self) -> str | None:
        """Returns (``"ansi"``) or prints (``"human"``) the last observation."""
        if self.render_mode == "ansi":
            return self._obs
        if self.render_mode == "human":
            print(self._obs)
        return None

    def close(self) -> None:
        """Releases the engine."""
        self.engine.close()
