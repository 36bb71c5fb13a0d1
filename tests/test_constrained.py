"""Grammar-constrained in-process decoding yields a parseable reply whatever the model's weights.

Uses a tiny randomly initialised Llama with SmolLM2's real tokenizer: random weights are the worst
case for format-following, which is exactly what the grammar must survive.
"""

from __future__ import annotations

import pytest

from dreamgym_env.model.base import ModelRequest, ReplyFormat
from dreamgym_env.model.parse import parse_reply


@pytest.fixture(scope="module")
def tiny_model_dir(tmp_path_factory):
    from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM

    from dreamgym_env.model.assets import smollm2_gguf_path

    gguf = smollm2_gguf_path()
    tok = AutoTokenizer.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
    cfg = LlamaConfig(vocab_size=len(tok), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                      num_attention_heads=2, num_key_value_heads=2, max_position_embeddings=2048,
                      bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id)
    out = tmp_path_factory.mktemp("tiny")
    LlamaForCausalLM(cfg).save_pretrained(out)
    tok.save_pretrained(out)
    return str(out)


@pytest.mark.parametrize("fmt", [ReplyFormat(True, True), ReplyFormat(True, False), ReplyFormat(False, True)],
                         ids=["think-binary", "think-graded", "nothink-binary"])
def test_random_model_always_parses(tiny_model_dir, fmt: ReplyFormat) -> None:
    from dreamgym_env.model.transformers_backend import TransformersExperienceModel, TransformersModelConfig

    m = TransformersExperienceModel(TransformersModelConfig(tiny_model_dir, max_batch_size=4))
    msgs = ({"role": "system", "content": "Simulate."}, {"role": "user", "content": "<action>look</action>"})
    reqs = [ModelRequest(msgs, max_tokens=48, temperature=t, seed=s, reply_format=fmt)
            for t, s in [(0.0, None), (1.0, 1), (1.0, 2), (1.5, 3), (2.0, 4)]]
    for r in m.generate(reqs):
        p = parse_reply(r.text, require_reasoning=fmt.reasoning)
        assert p.error is None, (r.text, p.error)
        assert r.finish_reason == "stop" and r.text.endswith("</done>")
        assert 0.0 <= p.reward <= 1.0
        if fmt.binary_reward:
            assert p.reward in (0.0, 1.0)
        assert "</" not in p.next_state and p.next_state
        assert r.completion_tokens <= 48 + 32


def test_free_text_without_format(tiny_model_dir) -> None:
    from dreamgym_env.model.transformers_backend import TransformersExperienceModel, TransformersModelConfig

    m = TransformersExperienceModel(TransformersModelConfig(tiny_model_dir))
    [r] = m.generate([ModelRequest(({"role": "user", "content": "hi"},), max_tokens=6)])
    assert isinstance(r.text, str) and r.completion_tokens <= 6


def test_a_prompt_over_the_models_positions_gets_a_context_length_reply(tiny_model_dir) -> None:
    from dreamgym_env.model.base import CONTEXT_LENGTH
    from dreamgym_env.model.transformers_backend import TransformersExperienceModel, TransformersModelConfig

    m = TransformersExperienceModel(TransformersModelConfig(tiny_model_dir))
    fmt = ReplyFormat(True, True)
    long = ModelRequest(({"role": "user", "content": "look around the room " * 600},), max_tokens=16,
                        reply_format=fmt)  # ~3,000 tokens > the tiny model's 2,048 positions
    short = ModelRequest(({"role": "user", "content": "<action>look</action>"},), max_tokens=16, reply_format=fmt)
    over, ok = m.generate([long, short])
    assert over.finish_reason == CONTEXT_LENGTH and over.text == "" and over.completion_tokens == 0
    assert ok.finish_reason == "stop" and ok.text.endswith("</done>")
