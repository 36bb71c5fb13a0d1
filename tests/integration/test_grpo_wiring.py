"""A real TRL GRPO update of a tiny policy against DreamGym-ALFWorld-v0 with the trained default model.

It proves the wiring (rollout_func -> multi-turn episodes -> rewards -> gradient step), not learning.
The policy is a tiny Llama on the shipped ALFWorld tokenizer, first behaviour-cloned for a few
seconds on expert actions from the real engine so that some of its sampled actions are valid and
the group's rewards differ (GRPO's advantage is zero when every rollout scores the same).
"""

from __future__ import annotations

import os

import gymnasium as gym
import pytest

import dreamgym_env  # noqa: F401
from dreamgym_env.wrappers import (
    ChatFormat,
    GRPORolloutConfig,
    env_reward,
    make_grpo_rollout_func,
    valid_action_reward,
)

torch = pytest.importorskip("torch")
trl = pytest.importorskip("trl")

FMT = ChatFormat(show_admissible=False)


def expert_examples(tasks, turns: int = 3) -> list[tuple[list[dict[str, str]], str]]:
    """(conversation so far, expert action) pairs from the real ALFWorld engine."""
    env = gym.make("ALFWorld-Real-v0")
    out = []
    for task in tasks:
        obs, info = env.reset(options={"task": task})
        messages = [{"role": "system", "content": FMT.system_prompt}, {"role": "user", "content": obs}]
        for _ in range(turns):
            action = info["expert_action"]
            out.append((list(messages), action))
            obs, _, terminated, _, info = env.step(action)
            messages += [{"role": "assistant", "content": action}, {"role": "user", "content": obs}]
            if terminated:
                break
    env.close()
    return out


def behaviour_clone(model, tok, examples, steps: int = 120) -> None:
    """Plain next-token loss on the expert action (the prompt is masked out)."""
    rows = []
    for messages, action in examples:
        prompt = tok(tok.apply_chat_template(messages, tokenize=False, add_generation_prompt=True),
                     add_special_tokens=False)["input_ids"]
        target = tok(action, add_special_tokens=False)["input_ids"] + [tok.eos_token_id]
        rows.append((prompt + target, [-100] * len(prompt) + target))
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3)
    model.train()
    gen = torch.Generator().manual_seed(0)
    for _ in range(steps):
        batch = [rows[int(i)] for i in torch.randint(len(rows), (8,), generator=gen)]
        width = max(len(ids) for ids, _ in batch)
        ids = torch.tensor([r + [tok.pad_token_id] * (width - len(r)) for r, _ in batch])
        labels = torch.tensor([lab + [-100] * (width - len(lab)) for _, lab in batch])
        mask = torch.tensor([[1] * len(r) + [0] * (width - len(r)) for r, _ in batch])
        loss = model(input_ids=ids, attention_mask=mask, labels=labels).loss
        loss.backward()
        opt.step()
        opt.zero_grad()


def test_grpo_updates_a_policy_from_dreamgym_episodes(tmp_path) -> None:
    from datasets import Dataset
    from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM

    from dreamgym_env.domain import get_domain
    from dreamgym_env.model.assets import shipped_model_dir

    os.environ.setdefault("TRL_EXPERIMENTAL_SILENCE", "1")
    tasks = list(get_domain("alfworld").tasks("train"))[:6]
    tok = AutoTokenizer.from_pretrained(str(shipped_model_dir("alfworld")))
    torch.manual_seed(0)
    model = LlamaForCausalLM(LlamaConfig(vocab_size=len(tok), hidden_size=64, intermediate_size=128,
                                         num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=4,
                                         max_position_embeddings=2048, pad_token_id=tok.pad_token_id,
                                         eos_token_id=tok.eos_token_id, bos_token_id=None))
    behaviour_clone(model, tok, expert_examples(tasks))
    before = {n: p.detach().clone() for n, p in model.named_parameters()}

    # The env answers with the shipped trained default experience model (in-process, no server).
    rollout = make_grpo_rollout_func(lambda: gym.make("DreamGym-ALFWorld-v0"), fmt=FMT,
                                     config=GRPORolloutConfig(max_turns=2, max_new_tokens=10),
                                     tasks={t.instruction: t for t in tasks})
    args = trl.GRPOConfig(output_dir=str(tmp_path), per_device_train_batch_size=4, num_generations=4,
                          max_steps=3, learning_rate=1e-3, logging_steps=1, report_to=[], use_cpu=True,
                          bf16=False, save_strategy="no", beta=0.0, max_completion_length=256, seed=0)
    trainer = trl.GRPOTrainer(model=model, processing_class=tok, reward_funcs=[env_reward, valid_action_reward],
                              train_dataset=Dataset.from_list([{"prompt": t.instruction} for t in tasks]),
                              args=args, rollout_func=rollout)
    trainer.train()
    logs = [h for h in trainer.state.log_history if "reward_std" in h]
    print("grpo logs:", [{k: round(h[k], 3) for k in ("reward", "reward_std", "rewards/valid_action_reward/mean",
                                                     "completions/mean_length", "loss", "grad_norm")} for h in logs])
    assert len(logs) == 3
    assert any(h["rewards/valid_action_reward/mean"] > 0 for h in logs), logs
    assert any(h["reward_std"] > 0 for h in logs), "every group scored the same: no advantage, no update"
    changed = [n for n, p in model.named_parameters() if not torch.equal(before[n], p.detach())]
    assert changed, "GRPO took steps but no parameter changed"
    # The episodes were multi-turn: policy tokens plus env tokens between turns.
    assert max(h["completions/mean_length"] for h in logs) > 0
