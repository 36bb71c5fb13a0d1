"""The bounded unicode text space."""

from __future__ import annotations

import pytest

from dreamgym_env.spaces import BoundedText


def test_contains_unicode_and_bounds() -> None:
    s = BoundedText(20)
    assert s.contains("click [Buy Now] → ok")
    assert s.contains("")
    assert not s.contains("x" * 21)
    assert not s.contains(b"bytes")
    assert not s.contains(5)
    assert not s.contains("\ud800")  # lone surrogate cannot be encoded


def test_sample_is_seeded_and_contained() -> None:
    a, b = BoundedText(100, seed=3), BoundedText(100, seed=3)
    xs = [a.sample() for _ in range(50)]
    assert xs == [b.sample() for _ in range(50)]
    assert all(a.contains(x) for x in xs)


def test_min_length_and_equality() -> None:
    s = BoundedText(10, min_length=2, seed=0)
    assert all(len(s.sample()) >= 2 for _ in range(20))
    assert not s.contains("a")
    assert s == BoundedText(10, min_length=2) and s != BoundedText(11, min_length=2)
    with pytest.raises(ValueError):
        BoundedText(3, min_length=4)
