"""Parses the experience model's reply: ``<think>`` reasoning, ``<state>``, ``<reward>``, ``<done>``.

Parsing is lenient (missing closing tags, extra whitespace, ``True``/``yes``) but never guesses a
reward: a reward that is not a finite number is a parse error, so the caller repairs or falls back.
Never raises.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from dreamgym_env.model.base import ReplyFormat

_TAGS = ("think", "state", "reward", "done")
_TRUE = {"true", "yes", "1", "done", "finished", "complete", "completed"}
_FALSE = {"false", "no", "0", "not done", "ongoing", "continue"}


@dataclass(frozen=True)
class ParsedReply:
    """A parsed reply. ``error`` is ``None`` only when every required field was read."""

    reasoning: str
    next_state: str
    reward: float
    done: bool
    error: str | None = None
    notes: tuple[str, ...] = ()


def reply_regex(binary_reward: bool, reasoning: bool = True, max_think_chars: int = 240) -> str:
    """Returns the regex of a well-formed reply (see :meth:`ReplyFormat.regex`)."""
    return ReplyFormat(reasoning, binary_reward, max_think_chars).regex()


def _field(text: str, tag: str) -> tuple[str | None, bool]:
    """Returns (content, closed) of the first ``<tag>``; content runs to the next tag if unclosed."""
    m = re.search(rf"<{tag}>(.*?)</{tag}>", text, re.DOTALL | re.IGNORECASE)
    if m:
        return m.group(1), True
    m = re.search(rf"<{tag}>(.*)", text, re.DOTALL | re.IGNORECASE)
    if not m:
        return None, False
    rest = m.group(1)
    nxt = re.search(r"</?(?:%s)>" % "|".join(_TAGS), rest, re.IGNORECASE)
    return (rest[: nxt.start()] if nxt else rest), False


def _parse_bool(raw: str) -> bool | None:
    s = raw.strip().strip(".!\"'").lower()
    if s in _TRUE:
        return True
    if s in _FALSE:
        return False
    words = set(re.findall(r"[a-z]+", s))
    has_t, has_f = bool(words & {"true", "yes"}), bool(words & {"false", "no", "not"})
    if has_t != has_f:
        return has_t
    return None


def parse_reply(text: str, reward_range: tuple[float, float] = (0.0, 1.0), require_reasoning: bool = True,
                truncated: bool = False) -> ParsedReply:
    """Parses a reply; see the module docstring.

    Args:
        text: The model's raw reply.
        reward_range: Rewards are clipped into this interval (clipping is noted, not an error).
        require_reasoning: Whether a missing ``<think>`` is an error.
        truncated: The reply hit the token limit; an unclosed ``<state>`` is then an error.
    """
    if not isinstance(text, str):
        return ParsedReply("", "", 0.0, False, f"reply is {type(text).__name__}, not text")
    notes: list[str] = []
    reasoning, think_closed = _field(text, "think")
    if reasoning is None:
        if require_reasoning:
            return ParsedReply("", "", 0.0, False, "missing <think>")
        reasoning = ""
    elif not think_closed:
        notes.append("unclosed <think>")
    state, state_closed = _field(text, "state")
    if state is None:
        return ParsedReply(reasoning.strip(), "", 0.0, False, "missing <state>")
    if not state_closed:
        if truncated or not re.search(r"<reward>", text, re.IGNORECASE):
            return ParsedReply(reasoning.strip(), "", 0.0, False, "<state> cut off (no closing tag)")
        notes.append("unclosed <state>")
    state = state.strip()
    raw_reward, _ = _field(text, "reward")
    if raw_reward is None:
        return ParsedReply(reasoning.strip(), state, 0.0, False, "missing <reward>")
    try:
        reward = float(raw_reward.strip())
    except ValueError:
        return ParsedReply(reasoning.strip(), state, 0.0, False, f"reward is not a number: {raw_reward.strip()[:40]!r}")
    if not math.isfinite(reward):
        return ParsedReply(reasoning.strip(), state, 0.0, False, f"reward is not finite: {raw_reward.strip()[:40]!r}")
    lo, hi = reward_range
    if not lo <= reward <= hi:
        notes.append(f"reward {reward:g} clipped to [{lo:g}, {hi:g}]")
        reward = min(max(reward, lo), hi)
    raw_done, _ = _field(text, "done")
    if raw_done is None:
        return ParsedReply(reasoning.strip(), state, reward, False, "missing <done>")
    done = _parse_bool(raw_done)
    if done is None:
        return ParsedReply(reasoning.strip(), state, reward, False, f"done is not a boolean: {raw_done.strip()[:40]!r}")
    return ParsedReply(reasoning.strip(), state, reward, done, None, tuple(notes))
