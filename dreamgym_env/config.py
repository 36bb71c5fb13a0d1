"""The settings a DreamGym env accepts as ``gymnasium.make(..., **kwargs)``."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any

from dreamgym_env.curriculum.config import CurriculumConfig
from dreamgym_env.error import InvalidConfigError
from dreamgym_env.model.factory import ModelSpec
from dreamgym_env.model.prompt import PromptConfig


@dataclass(frozen=True)
class EnvConfig:
    """Every overridable setting of a DreamGym env. Unknown keys are rejected with this list."""

    base_url: str | None = field(default=None, metadata={"help": "OpenAI-compatible server URL (…/v1), or "
                                                         "several comma-separated replicas; default "
                                                         "$DREAMGYM_BASE_URL, else in-process model"})
    model: str | None = field(default=None, metadata={"help": "served model name, or alias/folder in-process"})
    api_key: str | None = field(default=None, metadata={"help": "server API key (default $DREAMGYM_API_KEY)"})
    backend: str = field(default="auto", metadata={"help": "auto | openai | transformers"})
    temperature: float = field(default=0.0, metadata={"help": "sampling temperature of the experience model"})
    max_new_tokens: int | None = field(default=None, metadata={"help": "reply token budget (domain default)"})
    timeout_s: float = field(default=300.0, metadata={"help": "per-request timeout"})
    max_retries: int = field(default=3, metadata={"help": "retries on connection errors and 5xx"})
    structured_outputs: bool | None = field(default=None, metadata={"help": "regex-constrained replies "
                                                                    "(None: use when the server supports it)"})
    max_concurrency: int = field(default=64, metadata={"help": "concurrent model requests"})
    retrieval_k: int = field(default=3, metadata={"help": "retrieved transitions per step (0 = no retrieval)"})
    replay_path: str | None = field(default=None, metadata={"help": "SQLite replay store (None: shared "
                                                            "read-only cache of the domain's seed data)"})
    record_transitions: bool = field(default=False, metadata={"help": "add synthetic transitions to the "
                                                              "replay store (needs replay_path)"})
    embedder: str | None = field(default=None, metadata={"help": "sentence-transformers model for retrieval"})
    history_window: int = field(default=6, metadata={"help": "past steps shown to the model"})
    reasoning: bool = field(default=True, metadata={"help": "ask for <think> reasoning before the state"})
    task_split: str = field(default="train", metadata={"help": "task split reset() samples from"})
    check_outcome: bool = field(default=True, metadata={"help": "apply the domain's success rule to rewards"})
    repair_observation: bool = field(default=True, metadata={
        "help": "rewrite what the action and the domain's rules fully determine in an observation into the "
                "engine's exact words (ALFWorld: the reply to a command that succeeded; the reply to go to/open: "
                "the place's name and form, each object once, no goal object where the goal cannot start)"})
    check_in_episode: bool = field(default=True, metadata={
        "help": "answer actions the domain rules out given the episode so far (ALFWorld: not among the "
                "engine's admissible commands) with its invalid-action observation, without a model call"})
    tell_from_episode: bool = field(default=True, metadata={
        "help": "answer a valid action whose outcome the episode so far fixes without a model call (WebShop: "
                "a page already shown, the start page after Back to Search, the same item page after an option)"})
    repair_retries: int = field(default=1, metadata={"help": "re-asks after an unparseable reply"})
    resample_retries: int = field(default=1, metadata={
        "help": "re-asks, with another seed, after a reply the domain's rules rule out for the action (ALFWorld: "
                "'Nothing happens.' to an admissible command); one still ruled out is kept and counted"})
    curriculum: str | None = field(default=None, metadata={"help": "curriculum pool file (JSON): reset() draws "
                                                           "tasks from it and episode returns flow back; "
                                                           "created from task_split when absent"})
    curriculum_options: Mapping[str, Any] | None = field(default=None, metadata={
        "help": "CurriculumConfig fields (group_size, tasks_per_round, lambda_generated, ...)"})

    @classmethod
    def from_kwargs(cls, kwargs: Mapping[str, Any]) -> EnvConfig:
        """Builds a config, rejecting unknown keys with the list of valid ones."""
        valid = {f.name for f in fields(cls)}
        unknown = set(kwargs) - valid
        if unknown:
            raise InvalidConfigError.unknown_keys("DreamGym env kwarg(s)", unknown, valid | {"render_mode"})
        cfg = cls(**kwargs)
        if cfg.record_transitions and cfg.replay_path is None:
            raise InvalidConfigError("record_transitions=True needs replay_path=... (a store file you own); "
                                     "the default seed cache is shared and never written to.")
        if cfg.retrieval_k < 0 or cfg.history_window < 0 or cfg.repair_retries < 0 \
                or cfg.resample_retries < 0:
            raise InvalidConfigError("retrieval_k, history_window, repair_retries and resample_retries must be >= 0.")
        if cfg.curriculum_options is not None:
            cfg.curriculum_config()  # rejects unknown or invalid options now, not at the first reset
        return cfg

    def curriculum_config(self) -> CurriculumConfig:
        """The curriculum part of the config (unknown option names are rejected with the valid ones)."""
        opts = dict(self.curriculum_options or {})
        valid = {f.name for f in fields(CurriculumConfig)}
        unknown = set(opts) - valid
        if unknown:
            raise InvalidConfigError.unknown_keys("curriculum_options key(s)", unknown, valid)
        return CurriculumConfig(**opts)

    @staticmethod
    def help() -> dict[str, str]:
        """Returns each setting's help text."""
        return {f.name: f.metadata.get("help", "") for f in fields(EnvConfig)}

    def model_spec(self, domain: str | None = None) -> ModelSpec:
        """The experience-model part of the config (``domain`` picks its trained default in-process)."""
        return ModelSpec(backend=self.backend, base_url=self.base_url, model=self.model, api_key=self.api_key,
                         timeout_s=self.timeout_s, max_retries=self.max_retries,
                         structured_outputs=self.structured_outputs, max_concurrency=self.max_concurrency,
                         domain=domain)

    def prompt_config(self, max_observation_chars: int) -> PromptConfig:
        """The prompt part of the config."""
        return PromptConfig(history_window=self.history_window, state_chars=max_observation_chars,
                            reasoning=self.reasoning)
