"""Shipping a trained model as a domain default and building its runnable folder (no server)."""

from __future__ import annotations

import json

import pytest

from dreamgym_env.error import InvalidConfigError
from dreamgym_env.model import assets

pytest.importorskip("trl")


def _tiny_run(tmp_path):
    from dreamgym_env.domain import get_domain
    from dreamgym_env.training.examples import ExampleConfig, build_examples
    from dreamgym_env.training.scratch import ScratchConfig, example_texts, init_model, train_tokenizer

    d = get_domain("alfworld")
    examples, _ = build_examples(d.seed_transitions()[:10], d.system_prompt(), ExampleConfig("alfworld", retrieval_k=0))
    cfg = ScratchConfig(vocab_size=400, hidden_size=32, layers=1, heads=2, intermediate_size=64)
    tok = train_tokenizer(example_texts(examples), cfg)
    run = tmp_path / "run"
    init_model(tok, cfg).save_pretrained(str(run / "model"))
    tok.save_pretrained(str(run / "model"))
    (run / "model" / "dreamgym.json").write_text(json.dumps({"domain": "alfworld", "retrieval_k": 0,
                                                             "prompt": {"history_window": 2}}))
    (run / "report.json").write_text(json.dumps({"params": 1, "loss_curve": [[1, 2.0]]}))
    return run


def test_ship_then_build_the_runnable_float32_folder(tmp_path, monkeypatch):
    import torch
    from transformers import AutoModelForCausalLM

    from dreamgym_env.training.ship import ship

    monkeypatch.setenv("DREAMGYM_CACHE", str(tmp_path / "cache"))
    shipped = ship(_tiny_run(tmp_path), "alfworld", dest=tmp_path / "shipped")
    assert AutoModelForCausalLM.from_pretrained(str(shipped)).dtype == torch.float16
    assert "loss_curve" not in json.loads((shipped / "report.json").read_text())
    monkeypatch.setattr(assets, "shipped_model_dir", lambda domain: shipped if domain == "alfworld" else None)
    path = assets.resolve_model_path("default-alfworld")
    assert path.parent == tmp_path / "cache" / "models" and path.name.startswith("default-alfworld-")
    assert AutoModelForCausalLM.from_pretrained(str(path)).dtype == torch.float32
    assert json.loads((path / "dreamgym.json").read_text())["prompt"]["history_window"] == 2
    assert assets.resolve_model_path("default-alfworld") == path  # built once
    assert assets.embedded_default("alfworld") == "default-alfworld"
    assert assets.embedded_default("webshop") == "default"
    assert assets.embedded_default(None) == "default"
    with pytest.raises(InvalidConfigError, match="ships no trained experience model"):
        assets.resolve_model_path("default-webshop")


def test_fidelity_reads_the_models_prompt_layout(tmp_path):
    from dreamgym_env.domain import get_domain
    from dreamgym_env.evaluation.fidelity import ModelPredictor, make_predictor

    run = _tiny_run(tmp_path)
    pred = make_predictor("tiny", str(run / "model"), get_domain("alfworld"), replay=None)
    assert isinstance(pred, ModelPredictor)
    assert pred.prompt.history_window == 2 and pred.retrieval_k == 0 and pred.replay is None
