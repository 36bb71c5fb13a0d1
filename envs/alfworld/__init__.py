"""The ALFWorld domain: the real engine on generated ALFRED problems, policies, teacher, data.

Importing this package is cheap: ``alfworld``/``textworld`` are imported only when
``ALFWorld-Real-v0`` is made.
"""

from __future__ import annotations

REAL_ENV_ID = "ALFWorld-Real-v0"


def register_envs() -> None:
    """Registers ``ALFWorld-Real-v0`` (string entry point: nothing heavy is imported here)."""
    import gymnasium as gym

    if REAL_ENV_ID in gym.registry:
        return
    gym.register(
        id=REAL_ENV_ID,
        entry_point="dreamgym_env.envs.alfworld.real_env:ALFWorldRealEnv",
        max_episode_steps=50,
        kwargs={"dialect": "put"},
    )
