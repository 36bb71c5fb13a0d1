"""The webarena domain: reference sites with WebArena's observations, actions and evaluators.

Importing this package is cheap: the reference env is registered with a string entry point.
"""

from __future__ import annotations

#: Gymnasium id of the reference environment.
REF_ENV_ID = "WebArena-Ref-v0"


def register_envs() -> None:
    """Registers ``WebArena-Ref-v0`` (the five reference sites, 30-step limit as upstream)."""
    import gymnasium as gym

    if REF_ENV_ID not in gym.registry:
        gym.register(id=REF_ENV_ID, entry_point="dreamgym_env.envs.webarena.env:WebArenaRefEnv",
                     max_episode_steps=30, kwargs={"split": "train"})
