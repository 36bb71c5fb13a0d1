"""The contract between the domain-agnostic framework and one domain under ``envs/<domain>/``.

A :class:`Domain` knows its action grammar, its rules (as a system prompt), its tasks, its seed
transitions, and how "nothing happens" looks. The framework calls only these methods and never
branches on a domain's name. Domains are looked up by name through :func:`get_domain`.
"""

from __future__ import annotations

import functools
import importlib
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from dreamgym_env.error import UnknownDomainError
from dreamgym_env.types import Task, Transition, load_tasks, load_transitions, stable_id


@dataclass(frozen=True)
class Outcome:
    """What the experience model predicted for one step, after parsing and before the domain's checks."""

    next_state: str
    reward: float
    done: bool


@dataclass(frozen=True)
class TaskCheck:
    """The domain's verdict on a generated task instruction.

    Attributes:
        task: The instantiated task (``None`` when rejected).
        reason: ``None`` when accepted, else ``"ungrammatical"`` or ``"infeasible"``.
        detail: Why, in words.
    """

    task: Task | None
    reason: str | None = None
    detail: str = ""


@dataclass(frozen=True)
class ImportedObservation:
    """One observation from a public trajectory set, after the domain's cleanup.

    Attributes:
        text: The observation in the domain's own format (what the environment would show).
        instruction: The task instruction when the observation states it, else ``None``.
        meta: Facts split off the text, e.g. ``{"admissible_actions": [...]}``.
    """

    text: str
    instruction: str | None = None
    meta: Mapping[str, Any] = field(default_factory=dict)


class ImportHooks:
    """A domain's cleanup of public trajectory sets (used by :mod:`dreamgym_env.data.importers`).

    The importers parse each dataset's own format (turn roles, ``Thought:``/``Action:`` markers);
    these hooks handle what only the domain knows: how its observations look, where the task
    instruction sits, which suffixes are not part of the observation. The defaults change nothing.

    Attributes:
        aliases: Names by which datasets tag this domain's records (e.g. the ``alfworld`` in
            ``item_id="alfworld_12"``); the domain's own name always counts.
    """

    aliases: tuple[str, ...] = ()

    def check_episode(self, first_observation: str) -> str | None:
        """Returns ``None`` when the episode looks like this domain's, else why not."""
        return None

    def clean_observation(self, text: str) -> ImportedObservation:
        """Returns the observation in the domain's format, with facts split off into ``meta``."""
        return ImportedObservation(text)

    def clean_action(self, action: str) -> str:
        """Returns the action in the domain's grammar (e.g. normalised case)."""
        return action

    def final_observation(self, state: str, action: str) -> str | None:
        """Returns the observation after an episode's last action when the rules fix it (else ``None``).

        Datasets often end with the agent's last action and no observation after it.
        """
        return None


class Policy(Protocol):
    """A scripted policy that acts in a real/reference environment (used to collect offline data)."""

    def reset(self, observation: str, info: Mapping[str, Any]) -> None:
        """Starts a new episode."""

    def act(self, observation: str, info: Mapping[str, Any]) -> str:
        """Returns the next action text."""


class Domain:
    """Base class of a DreamGym domain. Subclasses override the class attributes and hooks.

    Class attributes:
        name: Registry name, e.g. ``"alfworld"``.
        max_episode_steps: Step limit used at registration.
        max_observation_chars: Upper bound on observation length (the observation space's bound).
        max_action_chars: Longer actions are rejected by the guard.
        reward_range: Closed interval every reward is clipped to.
        binary_reward: Whether rewards are 0/1 (``True``) or graded (``False``).
        real_env_id: Gymnasium id of the domain's real/reference environment, if any.
        data_dir: Folder with ``tasks.jsonl`` and ``seed_transitions.jsonl``.
        max_new_tokens: Default generation budget for one experience-model reply.
    """

    name: str = ""
    max_episode_steps: int = 30
    max_observation_chars: int = 8000
    max_action_chars: int = 512
    reward_range: tuple[float, float] = (0.0, 1.0)
    binary_reward: bool = True
    real_env_id: str | None = None
    data_dir: Path | None = None
    max_new_tokens: int = 256

    # ----- rules and grammar -------------------------------------------------------------------
    def system_prompt(self) -> str:
        """Returns the domain's rules, stated for the experience model (static, cache-friendly)."""
        raise NotImplementedError

    def check_action(self, action: str, state: str) -> str | None:
        """Checks an action against the grammar and what ``state`` shows.

        Returns ``None`` when the model should judge the action, else why it certainly has no effect
        (the guard then answers with :meth:`invalid_action_observation` without calling the model).
        Must be conservative: rejecting an action the real environment would accept is a bug.
        """
        raise NotImplementedError

    def check_action_in_episode(self, task: Task, history: Sequence[Transition], state: str,
                                action: str) -> str | None:
        """Checks a grammatical action against everything the episode has shown so far.

        Same contract as :meth:`check_action` (``None``: the model judges), for rules that need the
        history, e.g. the engine's admissible commands given where the agent is and what it holds.
        Default: ``None`` (no such rule).
        """
        return None

    def told_outcome(self, task: Task, history: Sequence[Transition], state: str, action: str) -> Outcome | None:
        """The outcome of a valid action when the episode so far fixes it (a page it has already shown),
        or ``None`` when the model must predict it.

        The pipeline then answers without a model call, like the guard (``StepSettings.tell_from_episode``).
        Must be exact: answer only what the real environment would certainly do given the episode.
        Default: ``None`` (nothing is told).
        """
        return None

    def told_reasoning(self, action: str) -> str:
        """Returns the reasoning recorded when the episode (not the model) answers an action."""
        return (f"The episode has already shown where {action} leads, so the next state is the one it showed "
                "then, with reward 0.")

    def invalid_action_observation(self, state: str) -> str:
        """Returns the observation after an invalid action in ``state`` ("nothing happens")."""
        return state

    def invalid_action_reasoning(self, action: str, error: str) -> str:
        """Returns the reasoning recorded when the guard (not the model) answers a bad action."""
        return f"The action is not valid here ({error}), so nothing changes and the reward is 0."

    def admissible_actions(self, task: Task, history: Sequence[Transition], state: str) -> list[str] | None:
        """Returns actions that make sense in ``state`` (sorted, unique), or ``None`` if not derivable."""
        return None

    def demo_action(self, task: Task, history: Sequence[Transition], state: str, rng: random.Random) -> str:
        """Returns a plausible action for the demo agent (default: a random admissible action)."""
        actions = self.admissible_actions(task, history, state) or []
        return rng.choice(actions) if actions else ""

    def repair_observation(self, action: str, observation: str, task: Task | None = None,
                           history: Sequence[Transition] = ()) -> str:
        """Rewrites what the action and the domain's rules fully determine in a predicted observation (e.g.
        the engine's fixed reply to a command that succeeded) into the engine's exact words.

        ``task`` and ``history`` (the episode's earlier transitions) let a rule read the goal and what
        the agent has done. The default keeps the observation as it is."""
        return observation

    def implausible_observation(self, task: Task, history: Sequence[Transition], state: str, action: str,
                                observation: str) -> str | None:
        """Says why the real engine could not answer ``action`` in ``state`` with ``observation`` given the
        episode so far, or ``None``. The pipeline then asks the model again with another seed (see
        ``StepSettings.resample_retries``). Only for replies the domain's rules rule out; the default rules
        out none."""
        return None

    def check_outcome(self, task: Task, state: str, action: str, outcome: Outcome,
                      history: Sequence[Transition] = ()) -> tuple[Outcome, str | None]:
        """Applies the domain's own success rule to a predicted outcome.

        ``history`` holds the episode's earlier transitions. Returns the (possibly corrected) outcome
        and a note when it was corrected. The default accepts the prediction as is.
        """
        return outcome, None

    # ----- tasks and data ----------------------------------------------------------------------
    def tasks(self, split: str = "train") -> Sequence[Task]:
        """Returns the domain's tasks for a split (``"train"`` or ``"test"``)."""
        return _cached_tasks(self._data_file("tasks.jsonl"), split)

    def seed_transitions(self) -> Sequence[Transition]:
        """Returns the shipped transitions that seed the replay index."""
        return _cached_transitions(self._data_file("seed_transitions.jsonl"))

    def seed_data_files(self) -> list[Path]:
        """Returns the files whose content defines the seed index (used to key its cache)."""
        return [self._data_file("seed_transitions.jsonl")]

    def make_task(self, instruction: str, initial_observation: str | None = None) -> Task:
        """Builds an ad-hoc task from an instruction (for ``reset(options={"task": "..."})``)."""
        obs = initial_observation if initial_observation is not None else self.initial_observation_for(instruction)
        return Task(task_id=stable_id(self.name, instruction), domain=self.name, instruction=instruction,
                    initial_observation=obs)

    def check_generated_task(self, instruction: str, parent: Task) -> TaskCheck:
        """Validates an LLM-written variation of ``parent`` and turns it into a task.

        Domains override this to check the instruction against their task grammar and, where a
        reference engine exists, for feasibility. The default accepts any instruction and starts it
        from the parent's initial observation with the task line replaced when it appears there.
        """
        obs = parent.initial_observation.replace(parent.instruction, instruction)
        if obs == parent.initial_observation:
            obs = self.initial_observation_for(instruction)
        return TaskCheck(self.make_task(instruction, obs))

    def reference_variations(self, parent: Task, rng: random.Random, limit: int = 64) -> list[str]:
        """Valid variations of ``parent`` that the domain can write itself (to teach the experience model
        the curriculum's task-generation prompt).

        The default takes the instructions of the other ``train`` tasks that
        :meth:`check_generated_task` accepts as variations of ``parent``, in random order. Domains with a
        task grammar override it to enumerate instances of their templates.
        """
        others = [t.instruction for t in self.tasks("train") if t.instruction != parent.instruction]
        rng.shuffle(others)
        out = []
        for text in others:
            if len(out) >= limit:
                break
            if self.check_generated_task(text, parent).task is not None:
                out.append(text)
        return out

    # ----- fidelity (dreamgym eval fidelity) ---------------------------------------------------
    def reveals_hidden(self, transition: Transition, history: Sequence[Transition]) -> bool:
        """Whether the real next state shows facts the prompt never did (e.g. a receptacle's contents).

        No model can predict those exactly on an unseen layout; the fidelity harness reports exact
        match on the other ("determined") transitions separately. Default: ``False``.
        """
        return False

    def state_elements(self, state: str) -> frozenset[str] | None:
        """The state's elements for an element-level match (e.g. accessibility-tree nodes), or ``None``."""
        return None

    def initial_observation_for(self, instruction: str) -> str:
        """Returns an initial observation for an ad-hoc instruction (overridden by domains)."""
        return instruction

    def make_policy(self, name: str, seed: int | None = None) -> Policy:
        """Returns a scripted policy by name (``"expert"``, ``"noisy"``, ``"random"``) for data collection."""
        raise NotImplementedError(f"domain {self.name!r} has no scripted policies")

    def import_hooks(self) -> ImportHooks:
        """Returns the domain's cleanup for imported public trajectories (default: no-op hooks)."""
        return ImportHooks()

    def default_model_dir(self) -> Path | None:
        """The trained default experience model shipped with the domain (``data/model``), or ``None``."""
        if self.data_dir is None:
            return None
        folder = Path(self.data_dir) / "model"
        return folder if (folder / "config.json").exists() else None

    def _data_file(self, filename: str) -> Path:
        if self.data_dir is None:
            raise NotImplementedError(f"domain {self.name!r} has no data_dir")
        return Path(self.data_dir) / filename


@functools.lru_cache(maxsize=16)
def _cached_tasks(path: Path, split: str) -> tuple[Task, ...]:
    tasks = load_tasks(path)
    return tuple(t for t in tasks if t.meta.get("split", "train") == split)


@functools.lru_cache(maxsize=16)
def _cached_transitions(path: Path) -> tuple[Transition, ...]:
    return tuple(load_transitions(path))


#: Registry: domain name -> "module:ClassName". Data, not branches: add your own with register_domain.
_DOMAINS: dict[str, str] = {
    "alfworld": "dreamgym_env.envs.alfworld.domain:ALFWorldDomain",
    "webshop": "dreamgym_env.envs.webshop.domain:WebShopDomain",
    "webarena": "dreamgym_env.envs.webarena.domain:WebArenaDomain",
}


def register_domain(name: str, entry_point: str) -> None:
    """Registers a domain class under ``name`` (``entry_point`` is ``"module:ClassName"``)."""
    _DOMAINS[name] = entry_point
    get_domain.cache_clear()


def domain_names() -> list[str]:
    """Returns the registered domain names."""
    return sorted(_DOMAINS)


@functools.cache
def get_domain(name: str) -> Domain:
    """Returns the (shared, stateless) domain instance registered under ``name``."""
    if name not in _DOMAINS:
        raise UnknownDomainError(name, _DOMAINS)
    module, _, attr = _DOMAINS[name].partition(":")
    cls = getattr(importlib.import_module(module), attr)
    return cls()
