"""The learner of the sim-to-real benchmarks: a linear softmax over action features, trained with REINFORCE.

Both ``bench_sim_to_real.py`` (ALFWorld) and ``bench_sim_to_real_webshop.py`` use it; the features come
from ``envs/<domain>/features.py`` through the episode memory passed to :meth:`LinearPolicy.act`.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

import numpy as np


class Featurizer(Protocol):
    """What the policy needs of an episode memory: one feature row per candidate action."""

    def features(self, action: str) -> np.ndarray: ...


@dataclass
class LinearPolicy:
    """Softmax over admissible actions of ``theta . features(action)``, trained with REINFORCE.

    ``batch`` = 1 updates after every episode against a running-mean baseline. ``batch`` > 1 waits for
    that many episodes and scales each step's return-to-go by the batch's mean and spread (normalised
    advantages), so one success in a batch of failures moves the policy as much as many do.

    ``grouped`` splits each distinct feature row's weight ``exp(theta . phi)`` evenly among the actions that
    share that row, so the policy chooses between kinds of action first: the one ``put`` that ends a task
    weighs as much, untrained, as all twenty ``go to`` a place already visited together, where plain
    (``grouped=False``) it weighs one twenty-first of them. The score-function form is unchanged
    (``phi - E[phi]`` under the grouped probabilities).
    """

    lr: float = 0.3
    gamma: float = 0.95
    theta: np.ndarray = field(default_factory=lambda: np.zeros(0))
    baseline: float = 0.0
    batch: int = 1
    pending: list[tuple[list[np.ndarray], list[float]]] = field(default_factory=list)
    grouped: bool = False

    @classmethod
    def zeros(cls, n_features: int, **kwargs: Any) -> LinearPolicy:
        """The uniform policy over ``n_features`` features."""
        return cls(theta=np.zeros(n_features), **kwargs)

    def copy(self) -> LinearPolicy:
        """An independent copy (without episodes waiting for a batch update)."""
        return replace(self, theta=self.theta.copy(), pending=[])

    def probabilities(self, phi: np.ndarray) -> np.ndarray:
        """The probability of each candidate action (one feature row each)."""
        logits = phi @ self.theta
        if self.grouped:
            _, inverse, counts = np.unique(phi, axis=0, return_inverse=True, return_counts=True)
            logits = logits - np.log(counts[inverse.reshape(-1)])
        p = np.exp(logits - logits.max())
        return p / p.sum()

    def act(self, memory: Featurizer, actions: Sequence[str], rng: random.Random) -> tuple[str, np.ndarray, np.ndarray]:
        """Samples an action; returns it with its feature row and the expected feature row."""
        phi = np.stack([memory.features(a) for a in actions])
        p = self.probabilities(phi)
        k = rng.choices(range(len(actions)), weights=p.tolist())[0]
        return actions[k], phi[k], p @ phi

    def _returns(self, rewards: Sequence[float]) -> list[float]:
        ret, out = 0.0, []
        for r in reversed(rewards):
            ret = r + self.gamma * ret
            out.append(ret)
        return out[::-1]

    def update(self, grads: Sequence[np.ndarray], rewards: Sequence[float]) -> None:
        """Records one finished episode's score-function terms and per-step rewards, and learns from it."""
        if self.batch > 1:
            self.pending.append((list(grads), list(rewards)))
            if len(self.pending) >= self.batch:
                self._batch_update()
            return
        returns = self._returns(rewards)
        for g, G in zip(grads, returns):
            self.theta += self.lr * (G - self.baseline) * g
        self.baseline += 0.05 * (returns[0] - self.baseline) if returns else 0.0

    def flush(self) -> None:
        """Learns from the episodes still waiting for a full batch (at the end of training)."""
        if self.pending:
            self._batch_update()

    def _batch_update(self) -> None:
        episodes = [(grads, self._returns(rewards)) for grads, rewards in self.pending]
        self.pending = []
        pooled = np.array([G for _, returns in episodes for G in returns])
        if pooled.size == 0 or pooled.std() < 1e-8:
            return  # nothing to tell apart: every step returned the same
        mu, sd = pooled.mean(), pooled.std()
        step = sum(((G - mu) / sd) * g for grads, returns in episodes for g, G in zip(grads, returns))
        self.theta += self.lr * step / len(episodes)
