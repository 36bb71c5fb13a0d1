"""Domain-agnostic action guarding: the checks every action passes before any domain rule."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


@dataclass(frozen=True)
class GuardedAction:
    """An action after the guard: the text to use and, if it was rejected, why."""

    text: str
    error: str | None = None


def guard_action(action: object, max_chars: int) -> GuardedAction:
    """Coerces and bounds an agent's action. Never raises.

    The returned ``text`` is always a printable, bounded ``str`` safe to log and to put in a
    prompt; ``error`` is set when the action cannot be valid in any domain.
    """
    if isinstance(action, bytes):
        action = action.decode("utf-8", "replace")
    if not isinstance(action, str):
        return GuardedAction(_printable(repr(action))[:max_chars], f"action must be a str, got {type(action).__name__}")
    text = action
    if len(text) > max_chars:
        return GuardedAction(_printable(text[:max_chars]), f"action is {len(text)} characters long (max {max_chars})")
    if _has_surrogates(text):
        return GuardedAction(_printable(text), "action contains invalid unicode (lone surrogates)")
    if "\n" in text.strip() or "\r" in text.strip():
        return GuardedAction(_printable(text), "action must be a single line")
    if _CONTROL.search(text):
        return GuardedAction(_printable(text), "action contains control characters")
    text = unicodedata.normalize("NFC", text).strip()
    if not text:
        return GuardedAction("", "action is empty")
    return GuardedAction(text)


def match_any(text: str, patterns: Sequence[re.Pattern[str]]) -> re.Match[str] | None:
    """Returns the first full match of ``text`` against ``patterns``, else ``None``."""
    for p in patterns:
        m = p.fullmatch(text)
        if m:
            return m
    return None


def _has_surrogates(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _printable(text: str) -> str:
    """Makes arbitrary text safe to show: lone surrogates and control characters become escapes."""
    text = text.encode("utf-8", "backslashreplace").decode("utf-8")
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text).replace("\n", "\\n").replace("\r", "\\r")
