"""A bounded unicode text space.

Gymnasium's ``spaces.Text`` only contains strings over a fixed charset (alphanumeric by default), so
"click [Buy Now]" or "You arrive at loc 5." fall outside it. Observations and actions here are
arbitrary unicode text; what matters is a length bound and valid UTF-8.
"""

from __future__ import annotations

import string
from typing import Any

import numpy as np
from gymnasium.spaces import Space

#: Characters ``sample()`` draws from: printable ASCII plus a few non-ASCII letters and symbols.
SAMPLE_CHARSET = string.ascii_letters + string.digits + string.punctuation + " " * 8 + "éüßø€→—中日"


class BoundedText(Space[str]):
    """Any ``str`` of at most ``max_length`` characters that encodes to UTF-8.

    Args:
        max_length: Maximum number of characters.
        min_length: Minimum number of characters.
        seed: Seed for :meth:`sample`.
    """

    def __init__(self, max_length: int, *, min_length: int = 0, seed: int | np.random.Generator | None = None):
        if not 0 <= min_length <= max_length:
            raise ValueError(f"need 0 <= min_length <= max_length, got {min_length}, {max_length}")
        self.max_length = int(max_length)
        self.min_length = int(min_length)
        super().__init__(dtype=str, seed=seed)

    def sample(self, mask: Any = None, probability: Any = None) -> str:
        """Returns a random string (length up to ``min(max_length, 64)``, to keep samples cheap)."""
        hi = min(self.max_length, max(self.min_length, 64))
        n = int(self.np_random.integers(self.min_length, hi + 1))
        idx = self.np_random.integers(0, len(SAMPLE_CHARSET), size=n)
        return "".join(SAMPLE_CHARSET[i] for i in idx)

    def contains(self, x: Any) -> bool:
        """Whether ``x`` is a ``str`` within the length bounds that encodes to UTF-8."""
        if not isinstance(x, str) or not self.min_length <= len(x) <= self.max_length:
            return False
        try:
            x.encode("utf-8")
        except UnicodeEncodeError:
            return False
        return True

    @property
    def is_np_flattenable(self) -> bool:
        """Text cannot be flattened into a numpy array."""
        return False

    def __repr__(self) -> str:
        return f"BoundedText(max_length={self.max_length}, min_length={self.min_length})"

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, BoundedText)
            and other.max_length == self.max_length
            and other.min_length == self.min_length
        )

    def __hash__(self) -> int:
        return hash(("BoundedText", self.max_length, self.min_length))

    def to_jsonable(self, sample_n: Any) -> list[str]:
        """Text samples are already JSON-able."""
        return list(sample_n)

    def from_jsonable(self, sample_n: list[str]) -> list[str]:
        """Text samples are already JSON-able."""
        return list(sample_n)
