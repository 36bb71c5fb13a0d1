"""Chooses and builds the experience-model backend from the env's settings."""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass

from dreamgym_env.error import InvalidConfigError
from dreamgym_env.model.base import ExperienceModel

BACKENDS = ("auto", "openai", "transformers")
BASE_URL_ENV = "DREAMGYM_BASE_URL"


@dataclass(frozen=True)
class ModelSpec:
    """Which experience model to use.

    Attributes:
        backend: ``"openai"`` (a server), ``"transformers"`` (in-process), or ``"auto"``: a server when
            ``base_url`` or ``$DREAMGYM_BASE_URL`` is set, else in-process.
        base_url: OpenAI-compatible server URL (``.../v1``); several, comma-separated, spread the
            requests over replicas (:class:`~dreamgym_env.model.multi_endpoint.MultiEndpointModel`).
        model: Served model name (server) or model alias/folder (in-process); ``None`` = default.
        api_key: Server API key.
        timeout_s: Per-request timeout (server).
        max_retries: Retries on connection errors/5xx (server).
        structured_outputs: Constrained decoding with the reply regex (server; ``None`` = auto).
        max_concurrency: Concurrent requests (server).
        domain: The env's domain; in-process with no ``model`` it picks the domain's trained default.
    """

    backend: str = "auto"
    base_url: str | None = None
    model: str | None = None
    api_key: str | None = None
    timeout_s: float = 300.0
    max_retries: int = 3
    structured_outputs: bool | None = None
    max_concurrency: int = 64
    domain: str | None = None

    def resolved_backend(self) -> str:
        """Returns ``"openai"`` or ``"transformers"``."""
        if self.backend not in BACKENDS:
            raise InvalidConfigError(f"Unknown backend {self.backend!r}. Valid ones: {', '.join(BACKENDS)}.")
        if self.backend != "auto":
            return self.backend
        return "openai" if self.base_url_or_env() else "transformers"

    def base_url_or_env(self) -> str | None:
        """The configured base URL, else ``$DREAMGYM_BASE_URL``."""
        return self.base_url or os.environ.get(BASE_URL_ENV) or None


_shared: dict[ModelSpec, ExperienceModel] = {}
_lock = threading.Lock()


def make_experience_model(spec: ModelSpec) -> ExperienceModel:
    """Returns the experience model for ``spec``, shared by every env of this process with the same spec.

    Sharing matters: N envs in one process use one HTTP pool or one in-process model, not N. A shared
    model that its user closed is built anew on the next call, not handed out dead.
    """
    with _lock:
        model = _shared.get(spec)
        if model is None or getattr(model, "closed", False):
            model = _build(spec)
            _shared[spec] = model
        return model


def release_shared_models() -> None:
    """Closes every shared model (for tests and long-lived processes)."""
    with _lock:
        for m in _shared.values():
            m.close()
        _shared.clear()


def _build(spec: ModelSpec) -> ExperienceModel:
    if spec.resolved_backend() == "openai":
        return build_http_model(spec)
    from dreamgym_env.model.assets import embedded_default, resolve_model_path
    from dreamgym_env.model.transformers_backend import TransformersExperienceModel, TransformersModelConfig

    path = resolve_model_path(spec.model or embedded_default(spec.domain))
    return TransformersExperienceModel(TransformersModelConfig(model_path=str(path)))


def build_http_model(spec: ModelSpec) -> ExperienceModel:
    """A new (unshared) client for ``spec``'s server, or for its replicas when ``base_url`` lists several.

    Raises:
        InvalidConfigError: No base URL is configured.
    """
    from dreamgym_env.model.multi_endpoint import MultiEndpointModel, split_base_urls
    from dreamgym_env.model.openai_backend import OpenAIExperienceModel, OpenAIModelConfig

    urls = split_base_urls(spec.base_url_or_env() or "")
    if not urls:
        raise InvalidConfigError(f"backend='openai' needs base_url=... or ${BASE_URL_ENV}.")
    endpoints = [OpenAIExperienceModel(OpenAIModelConfig(
        base_url=url, model=spec.model, api_key=spec.api_key, timeout_s=spec.timeout_s,
        max_retries=spec.max_retries, max_concurrency=spec.max_concurrency,
        structured_outputs=spec.structured_outputs,
    )) for url in urls]
    if len(endpoints) == 1:
        return endpoints[0]
    return MultiEndpointModel(endpoints, max_concurrency=spec.max_concurrency)
