"""WebShop's action syntax, shared by the engine and the domain (no heavy imports)."""

from __future__ import annotations

import re

#: Upstream's action pattern (``re.match``: a prefix match, greedy).
ACTION_PATTERN = re.compile(r"(.+)\[(.+)\]")
#: Longest search keywords accepted; longer ones are rejected as malformed.
MAX_KEYWORDS_CHARS = 200


def parse_action(action: str) -> tuple[str, str | None]:
    """Splits an action into ``(name, argument)`` as upstream does (argument ``None`` if no brackets)."""
    m = ACTION_PATTERN.match(action)
    if m is None:
        return action, None
    return m.group(1), m.group(2)


#: The type factor of upstream's purchase score (``r_type``).
R_TYPES = (0.0, 0.1, 0.5, 1.0)


def achievable_rewards(n_attributes: int, n_options: int) -> list[float]:
    """Every purchase score upstream's formula can give a goal of this shape (sorted, unique)."""
    n = n_attributes + n_options + 1
    return sorted({round(r * k / n, 10) for r in R_TYPES for k in range(n + 1)})
