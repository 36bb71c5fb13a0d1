"""The experience-model protocol shared by every backend."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable


@dataclass(frozen=True)
class ModelRequest:
    """One chat request to the experience model.

    Attributes:
        messages: OpenAI-style chat messages (``{"role": ..., "content": ...}``).
        max_tokens: Generation budget.
        temperature: Sampling temperature (0 = greedy).
        seed: Per-request sampling seed (makes sampled replies reproducible where the backend allows).
        regex: A regex the reply must match, used for constrained decoding where supported.
    """

    messages: tuple[dict[str, str], ...]
    max_tokens: int = 256
    temperature: float = 0.0
    seed: int | None = None
    regex: str | None = None


@dataclass(frozen=True)
class ModelReply:
    """The model's raw reply with its cost."""

    text: str
    finish_reason: str = "stop"
    prompt_tokens: int = 0
    completion_tokens: int = 0
    latency_s: float = 0.0


@runtime_checkable
class ExperienceModel(Protocol):
    """Anything that turns a batch of chat requests into replies.

    Implementations run the batch concurrently where they can. Infrastructure failures raise a
    :class:`dreamgym_env.error.DreamGymError` after bounded retries; a reply's *content* is never
    validated here (that is the parser's job).
    """

    name: str

    def generate(self, requests: Sequence[ModelRequest]) -> list[ModelReply]:
        """Returns one reply per request, in order."""
        ...

    def close(self) -> None:
        """Releases connections, threads and memory."""
        ...
