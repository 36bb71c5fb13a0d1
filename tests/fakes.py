"""A deterministic fake experience model, for unit tests of the code *around* the model only.

It proves nothing about the model path; the integration suite talks to a real vLLM server.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

from dreamgym_env.model.base import ModelReply, ModelRequest


def well_formed(request: ModelRequest) -> str:
    """Answers every step with a well-formed reply that echoes the action into the next state."""
    user = request.messages[1]["content"] if len(request.messages) > 1 else ""
    m = re.search(r"<action>([^<]*)</action>\s*$", user)
    action = m.group(1) if m else "?"
    done = "true" if "finish" in action else "false"
    reward = "1" if done == "true" else "0"
    return (f"<think>The action {action} is simulated.</think>\n<state>After {action}.</state>\n"
            f"<reward>{reward}</reward>\n<done>{done}</done>")


class FakeModel:
    """Replies with ``reply_fn(request)``; records every request it saw."""

    def __init__(self, reply_fn: Callable[[ModelRequest], str] = well_formed,
                 replies: Sequence[str] | None = None) -> None:
        self.name = "fake"
        self.reply_fn = reply_fn
        self.queue = list(replies or [])
        self.requests: list[ModelRequest] = []
        self.closed = False

    def generate(self, requests: Sequence[ModelRequest]) -> list[ModelReply]:
        out = []
        for r in requests:
            self.requests.append(r)
            text = self.queue.pop(0) if self.queue else self.reply_fn(r)
            out.append(ModelReply(text=text, prompt_tokens=10, completion_tokens=len(text.split())))
        return out

    def close(self) -> None:
        self.closed = True
