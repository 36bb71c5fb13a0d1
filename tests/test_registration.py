"""Registration of the three DreamGym ids."""

from __future__ import annotations

import subprocess
import sys

import gymnasium as gym
import pytest
from fakes import FakeModel

import dreamgym_env
from dreamgym_env.error import InvalidConfigError
from dreamgym_env.vector import DreamGymVectorEnv


def test_ids_are_registered(env_id: str) -> None:
    spec = gym.spec(env_id)
    assert spec.entry_point == "dreamgym_env.core:DreamGymEnv"
    assert spec.vector_entry_point == "dreamgym_env.vector:DreamGymVectorEnv"
    assert spec.max_episode_steps and spec.max_episode_steps > 0
    assert spec.kwargs["domain"] == dreamgym_env.ENV_IDS[env_id]


def test_step_limits_match_domains(env_id: str) -> None:
    from dreamgym_env.domain import get_domain

    assert gym.spec(env_id).max_episode_steps == get_domain(dreamgym_env.ENV_IDS[env_id]).max_episode_steps


def test_make_with_module_prefix_without_import() -> None:
    code = ("import gymnasium as gym\n"
            "env = gym.make('dreamgym_env:DreamGym-WebShop-v0')\n"
            "obs, info = env.reset(seed=0)\n"
            "assert obs.startswith('WebShop [SEP] Instruction:'), obs\n"
            "print('ok', type(env.unwrapped).__name__)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False)
    assert out.returncode == 0, out.stderr
    assert "ok DreamGymEnv" in out.stdout


def test_import_stays_light() -> None:
    code = ("import sys, dreamgym_env\n"
            "heavy = [m for m in ('torch', 'transformers', 'vllm', 'hnswlib', 'sentence_transformers', 'alfworld',"
            " 'textworld', 'bm25s') if m in sys.modules]\n"
            "print(heavy)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


def test_unknown_kwarg_lists_valid_ones(env_id: str) -> None:
    with pytest.raises(InvalidConfigError) as e:
        gym.make(env_id, experience_model=FakeModel(), temprature=0.5)
    msg = str(e.value)
    assert "'temprature'" in msg and "temperature" in msg and "base_url" in msg


def test_record_without_path_is_rejected(env_id: str) -> None:
    with pytest.raises(InvalidConfigError, match="replay_path"):
        gym.make(env_id, experience_model=FakeModel(), record_transitions=True)


def test_make_vec_uses_the_native_vector_env(env_id: str) -> None:
    envs = gym.make_vec(env_id, num_envs=3, experience_model=FakeModel(), retrieval_k=0)
    assert isinstance(envs, DreamGymVectorEnv)
    assert envs.num_envs == 3
    assert envs.max_episode_steps == gym.spec(env_id).max_episode_steps
    envs.close()
