"""DreamGym as Gymnasium environments.

``import dreamgym_env`` registers ``DreamGym-WebShop-v0``, ``DreamGym-ALFWorld-v0`` and
``DreamGym-WebArena-v0`` (and the domains' real/reference environments).
"""

from __future__ import annotations

from dreamgym_env.registration import ENV_IDS, register_envs

__version__ = "0.1.0"
__all__ = ["ENV_IDS", "__version__", "register_envs"]

register_envs()
