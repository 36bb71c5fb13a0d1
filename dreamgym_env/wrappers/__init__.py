"""Adapters that let off-the-shelf RL libraries train against DreamGym (and any text) envs.

* :class:`DiscreteActions`: ``Discrete`` actions over the admissible-action list (with
  ``action_masks()`` for sb3-contrib's ``MaskablePPO``) and embedding observations, for
  Stable-Baselines3 / CleanRL-style code.
* :func:`rollout_group` / :class:`GroupRollout`: G multi-turn chat rollouts of one task with any
  ``messages -> action`` policy, with per-turn messages and rewards.
* :func:`make_grpo_rollout_func` / :func:`env_reward`: the same episodes as TRL ``GRPOTrainer``'s
  ``rollout_func`` (imported lazily: it needs torch only when called).
"""

from __future__ import annotations

from dreamgym_env.wrappers.discrete import DiscreteActions, discrete_env_fn, mask_fn
from dreamgym_env.wrappers.rollout import ChatFormat, GroupRollout, Trajectory, Turn, rollout_group
from dreamgym_env.wrappers.trl import (
           GRPORolloutConfig,
           env_reward,
           make_grpo_rollout_func,
           valid_action_reward,
)

__all__ = ["ChatFormat", "DiscreteActions", "GRPORolloutConfig", "GroupRollout", "Trajectory", "Turn",
           "discrete_env_fn", "env_reward", "make_grpo_rollout_func", "mask_fn", "rollout_group", "valid_action_reward"]
