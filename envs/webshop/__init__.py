"""The WebShop domain: a reference shop engine (``WebShop-Real-v0``) and DreamGym-WebShop's rules.

Importing this package stays cheap: the engine loads only when the environment is made.
"""

from __future__ import annotations

import gymnasium as gym

REAL_ENV_ID = "WebShop-Real-v0"


def register_envs() -> None:
    """Registers ``WebShop-Real-v0`` (string entry point: nothing heavy is imported here)."""
    if REAL_ENV_ID in gym.registry:
        return
    gym.register(
        id=REAL_ENV_ID,
        entry_point="dreamgym_env.envs.webshop.env:WebShopRealEnv",
        max_episode_steps=15,
        kwargs={"observation_mode": "text", "split": "train"},
    )
