"""RL-library adapters: the discrete-action wrapper, group chat rollouts and the TRL rollout function.

The envs run on the deterministic fake model here (these test the adapter code); a real GRPO update
against the trained default model is in tests/integration/test_grpo_wiring.py.
"""

from __future__ import annotations

import types

import gymnasium as gym
import numpy as np
import pytest
from fakes import FakeModel
from gymnasium.utils.env_checker import check_env

from dreamgym_env.wrappers import (
    ChatFormat,
    DiscreteActions,
    GroupRollout,
    env_reward,
    make_grpo_rollout_func,
    rollout_group,
    valid_action_reward,
)
from dreamgym_env.wrappers.trl import GRPORolloutConfig, _env_turn_text


def discrete(env_id: str, embedder, **kw) -> DiscreteActions:
    return DiscreteActions(gym.make(env_id, experience_model=FakeModel(), **kw), max_actions=32, embedder=embedder)


class DropTimings(gym.Wrapper, gym.utils.RecordConstructorArgs):
    """Drops the wall-clock fields and the env's running rates (``told_rate``, ...: counted over its whole life,
    so a second seeded episode reads other values) from ``info``, so check_env's determinism check can compare
    infos."""

    def __init__(self, env: gym.Env) -> None:
        gym.utils.RecordConstructorArgs.__init__(self)
        gym.Wrapper.__init__(self, env)

    def step(self, action):
        obs, reward, terminated, truncated, info = self.env.step(action)
        return obs, reward, terminated, truncated, {k: v for k, v in info.items()
                                                    if k not in ("latency_s", "timings") and not k.endswith("_rate")}


def test_discrete_passes_check_env(env_id: str, embedder) -> None:
    inner = gym.make(env_id, experience_model=FakeModel()).unwrapped
    check_env(DiscreteActions(DropTimings(inner), max_actions=32, embedder=embedder), skip_render_check=True)
    env = discrete(env_id, embedder)
    obs, info = env.reset(seed=0)
    assert obs.shape == (2 * embedder.dim,) and obs.dtype == np.float32
    assert env.observation_space.contains(obs)
    mask = env.action_masks()
    assert mask.shape == (32,) and mask.sum() == info["num_admissible"] == len(env.admissible_actions)
    env.close()


@pytest.mark.parametrize("bad", [31, 10**9, -1, -(10**9), "x", None, object(), np.array([31]), [40]])
def test_discrete_bad_index_plays_nothing_and_never_indexes_out_of_range(bad, embedder) -> None:
    env = discrete("DreamGym-ALFWorld-v0", embedder)
    env.reset(seed=1)
    assert 0 < len(env.admissible_actions) < 31
    obs, reward, terminated, _truncated, info = env.step(bad)
    assert info["action_text"] == ""
    assert "names no admissible action" in info["action_error"]
    assert reward == 0 and not terminated
    assert obs.shape == env.observation_space.shape


def test_discrete_plays_the_indexed_admissible_action(embedder) -> None:
    model = FakeModel()
    env = DiscreteActions(gym.make("DreamGym-ALFWorld-v0", experience_model=model), embedder=embedder)
    env.reset(seed=2)
    acts = env.admissible_actions
    assert acts == sorted(acts)
    _, _, _, _, info = env.step(3)
    assert info["action_text"] == acts[3] and info["action_error"] is None
    assert f"<action>{acts[3]}</action>" in model.requests[-1].messages[1]["content"]


def test_discrete_cuts_long_action_lists_and_counts(embedder) -> None:
    env = DiscreteActions(gym.make("DreamGym-ALFWorld-v0", experience_model=FakeModel()), max_actions=2,
                          embedder=embedder)
    _, info = env.reset(seed=0)
    assert info["num_admissible"] == 2 and info["admissible_truncated"] > 0
    assert env.action_masks().tolist() == [True, True]


def test_maskable_ppo_trains_unchanged_on_the_real_and_the_dream_env(embedder) -> None:
    sb3_contrib = pytest.importorskip("sb3_contrib")
    from sb3_contrib.common.wrappers import ActionMasker

    from dreamgym_env.wrappers import mask_fn

    for env in (DiscreteActions(gym.make("ALFWorld-Real-v0"), max_actions=48, embedder=embedder),
                discrete("DreamGym-ALFWorld-v0", embedder)):
        model = sb3_contrib.MaskablePPO("MlpPolicy", ActionMasker(env, mask_fn), n_steps=32, batch_size=16,
                                        n_epochs=1, seed=0, device="cpu")
        before = [p.detach().clone() for p in model.policy.parameters()]
        model.learn(total_timesteps=32)
        assert any(not np.allclose(a.numpy(), b.detach().numpy()) for a, b in zip(before, model.policy.parameters()))
        obs, _ = env.reset(seed=5)
        action, _ = model.predict(obs, action_masks=env.action_masks())
        assert env.action_masks()[int(action)]
        env.close()


# ----- group chat rollouts --------------------------------------------------------------------------
def scripted(messages):
    """Plays the first listed admissible action (with an ``Action:`` prefix on the third turn)."""
    first = messages[-1]["content"].split("AVAILABLE ACTIONS: ")[1].split(", ")[0]
    return f"Action: {first}" if sum(m["role"] == "assistant" for m in messages) == 2 else first


def done_on_third_call() -> FakeModel:
    """A fake model whose third answer ends the episode with reward 1."""
    calls = []

    def reply(request):
        calls.append(request)
        done = len(calls) == 3
        return (f"<think>ok</think><state>State {len(calls)}.</state><reward>{int(done)}</reward>"
                f"<done>{str(done).lower()}</done>")

    return FakeModel(reply_fn=reply)


def test_rollout_group_plays_one_task_g_times() -> None:
    envs = [gym.make("DreamGym-ALFWorld-v0", experience_model=done_on_third_call(), check_outcome=False)
            for _ in range(4)]
    task = envs[0].unwrapped.domain.tasks("train")[3]
    trajs = rollout_group(envs, scripted, task=task)
    assert len(trajs) == 4
    for t in trajs:
        assert t.task_id == task.task_id and t.instruction == task.instruction
        assert [m["role"] for m in t.messages] == ["system", "user", "assistant", "user", "assistant", "user",
                                                   "assistant"]
        assert len(t.turns) == 3 and t.turns[-1].terminated and t.success and t.total_reward == 1.0
        assert not t.turns[-1].action.startswith("Action")  # the prefix is stripped
        assert t.valid_rate == 1.0
        assert t.to_dict()["turns"][0]["task_id"] == task.task_id


def test_rollout_group_bad_replies_are_bad_actions_and_max_turns_truncates() -> None:
    envs = [gym.make("DreamGym-ALFWorld-v0", experience_model=FakeModel()) for _ in range(3)]
    replies = iter([None, "", "\n\n", 42, "jump around", "look"] * 10)
    trajs = rollout_group(envs, lambda m: next(replies), max_turns=2, seeds=[0, 1, 2])
    for t in trajs:
        assert len(t.turns) == 2 and t.turns[-1].truncated and not t.success
    errors = [turn.info.get("action_error") for t in trajs for turn in t.turns]
    assert sum(e is not None for e in errors) >= 4
    assert all(0.0 <= t.valid_rate <= 1.0 for t in trajs)


def test_group_rollout_checks_its_inputs() -> None:
    with pytest.raises(ValueError, match="at least one env"):
        GroupRollout([])
    group = GroupRollout([gym.make("DreamGym-ALFWorld-v0", experience_model=FakeModel())])
    with pytest.raises(ValueError, match="tasks"):
        group.reset(tasks=[None, None])
    group.reset()
    with pytest.raises(ValueError, match="no reply"):
        group.step({})


def test_chat_format_lists_and_parses() -> None:
    fmt = ChatFormat(max_admissible=2)
    text = fmt.user_message("obs", {"admissible_actions": ["a", "b", "c"]})
    assert text == "obs\nAVAILABLE ACTIONS: a, b, ... (1 more)"
    assert ChatFormat(show_admissible=False).user_message("obs", {"admissible_actions": ["a"]}) == "obs"
    assert fmt.parse_action("\n > go to desk 1\nthen more") == "go to desk 1"
    assert fmt.parse_action(7) == 7


# ----- TRL rollout function ---------------------------------------------------------------------------
@pytest.fixture(scope="module")
def tiny_policy():
    torch = pytest.importorskip("torch")
    from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM

    from dreamgym_env.model.assets import shipped_model_dir

    path = shipped_model_dir("alfworld")
    assert path is not None
    tok = AutoTokenizer.from_pretrained(str(path))
    torch.manual_seed(0)
    model = LlamaForCausalLM(LlamaConfig(vocab_size=len(tok), hidden_size=32, intermediate_size=64,
                                         num_hidden_layers=1, num_attention_heads=2, num_key_value_heads=2,
                                         max_position_embeddings=2048, pad_token_id=tok.pad_token_id,
                                         eos_token_id=tok.eos_token_id, bos_token_id=None))
    return model, tok


def test_grpo_rollout_func_returns_aligned_multi_turn_token_ids(tiny_policy) -> None:
    model, tok = tiny_policy
    fake_trainer = types.SimpleNamespace(model=model, processing_class=tok)
    cfg = GRPORolloutConfig(max_turns=3, max_new_tokens=6)
    func = make_grpo_rollout_func(lambda: gym.make("DreamGym-ALFWorld-v0", experience_model=FakeModel()),
                                  config=cfg, fmt=ChatFormat(show_admissible=False))
    task = gym.make("DreamGym-ALFWorld-v0", experience_model=FakeModel()).unwrapped.domain.tasks("train")[0]
    prompts = [[{"role": "user", "content": task.instruction}]] * 2 + [task.task_id] * 2
    out = func(prompts, fake_trainer)
    assert set(out) >= {"prompt_ids", "completion_ids", "logprobs", "env_mask", "env_reward", "env_valid_rate"}
    assert all(len(v) == 4 for v in out.values())
    for i in range(4):
        ids, lps, mask = out["completion_ids"][i], out["logprobs"][i], out["env_mask"][i]
        assert len(ids) == len(lps) == len(mask)
        assert sum(mask) <= cfg.max_turns * cfg.max_new_tokens
        assert all(lp <= 0 for lp in lps) and all(lp == 0 for lp, m in zip(lps, mask) if m == 0)
        if out["num_turns"][i] > 1:  # env turns sit between policy turns and are masked out of the loss
            assert 0 in mask and mask[0] == 1
        rendered = tok.decode(out["prompt_ids"][i])
        assert task.instruction.split()[-1] in rendered
    assert env_reward([""] * 4, env_reward=out["env_reward"]) == out["env_reward"]
    assert valid_action_reward([""] * 4, env_valid_rate=out["env_valid_rate"]) == out["env_valid_rate"]
    with pytest.raises(ValueError, match="rollout_func"):
        env_reward([""])


def test_env_turn_text_matches_the_chat_template(tiny_policy) -> None:
    _, tok = tiny_policy
    before = [{"role": "user", "content": "You see a desk."}]
    obs = {"role": "user", "content": "Nothing happens."}
    text = _env_turn_text(tok, before, "go to desk 1", obs, eos_emitted=True)
    full = tok.apply_chat_template(before + [{"role": "assistant", "content": "go to desk 1"}, obs],
                                   tokenize=False, add_generation_prompt=True)
    prefix = tok.apply_chat_template(before, tokenize=False, add_generation_prompt=True)
    assert prefix + "go to desk 1" + tok.eos_token + text == full


def test_rollout_group_runs_the_real_engine_in_turn() -> None:
    """Any text env works; the real ALFWorld engine is stepped in turn (textworld's parser is not thread-safe)."""
    envs = [gym.make("ALFWorld-Real-v0") for _ in range(2)]
    trajs = rollout_group(envs, scripted, max_turns=4, seeds=[0, 0], concurrent=False)
    assert [len(t.turns) for t in trajs] == [4, 4]
    assert trajs[0].task_id == trajs[1].task_id  # same seed, same task
    assert [t.action for t in trajs[0].turns] == [t.action for t in trajs[1].turns]
    assert all(t.valid_rate == 1.0 for t in trajs)
