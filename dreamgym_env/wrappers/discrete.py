"""A discrete-action, vector-observation view of a text env, for classic RL libraries.

Stable-Baselines3, sb3-contrib's ``MaskablePPO`` and CleanRL-style code want ``Discrete`` actions and
``Box`` observations. :class:`DiscreteActions` gives them both: action ``i`` is the ``i``-th entry of
the env's ``info["admissible_actions"]`` (sorted, so the same list gives the same indices), and the
observation is the embedding of the task and of the current observation text.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, SupportsFloat

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from dreamgym_env.replay.embedder import Embedder

#: The action sent to the text env for an index that names no admissible action.
MASKED_ACTION = ""


class DiscreteActions(gym.Wrapper[np.ndarray, np.int64, str, str], gym.utils.RecordConstructorArgs):
    """Wraps a text env whose ``info`` lists ``admissible_actions``.

    ## Action Space
    ``Discrete(max_actions)``. Index ``i`` plays the ``i``-th admissible action of the current state.
    An index that names no action (``i >= len(admissible)``, or any masked index) is never looked up:
    the env gets an empty action, so it answers as to any bad action (nothing happens) and
    ``info["action_error"]`` says which index was masked. :meth:`action_masks` gives the valid
    indices for ``MaskablePPO``.

    ## Observation Space
    ``Box(-1, 1, (2 * dim,), float32)``: ``[embed(task), embed(observation)]`` with unit-norm halves
    (``dim`` is the embedder's). The task text is ``info["task"]``'s instruction when the env gives one,
    else the first observation.

    ## Info
    The wrapped env's, plus ``action_text`` (what was played), ``num_admissible`` and
    ``admissible_truncated`` (actions beyond ``max_actions`` that could not be chosen).

    Args:
        env: A text env (``str`` observations and actions) that sets ``info["admissible_actions"]``.
        max_actions: Size of the action space; longer admissible lists are cut (and counted).
        embedder: Any :class:`~dreamgym_env.replay.embedder.Embedder`; ``None`` = the replay embedder
            (all-MiniLM-L6-v2, shared process-wide).
        sort_actions: Sort the admissible list before indexing (keeps indices stable).
    """

    def __init__(self, env: gym.Env[str, str], max_actions: int = 64, embedder: Embedder | None = None,
                 sort_actions: bool = True) -> None:
        gym.utils.RecordConstructorArgs.__init__(self, max_actions=max_actions, embedder=embedder,
                                                 sort_actions=sort_actions)
        gym.Wrapper.__init__(self, env)
        if max_actions < 1:
            raise ValueError(f"max_actions must be >= 1, got {max_actions}")
        if embedder is None:
            from dreamgym_env.replay.embedder import get_embedder

            embedder = get_embedder()
        self.embedder = embedder
        self.max_actions = max_actions
        self.sort_actions = sort_actions
        self.action_space = spaces.Discrete(max_actions)
        self.observation_space = spaces.Box(-1.0, 1.0, shape=(2 * embedder.dim,), dtype=np.float32)
        self._actions: list[str] = []
        self._truncated_actions = 0
        self._task_vec = np.zeros(embedder.dim, dtype=np.float32)

    # ----- helpers --------------------------------------------------------------------------------
    def _set_actions(self, info: dict[str, Any]) -> None:
        acts = [a for a in (info.get("admissible_actions") or []) if isinstance(a, str) and a.strip()]
        acts = list(dict.fromkeys(acts))
        if self.sort_actions:
            acts.sort()
        self._truncated_actions = max(0, len(acts) - self.max_actions)
        self._actions = acts[:self.max_actions]
        info["num_admissible"] = len(self._actions)
        info["admissible_truncated"] = self._truncated_actions

    def _embed(self, text: str) -> np.ndarray:
        return np.clip(self.embedder.encode([text])[0], -1.0, 1.0).astype(np.float32)

    def _observation(self, text: str) -> np.ndarray:
        return np.concatenate([self._task_vec, self._embed(text)])

    @property
    def admissible_actions(self) -> list[str]:
        """The action texts that the indices ``0 .. len - 1`` name right now."""
        return list(self._actions)

    def action_masks(self) -> np.ndarray:
        """Boolean mask over ``Discrete(max_actions)``: ``True`` where the index names an action."""
        mask = np.zeros(self.max_actions, dtype=bool)
        mask[:len(self._actions)] = True
        return mask

    # ----- Gymnasium API --------------------------------------------------------------------------
    def reset(self, *, seed: int | None = None,
              options: dict[str, Any] | None = None) -> tuple[np.ndarray, dict[str, Any]]:
        """Resets the text env and embeds the task and the first observation."""
        obs, info = self.env.reset(seed=seed, options=options)
        task = info.get("task")
        instruction = task if isinstance(task, str) and task else getattr(task, "instruction", None) or obs
        self._task_vec = self._embed(str(instruction))
        self._set_actions(info)
        return self._observation(obs), info

    def step(self, action: Any) -> tuple[np.ndarray, SupportsFloat, bool, bool, dict[str, Any]]:
        """Plays admissible action number ``action`` (a masked index plays nothing; see class doc)."""
        masked_error = None
        try:
            index = int(np.asarray(action).reshape(-1)[0])
        except (TypeError, ValueError, IndexError):
            index = -1
        if 0 <= index < len(self._actions):
            text = self._actions[index]
        else:
            text = MASKED_ACTION
            masked_error = (f"action index {action!r} names no admissible action "
                            f"({len(self._actions)} available; use action_masks())")
        obs, reward, terminated, truncated, info = self.env.step(text)
        if masked_error is not None:
            info["action_error"] = masked_error
        info["action_text"] = text
        self._set_actions(info)
        return self._observation(obs), reward, terminated, truncated, info


def discrete_env_fn(env_id: str, max_actions: int = 64, embedder: Embedder | None = None,
                    **kwargs: Any) -> Callable[[], DiscreteActions]:
    """Returns a thunk that makes ``DiscreteActions(gym.make(env_id, **kwargs))`` (for ``make_vec_env``)."""

    def make() -> DiscreteActions:
        return DiscreteActions(gym.make(env_id, **kwargs), max_actions=max_actions, embedder=embedder)

    return make


def mask_fn(env: gym.Env) -> np.ndarray:
    """``sb3_contrib.common.wrappers.ActionMasker``'s callback: the env's :meth:`DiscreteActions.action_masks`."""
    return env.get_wrapper_attr("action_masks")()


__all__: Sequence[str] = ["MASKED_ACTION", "DiscreteActions", "discrete_env_fn", "mask_fn"]
