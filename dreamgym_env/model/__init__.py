"""The reasoning experience model: protocol, prompt building, reply parsing and backends."""

from dreamgym_env.model.base import ExperienceModel, ModelReply, ModelRequest
from dreamgym_env.model.parse import ParsedReply, parse_reply, reply_regex
from dreamgym_env.model.prompt import PromptConfig, build_messages

__all__ = [
    "ExperienceModel",
    "ModelReply",
    "ModelRequest",
    "ParsedReply",
    "PromptConfig",
    "build_messages",
    "parse_reply",
    "reply_regex",
]
