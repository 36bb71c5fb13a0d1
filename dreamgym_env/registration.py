"""Registers the DreamGym environments with Gymnasium (runs on ``import dreamgym_env``)."""

from __future__ import annotations

import gymnasium as gym

#: Registered id -> domain name. Each id's step limit comes from its domain.
ENV_IDS: dict[str, str] = {
    "DreamGym-WebShop-v0": "webshop",
    "DreamGym-ALFWorld-v0": "alfworld",
    "DreamGym-WebArena-v0": "webarena",
}

#: Step limits, kept here (not read from the domain classes) so registration imports nothing heavy.
_MAX_STEPS = {"webshop": 15, "alfworld": 50, "webarena": 30}


def register_envs() -> None:
    """Registers the three DreamGym ids and every domain's real/reference environment."""
    for env_id, domain in ENV_IDS.items():
        if env_id in gym.registry:
            continue
        gym.register(
            id=env_id,
            entry_point="dreamgym_env.core:DreamGymEnv",
            vector_entry_point="dreamgym_env.vector:DreamGymVectorEnv",
            max_episode_steps=_MAX_STEPS[domain],
            kwargs={"domain": domain},
            disable_env_checker=False,
        )
    from dreamgym_env.envs import register_envs as register_domain_envs

    register_domain_envs()
