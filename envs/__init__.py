"""The DreamGym domains: one subpackage per domain, each holding all of its domain knowledge.

Importing this package must stay cheap: domains register their real/reference environments with
string entry points, so heavy engines are imported only when such an env is made.
"""

from __future__ import annotations

import importlib

#: Subpackages that expose ``register_envs()``.
DOMAIN_PACKAGES = ("alfworld", "webshop", "webarena")


def register_envs() -> None:
    """Registers every domain's real/reference environments with Gymnasium."""
    for name in DOMAIN_PACKAGES:
        module = importlib.import_module(f"{__name__}.{name}")
        register = getattr(module, "register_envs", None)
        if register is not None:
            register()
