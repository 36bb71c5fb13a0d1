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


_TAG_RE = re.compile(r"<(/?)({})>".format("|".join(_TAGS)), re.IGNORECASE)


class _Tags:
    """Positions of the reply's tags, found in one linear scan.

    Matching ``<tag>(.*?)</tag>`` per tag is quadratic on replies with many unclosed tags (100 KB of
    ``<state>`` took 10 s); one scan plus a cursor is linear, and reading the fields in reply order
    means a ``<reward>`` written inside ``<think>`` or ``<state>`` is never taken for the reward.
    """

    def __init__(self, text: str) -> None:
        self.text = text
        self.tags = [(m.start(), m.end(), m.group(2).lower(), bool(m.group(1))) for m in _TAG_RE.finditer(text)]

    def field(self, tag: str, start: int = 0) -> tuple[str | None, bool, int]:
        """Returns (content, closed, end) of the first ``<tag>`` at or after ``start``.

        Unclosed content runs to the next tag; ``end`` is where the next field's search starts.
        """
        for k, (pos, end, name, closing) in enumerate(self.tags):
            if pos < start or name != tag or closing:
                continue
            for pos2, end2, name2, closing2 in self.tags[k + 1:]:
                if name2 == tag and closing2:
                    return self.text[end:pos2], True, end2
            nxt = self.tags[k + 1][0] if k + 1 < len(self.tags) else len(self.text)
            return self.text[end:nxt], False, nxt
        return None, False, start


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
    tags = _Tags(text)
    reasoning, think_closed, pos = tags.field("think")
    if reasoning is None:
        if require_reasoning:
            return ParsedReply("", "", 0.0, False, "missing <think>")
        reasoning = ""
    elif not think_closed:
        notes.append("unclosed <think>")
    reasoning = _TAG_RE.sub("", reasoning).strip()
    state, state_closed, pos = tags.field("state", pos)
    if state is None:
        return ParsedReply(reasoning, "", 0.0, False, "missing <state>")
    if not state_closed:
        if truncated or tags.field("reward", pos)[0] is None:
            return ParsedReply(reasoning, "", 0.0, False, "<state> cut off (no closing tag)")
        notes.append("unclosed <state>")
    if _TAG_RE.search(state):  # nested or stray reply tags are not part of an observation
        notes.append("reply tags removed from <state>")
        state = _TAG_RE.sub("", state)
    state = state.strip()
    raw_reward, _, pos = tags.field("reward", pos)
    if raw_reward is None:
        return ParsedReply(reasoning, state, 0.0, False, "missing <reward>")
    try:
        reward = float(raw_reward.strip())
    except ValueError:
        return ParsedReply(reasoning, state, 0.0, False, f"reward is not a number: {raw_reward.strip()[:40]!r}")
    if not math.isfinite(reward):
        return ParsedReply(reasoning, state, 0.0, False, f"reward is not finite: {raw_reward.strip()[:40]!r}")
    lo, hi = reward_range
    if not lo <= reward <= hi:
        notes.append(f"reward {reward:g} clipped to [{lo:g}, {hi:g}]")
        reward = min(max(reward, lo), hi)
    raw_done, _, _ = tags.field("done", pos)
    if raw_done is None:
        return ParsedReply(reasoning, state, reward, False, "missing <done>")
    done = _parse_bool(raw_done)
    if done is None:
        return ParsedReply(reasoning, state, reward, False, f"done is not a boolean: {raw_done.strip()[:40]!r}")
    return ParsedReply(reasoning, state, reward, done, None, tuple(notes))
