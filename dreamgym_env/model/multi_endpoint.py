"""One experience model over several OpenAI-compatible servers (replicas of the same model).

Routing keeps vLLM's prefix cache useful: a request goes to the endpoint that rendezvous hashing
picks for its prompt's head (the system prompt and the first paragraph of the first user message,
which for a DreamGym step is the task), so every step of an episode lands on the server that already holds
that episode's prefix, while different episodes spread over all servers. An endpoint that fails
(:class:`~dreamgym_env.error.ServerUnavailableError`, after its own bounded retries) is skipped for
``cooldown_s`` and its requests go to the next endpoint in their rendezvous order; only when every
endpoint fails does the request fail.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections import Counter
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

from dreamgym_env.error import InvalidConfigError, ServerUnavailableError
from dreamgym_env.model.base import ExperienceModel, ModelReply, ModelRequest, generate_concurrently

#: At most this many characters of the first user message's first paragraph go into the routing key.
ROUTING_CHARS = 512


def split_base_urls(base_url: str) -> list[str]:
    """Splits ``"http://a/v1,http://b/v1"`` (commas or whitespace) into its URLs, duplicates dropped."""
    urls = [u.strip().rstrip("/") for u in base_url.replace(",", " ").split()]
    return list(dict.fromkeys(u for u in urls if u))


def routing_key(request: ModelRequest) -> bytes:
    """The part of a request that decides its endpoint: the system prompt and the first paragraph of the
    first user message (a DreamGym step's ``Task: ...`` line, which every step of an episode shares)."""
    parts = []
    for m in request.messages:
        if m.get("role") == "system":
            parts.append(m.get("content", ""))
        else:
            parts.append(m.get("content", "").split("\n\n", 1)[0][:ROUTING_CHARS])
            break
    return "\x00".join(parts).encode("utf-8", "surrogatepass")


class MultiEndpointModel:
    """An :class:`~dreamgym_env.model.base.ExperienceModel` that spreads requests over several endpoints.

    Args:
        endpoints: One model per server (normally :class:`OpenAIExperienceModel`), all serving the same model.
        cooldown_s: How long a failed endpoint is skipped before it is tried again.
        max_concurrency: Requests in flight at once, over all endpoints.
    """

    def __init__(self, endpoints: Sequence[ExperienceModel], cooldown_s: float = 30.0,
                 max_concurrency: int = 64) -> None:
        self.closed = False  # set by close(); the shared-model factory rebuilds closed models
        if not endpoints:
            raise InvalidConfigError("MultiEndpointModel needs at least one endpoint.")
        self.endpoints = list(endpoints)
        self.cooldown_s = cooldown_s
        self.name = "multi:" + ",".join(e.name for e in self.endpoints)
        self._salts = [e.name.encode() for e in self.endpoints]
        self._down_until = [0.0] * len(self.endpoints)
        self._lock = threading.Lock()
        self._pool = ThreadPoolExecutor(max_workers=max_concurrency, thread_name_prefix="dreamgym-multi")
        self.answered: Counter[int] = Counter()  #: replies per endpoint index
        self.rerouted = 0  #: replies from an endpoint other than the request's own (which failed or cooled down)

    def _ranked(self, request: ModelRequest) -> list[int]:
        key = routing_key(request)
        score = [hashlib.blake2b(salt + b"\x00" + key, digest_size=8).digest() for salt in self._salts]
        return sorted(range(len(self.endpoints)), key=lambda i: score[i], reverse=True)

    def order(self, request: ModelRequest) -> list[int]:
        """Endpoint indices to try, best first: rendezvous order, endpoints in cooldown last."""
        return self._cooling_last(self._ranked(request))

    def _cooling_last(self, ranked: list[int]) -> list[int]:
        now = time.monotonic()
        with self._lock:
            return sorted(ranked, key=lambda i: self._down_until[i] > now)  # stable: keeps the rendezvous order

    def _one(self, request: ModelRequest) -> ModelReply:
        errors = []
        ranked = self._ranked(request)
        for i in self._cooling_last(ranked):
            try:
                reply = self.endpoints[i].generate([request])[0]
            except ServerUnavailableError as e:
                errors.append(f"{self.endpoints[i].name}: {e.__cause__ or e}".splitlines()[0])
                with self._lock:
                    self._down_until[i] = time.monotonic() + self.cooldown_s
                continue
            with self._lock:
                self.answered[i] += 1
                self.rerouted += i != ranked[0]
            return reply
        raise ServerUnavailableError(", ".join(e.name.removeprefix("openai:") for e in self.endpoints),
                                     "no endpoint answered: " + "; ".join(errors))

    def generate(self, requests: Sequence[ModelRequest]) -> list[ModelReply]:
        """Sends the requests concurrently, each to its endpoint; returns replies in order."""
        return generate_concurrently(self._pool, self._one, requests)

    def close(self) -> None:
        """Stops the thread pool and closes every endpoint."""
        self.closed = True
        self._pool.shutdown(wait=True, cancel_futures=True)
        for e in self.endpoints:
            e.close()
