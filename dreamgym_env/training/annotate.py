"""Teacher annotation with any OpenAI-compatible LLM, for transitions that have no engine behind them.

Real-engine domains explain their transitions from the engine's own facts (e.g. ALFWorld's
``envs/alfworld/teacher.py``). Imported public trajectories have no engine, so a teacher LLM
writes the *why*: is the action valid, what changed, why the reward is what it is. Requests run
concurrently so a vLLM server batches them; only connection errors, timeouts and 5xx are retried.

    from dreamgym_env.training.annotate import TeacherConfig, annotate
    out = list(annotate(transitions, TeacherConfig(base_url="http://127.0.0.1:8000/v1")))
"""

from __future__ import annotations

import dataclasses
import os
import re
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from dreamgym_env.error import ModelRequestError, ServerUnavailableError
from dreamgym_env.types import Transition

TEACHER_INSTRUCTIONS = (
    "You are the teacher of an environment simulator. Given the task, the state before, the agent's "
    "action, the state after, the reward and whether the episode ended, explain in one to three short "
    "sentences WHY this happened: whether the action was valid in that state and why, what changed, and "
    "why the reward is what it is. Answer with the explanation only."
)


@dataclass(frozen=True)
class TeacherConfig:
    """Teacher LLM settings.

    Attributes:
        base_url: OpenAI-compatible server URL including ``/v1``.
        model: Served model name; ``None`` asks the server for its first model.
        api_key: Bearer token; defaults to ``$DREAMGYM_API_KEY``, then ``"EMPTY"``.
        system_prompt: Domain rules prepended to the teacher instructions (e.g. ``Domain.system_prompt()``).
        max_tokens: Budget of one explanation.
        temperature: Sampling temperature (0: deterministic where the server allows).
        concurrency: Requests in flight at once.
        timeout_s: Per-request timeout.
        max_retries: Retries on connection errors, timeouts and 5xx.
        overwrite: Re-annotate transitions that already have reasoning.
    """

    base_url: str = field(default="http://127.0.0.1:8000/v1", metadata={"help": "server URL with /v1"})
    model: str | None = field(default=None, metadata={"help": "served model name (default: the server's first)"})
    api_key: str | None = field(default=None, metadata={"help": "API key (default $DREAMGYM_API_KEY or EMPTY)"})
    system_prompt: str = field(default="", metadata={"help": "domain rules shown to the teacher"})
    max_tokens: int = field(default=96, metadata={"help": "tokens per explanation"})
    temperature: float = field(default=0.0, metadata={"help": "sampling temperature"})
    concurrency: int = field(default=16, metadata={"help": "concurrent requests"})
    timeout_s: float = field(default=120.0, metadata={"help": "per-request timeout in seconds"})
    max_retries: int = field(default=3, metadata={"help": "retries on connection errors/5xx"})
    overwrite: bool = field(default=False, metadata={"help": "replace existing reasoning"})


def build_messages(t: Transition, system_prompt: str = "") -> list[dict[str, str]]:
    """The chat messages asking the teacher about one transition."""
    system = (system_prompt.strip() + "\n\n" if system_prompt.strip() else "") + TEACHER_INSTRUCTIONS
    validity = "" if t.valid is None else f"\nThe environment judged the action {'valid' if t.valid else 'invalid'}."
    user = (f"Task: {t.instruction}\n\nState before:\n{t.state}\n\nAction: {t.action}\n\nState after:\n"
            f"{t.next_state}\n\nReward: {t.reward:g}\nEpisode ended: {'yes' if t.done else 'no'}{validity}\n\n"
            "Why did this happen?")
    return [{"role": "system", "content": system}, {"role": "user", "content": user}]


_THINK = re.compile(r"</?think>", re.IGNORECASE)


def clean_reply(text: str, max_sentences: int = 3) -> str:
    """Normalizes a teacher reply: drops think tags and blank lines, keeps at most ``max_sentences``."""
    text = " ".join(_THINK.sub(" ", text or "").split())
    sentences = re.split(r"(?<=[.!?])\s+", text)
    return " ".join(sentences[:max_sentences]).strip()


class Teacher:
    """Asks an OpenAI-compatible server for explanations.

    Args:
        config: Teacher settings.
        client: An ``openai.OpenAI``-like client (tests pass a fake); built from ``config`` when ``None``.
    """

    def __init__(self, config: TeacherConfig, client: Any = None) -> None:
        self.config = config
        if client is None:
            import openai

            client = openai.OpenAI(base_url=config.base_url,
                                   api_key=config.api_key or os.environ.get("DREAMGYM_API_KEY") or "EMPTY",
                                   timeout=config.timeout_s, max_retries=0)
        self._client = client
        self._model = config.model

    @property
    def model(self) -> str:
        """The served model name."""
        if self._model is None:
            try:
                names = [m.id for m in self._client.models.list().data]
            except Exception as e:  # any transport failure means the server is not usable
                raise ServerUnavailableError(self.config.base_url, type(e).__name__) from e
            if not names:
                raise ModelRequestError(f"The server at {self.config.base_url} serves no model.")
            self._model = names[0]
        return self._model

    def explain(self, t: Transition) -> str:
        """Returns the teacher's explanation of one transition.

        Raises:
            ServerUnavailableError: the server stayed unreachable after the retries.
            ModelRequestError: the server rejected the request (4xx).
        """
        import openai
        from tenacity import Retrying, retry_if_exception_type, stop_after_attempt, wait_exponential

        # Retry only what a retry can fix: a server starting, restarting or overloaded.
        retrying = Retrying(
            retry=retry_if_exception_type((openai.APIConnectionError, openai.APITimeoutError,
                                           openai.InternalServerError)),
            stop=stop_after_attempt(self.config.max_retries + 1),
            wait=wait_exponential(multiplier=0.5, max=8.0), reraise=True)
        try:
            reply = retrying(self._client.chat.completions.create, model=self.model,
                             messages=build_messages(t, self.config.system_prompt),
                             max_tokens=self.config.max_tokens, temperature=self.config.temperature)
        except (openai.APIConnectionError, openai.APITimeoutError, openai.InternalServerError) as e:
            raise ServerUnavailableError(self.config.base_url, type(e).__name__) from e
        except openai.APIStatusError as e:
            raise ModelRequestError(f"The teacher server rejected the request: {e}") from e
        return clean_reply(reply.choices[0].message.content or "")


def annotate(transitions: Iterable[Transition], config: TeacherConfig, client: Any = None,
             progress: bool = True) -> Iterator[Transition]:
    """Yields the transitions, in order, with teacher reasoning filled in.

    Transitions that already have reasoning are passed through unless ``config.overwrite``. An empty
    reply leaves the reasoning empty and sets ``meta["teacher_error"]``.
    """
    from tqdm.auto import tqdm

    teacher = Teacher(config, client)
    items: Sequence[Transition] = list(transitions)
    todo = [i for i, t in enumerate(items) if config.overwrite or not t.reasoning]
    with ThreadPoolExecutor(max_workers=max(1, config.concurrency)) as pool:
        replies = pool.map(lambda i: teacher.explain(items[i]), todo)
        done = dict(zip(todo, tqdm(replies, total=len(todo), desc="annotate", disable=not progress)))
    for i, t in enumerate(items):
        if i not in done:
            yield t
            continue
        meta = {**t.meta, "teacher": teacher.model}
        if not done[i]:
            meta["teacher_error"] = "empty reply"
        yield dataclasses.replace(t, reasoning=done[i], meta=meta)
