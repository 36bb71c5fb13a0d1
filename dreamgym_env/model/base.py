"""The experience-model protocol shared by every backend."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass
from typing import Protocol, runtime_checkable


@dataclass(frozen=True)
class ReplyFormat:
    """The shape a reply must have: ``[<think>..</think>] <state>..</state> <reward>..</reward> <done>..</done>``.

    Attributes:
        reasoning: Whether the reply starts with ``<think>``.
        binary_reward: Rewards are 0/1 (else a score in [0, 1] with up to 3 decimals).
        max_think_chars: Bound on the reasoning length.
    """

    reasoning: bool = True
    binary_reward: bool = True
    max_think_chars: int = 240

    def regex(self) -> str:
        """The reply's regex, for vLLM's per-request ``structured_outputs``.

        The state may contain ``<`` (e.g. WebShop's "< Prev") but not ``</``, so it cannot end early.
        """
        reward = r"(0|1)" if self.binary_reward else r"(0|1|0\.[0-9]{1,3}|1\.0)"
        think = rf"<think>[^<]{{1,{self.max_think_chars}}}</think>\n" if self.reasoning else ""
        return think + r"<state>([^<]|<[^/])+</state>\n<reward>" + reward + r"</reward>\n<done>(true|false)</done>"


@dataclass(frozen=True)
class ModelRequest:
    """One chat request to the experience model.

    Attributes:
        messages: OpenAI-style chat messages (``{"role": ..., "content": ...}``).
        max_tokens: Generation budget.
        temperature: Sampling temperature (0 = greedy).
        seed: Per-request sampling seed (makes sampled replies reproducible where the backend allows).
        reply_format: The reply's required shape, enforced by constrained decoding where the backend
            can (vLLM: a regex; in-process: staged decoding). ``None`` = free text.
    """

    messages: tuple[dict[str, str], ...]
    max_tokens: int = 256
    temperature: float = 0.0
    seed: int | None = None
    reply_format: ReplyFormat | None = None


#: ``ModelReply.finish_reason`` of a request the model could not take: its prompt (with the reply's
#: budget) does not fit the model's context. The text is empty; the step pipeline shortens the prompt
#: and asks again.
CONTEXT_LENGTH = "context_length"


@dataclass(frozen=True)
class ModelReply:
    """The model's raw reply with its cost (``finish_reason``: ``"stop"``, ``"length"`` or
    :data:`CONTEXT_LENGTH`)."""

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


def generate_concurrently(pool: Executor, one: Callable[[ModelRequest], ModelReply],
                          requests: Sequence[ModelRequest]) -> list[ModelReply]:
    """Runs ``one`` over the requests on ``pool`` (a single request on the calling thread); replies in order."""
    if len(requests) == 1:
        return [one(requests[0])]
    return list(pool.map(one, requests))
