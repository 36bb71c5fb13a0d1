"""Multi-turn DreamGym rollouts for TRL's ``GRPOTrainer`` (its ``rollout_func`` hook).

TRL's ``GRPOTrainer(rollout_func=...)`` hands each process its slice of prompts, already repeated
``num_generations`` times, and wants back one completion per prompt as token ids: ``prompt_ids``,
``completion_ids``, ``logprobs``, plus any extra per-completion fields, which it forwards to the
reward functions. :func:`make_grpo_rollout_func` plays each prompt's task as a multi-turn episode:

* the policy is the trainer's own model, sampling one action per turn for all unfinished episodes
  at once (one batched ``generate`` per turn);
* the envs answer every action concurrently (:class:`~dreamgym_env.wrappers.rollout.GroupRollout`);
* the completion is the whole episode: the policy's tokens (``env_mask`` 1) interleaved with the
  env's observation turns rendered by the tokenizer's chat template (``env_mask`` 0, so the loss
  skips them); ``env_reward`` (the episode return) goes to :func:`env_reward`.

verl / OpenRLHF users: :func:`~dreamgym_env.wrappers.rollout.rollout_group` returns the same episodes
as plain chat messages with per-turn rewards (``Trajectory.to_dict()``), which is the shape their
multi-turn agent loops take.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import gymnasium as gym

from dreamgym_env.wrappers.rollout import ChatFormat, GroupRollout, Message


@dataclass(frozen=True)
class GRPORolloutConfig:
    """Sampling and episode limits for :func:`make_grpo_rollout_func`.

    Attributes:
        max_turns: Turns per episode (the env's own step limit also applies).
        max_new_tokens: Tokens per action.
        temperature: Sampling temperature.
        top_p: Nucleus sampling.
        max_length: Stop an episode (truncated) before its token count passes this.
    """

    max_turns: int = 4
    max_new_tokens: int = 24
    temperature: float = 1.0
    top_p: float = 1.0
    max_length: int = 2048


def env_reward(completions: Sequence[Any], env_reward: Sequence[float] | None = None, **kwargs: Any) -> list[float]:
    """GRPO reward function: the episode return computed by the rollout function."""
    if env_reward is None:
        raise ValueError("env_reward is missing: pass rollout_func=make_grpo_rollout_func(...) to GRPOTrainer")
    return [float(r) for r in env_reward]


def valid_action_reward(completions: Sequence[Any], env_valid_rate: Sequence[float] | None = None,
                        **kwargs: Any) -> list[float]:
    """GRPO shaping reward: the share of the episode's actions the env accepted (no ``action_error``)."""
    if env_valid_rate is None:
        raise ValueError("env_valid_rate is missing: pass rollout_func=make_grpo_rollout_func(...) to GRPOTrainer")
    return [float(r) for r in env_valid_rate]


def _prompt_key(prompt: Any) -> str:
    """The task text in a dataset prompt: a string, or the last user message of a conversation."""
    if isinstance(prompt, str):
        return prompt
    if isinstance(prompt, Sequence):
        for m in reversed(prompt):
            if isinstance(m, Mapping) and m.get("role") == "user":
                return str(m.get("content", ""))
    raise TypeError(f"a prompt must be a string or a list of chat messages, got {type(prompt).__name__}")


def _render(tokenizer: Any, messages: list[Message], generation_prompt: bool) -> str:
    return tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=generation_prompt)


def _env_turn_text(tokenizer: Any, before: list[Message], reply: str, observation: Message, eos_emitted: bool) -> str:
    """Text between the policy's reply tokens and its next reply: end-of-turn markup, the user turn, the
    generation prompt (as the chat template renders them)."""
    with_reply = before + [{"role": "assistant", "content": reply}]
    prev = _render(tokenizer, with_reply, False)
    full = _render(tokenizer, with_reply + [observation], True)
    if not full.startswith(prev):  # a template that rewrites earlier turns: fall back to the new part only
        prev = _render(tokenizer, before, True)
        return full[len(prev):] if full.startswith(prev) else observation["content"]
    pos = prev.rfind(reply) if reply else len(_render(tokenizer, before, True))
    closing = prev[pos + len(reply):] if pos >= 0 else ""
    eos = tokenizer.eos_token or ""
    if eos_emitted and eos and closing.startswith(eos):
        closing = closing[len(eos):]
    return closing + full[len(prev):]


def make_grpo_rollout_func(env_fn: Callable[[], gym.Env], *, config: GRPORolloutConfig | None = None,
                           fmt: ChatFormat | None = None, tasks: Mapping[str, Any] | None = None,
                           ) -> Callable[[list[Any], Any], dict[str, list[Any]]]:
    """Builds a ``rollout_func`` for ``trl.GRPOTrainer`` that plays multi-turn episodes.

    Args:
        env_fn: Makes one text env (e.g. ``lambda: gym.make("DreamGym-ALFWorld-v0", base_url=...)``);
            the function keeps as many as the largest prompt batch and reuses them.
        config: Sampling and episode limits.
        fmt: Message format (system prompt, admissible-action listing, reply parsing).
        tasks: Prompt text -> the task object to play (e.g. ``{t.instruction: t}``); unmapped prompts
            are passed to ``reset(options={"task": prompt})`` as they are (DreamGym envs accept an
            instruction or a task id).

    Returns:
        ``rollout_func(prompts, trainer) -> {"prompt_ids", "completion_ids", "logprobs", "env_mask",
        "env_reward", "env_success", "num_turns", "env_valid_rate"}``. Use :func:`env_reward` (and
        optionally :func:`valid_action_reward`) as the trainer's ``reward_funcs``.
    """
    cfg = config or GRPORolloutConfig()
    chat = fmt or ChatFormat()
    envs: list[gym.Env] = []

    def rollout_func(prompts: list[Any], trainer: Any) -> dict[str, list[Any]]:
        import torch

        while len(envs) < len(prompts):
            envs.append(env_fn())
        keys = [_prompt_key(p) for p in prompts]
        group = GroupRollout(envs[:len(prompts)], fmt=chat, max_turns=cfg.max_turns)
        group.reset([tasks.get(k, k) if tasks else k for k in keys])
        tok = trainer.processing_class
        tok = getattr(tok, "tokenizer", tok)
        model = trainer.accelerator.unwrap_model(trainer.model) if hasattr(trainer, "accelerator") else trainer.model
        device = next(model.parameters()).device
        n = len(prompts)
        prompt_ids = [tok(_render(tok, group.messages(i), True), add_special_tokens=False)["input_ids"]
                      for i in range(n)]
        completion_ids: list[list[int]] = [[] for _ in range(n)]
        logprobs: list[list[float]] = [[] for _ in range(n)]
        env_mask: list[list[int]] = [[] for _ in range(n)]
        pad_id = tok.pad_token_id if tok.pad_token_id is not None else tok.eos_token_id
        was_training = model.training
        model.eval()
        try:
            while group.active:
                active = group.active
                seqs = [prompt_ids[i] + completion_ids[i] for i in active]
                width = max(len(s) for s in seqs)
                ids = torch.full((len(seqs), width), pad_id, dtype=torch.long)
                mask = torch.zeros((len(seqs), width), dtype=torch.long)
                for row, s in enumerate(seqs):  # left padding
                    ids[row, width - len(s):] = torch.tensor(s, dtype=torch.long)
                    mask[row, width - len(s):] = 1
                with torch.no_grad():
                    out = model.generate(input_ids=ids.to(device), attention_mask=mask.to(device), do_sample=True,
                                         temperature=cfg.temperature, top_p=cfg.top_p,
                                         max_new_tokens=cfg.max_new_tokens, pad_token_id=pad_id,
                                         eos_token_id=tok.eos_token_id, output_scores=True,
                                         return_dict_in_generate=True)
                gen = out.sequences[:, width:]
                step_logps = torch.stack([torch.log_softmax(s.float(), dim=-1) for s in out.scores], dim=1)
                replies: dict[int, str] = {}
                gen_tokens: dict[int, tuple[list[int], list[float], bool]] = {}
                for row, i in enumerate(active):
                    toks: list[int] = []
                    lps: list[float] = []
                    eos = False
                    for t in range(gen.shape[1]):
                        token = int(gen[row, t])
                        toks.append(token)
                        lp = float(step_logps[row, t, token])
                        lps.append(lp if lp > float("-inf") else -1e4)
                        if token == tok.eos_token_id:
                            eos = True
                            break
                    gen_tokens[i] = (toks, lps, eos)
                    replies[i] = tok.decode(toks, skip_special_tokens=True).strip()
                before = {i: group.messages(i) for i in active}
                group.step(replies)
                still = set(group.active)
                for i in active:
                    toks, lps, eos = gen_tokens[i]
                    completion_ids[i] += toks
                    logprobs[i] += lps
                    env_mask[i] += [1] * len(toks)
                    if i in still:
                        msgs = group.messages(i)
                        text = _env_turn_text(tok, before[i], replies[i], msgs[-1], eos)
                        env_ids = tok(text, add_special_tokens=False)["input_ids"]
                        if len(prompt_ids[i]) + len(completion_ids[i]) + len(env_ids) + cfg.max_new_tokens \
                                > cfg.max_length:
                            group.stop(i)  # out of room: end the episode here (truncated)
                            continue
                        completion_ids[i] += env_ids
                        logprobs[i] += [0.0] * len(env_ids)
                        env_mask[i] += [0] * len(env_ids)
        finally:
            if was_training:
                model.train()
        trajs = group.trajectories()
        return {"prompt_ids": prompt_ids, "completion_ids": completion_ids, "logprobs": logprobs,
                "env_mask": env_mask, "env_reward": [t.total_reward for t in trajs],
                "env_success": [float(t.success) for t in trajs], "num_turns": [len(t.turns) for t in trajs],
                "env_valid_rate": [t.valid_rate for t in trajs]}

    return rollout_func
