"""The benchmark scripts that need no vLLM server, in their --quick mode (CI smoke test).

The server-using ones run in tests/integration/test_benchmarks_smoke.py against the session's server.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parent.parent / "benchmarks"

pytestmark = pytest.mark.timeout(600)


def run_quick(script: str, tmp_path: Path, *extra: str) -> dict:
    """Runs ``benchmarks/<script> --quick --json`` and returns its JSON (the .md and .png must exist too)."""
    out = tmp_path / f"{Path(script).stem}.json"
    proc = subprocess.run([sys.executable, str(BENCH / script), "--quick", "--json", str(out), *extra],
                          check=False, capture_output=True, text=True, timeout=540)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert out.with_suffix(".md").read_text().count("|") > 10
    assert out.with_suffix(".png").stat().st_size > 1000
    result = json.loads(out.read_text())
    prov = result["provenance"]
    assert prov["machine"]["cpu"] and prov["machine"]["usable_cores"] >= 1 and "gpus" in prov["machine"]
    assert len(prov["loadavg_start"]) == 3 and len(prov["loadavg_end"]) == 3
    assert prov["packages"]["gymnasium"] and prov["packages"]["hnswlib"]
    return result


def test_bench_retrieval_quick(tmp_path: Path) -> None:
    result = run_quick("bench_retrieval.py", tmp_path)
    (index,) = result["indices"]
    assert index["n"] == 400 and index["dim"] == 384 and index["bytes_per_transition"] > 4 * 384
    assert all(e["recall_at_5"] >= 0.9 and e["p99_ms"] > 0 for e in index["per_ef"])
    assert result["embedders"][0]["sentences_per_s"] > 0


def test_bench_real_vs_synthetic_quick(tmp_path: Path) -> None:
    result = run_quick("bench_real_vs_synthetic.py", tmp_path)
    sides = {r["side"] for r in result["runs"]}
    assert sides == {"real engine", "synthetic, instant stub model"}
    assert all(r["substeps_per_s"] > 0 for r in result["runs"])


def test_bench_sim_to_real_quick(tmp_path: Path) -> None:
    result = run_quick("bench_sim_to_real.py", tmp_path)
    conds = {s["condition"]: s for s in result["summary"]}
    assert set(conds) == {"real", "untrained"}
    real_run = next(r for r in result["runs"] if r["condition"] == "real")
    assert real_run["train"]["steps"] >= 200 and real_run["eval_episodes"] == 8
    assert 0.0 <= conds["real"]["mean"] <= 1.0 and conds["untrained"]["real_steps"] == 0
