"""Merges several ``bench_sim_to_real.py`` JSON files (runs of different seeds or conditions) into one
table and one plot: held-out real success per condition, every seed as a dot, mean and spread.

Runs must share the settings that decide what a number means (training steps, episode limit, learning
rate, task type, evaluation episodes, S2R share); a file that differs is refused. The same
(condition, seed) in two files counts once when both agree (the real engine's runs repeat exactly) and
is refused when they differ.

    python benchmarks/sim_to_real_summary.py benchmarks/results/sim_to_real_t08*.json \\
        --out benchmarks/results/sim_to_real_summary
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import markdown_table

#: Settings that must agree between merged files.
SHARED = ("steps", "max_steps", "lr", "batch", "task_type", "eval_episodes", "s2r_frac", "shaping", "sight_shaping",
          "arrive_shaping", "grouped")
#: What a file written before a setting existed ran with.
DEFAULTS = {"batch": 1, "shaping": 0.3, "sight_shaping": 0.0, "arrive_shaping": 0.0, "grouped": False}
#: Bootstrap resamples for the ratio intervals.
BOOTSTRAP = 10_000
#: The issue's targets, as (name, numerator, denominator, least ratio).
TARGETS = (("(b) >= 95% of (a)", "dreamgym", "real", 0.95), ("(c) beats (a)", "s2r", "real", 1.0))
#: Conditions whose runs sample the experience model (their temperature is reported).
SYNTHETIC = ("dreamgym", "dreamgym-no-retrieval", "dreamgym-curriculum", "s2r")


def merge(paths: Sequence[str], condition_from: dict[str, set[str]] | None = None) -> dict[str, Any]:
    """The runs of ``paths`` by condition, with the shared config; raises ``SystemExit`` on a mismatch.

    ``condition_from`` maps a condition to the files its runs are taken from (others' are skipped).
    """
    condition_from = condition_from or {}
    config: dict[str, Any] | None = None
    runs: dict[tuple[str, int], dict[str, Any]] = {}
    temps: dict[str, set[float]] = {}
    for path in paths:
        data = json.loads(Path(path).read_text())
        cfg = {k: data["config"].get(k, DEFAULTS.get(k)) for k in SHARED}
        if config is None:
            config = cfg
        elif cfg != config:
            diff = {k: (config[k], cfg[k]) for k in SHARED if config[k] != cfg[k]}
            raise SystemExit(f"{path}: settings differ from the first file's: {diff}")
        for r in data["runs"]:
            if r["condition"] in condition_from and Path(path) not in {Path(f) for f in condition_from[r["condition"]]}:
                continue
            key = (r["condition"], int(r["seed"]))
            if key in runs:
                if runs[key]["eval_success"] == r["eval_success"]:
                    continue  # the same deterministic run in two files (e.g. the real engine's, seed for seed)
                raise SystemExit(f"{path}: condition {key[0]!r} seed {key[1]} is already in an earlier file "
                                 f"with another result ({runs[key]['eval_success']} against {r['eval_success']})")
            runs[key] = {**r, "file": str(path), "commit": data.get("provenance", {}).get("git_commit")}
            if r["condition"] in SYNTHETIC:
                temps.setdefault(r["condition"], set()).add(float(data["config"].get("temperature", 0.0)))
    return {"config": config or {}, "runs": runs, "temperatures": {k: sorted(v) for k, v in temps.items()}}


def summarise(merged: dict[str, Any]) -> list[dict[str, Any]]:
    """Per condition: seeds, per-seed held-out success, mean, sd, steps, mean training success."""
    by: dict[str, list[dict[str, Any]]] = {}
    for (cond, _), r in sorted(merged["runs"].items(), key=lambda kv: kv[0][1]):
        by.setdefault(cond, []).append(r)
    out = []
    for cond, rs in by.items():
        xs = [float(r["eval_success"]) for r in rs]
        train = [r["train"].get("success_rate") for r in rs if r.get("train")]
        out.append({"condition": cond, "seeds": [int(r["seed"]) for r in rs], "per_seed": xs,
                    "mean": float(np.mean(xs)), "sd": float(np.std(xs)), "n": len(xs),
                    "se": float(np.std(xs, ddof=1) / np.sqrt(len(xs))) if len(xs) > 1 else None,
                    "real_steps": rs[0]["real_steps"], "synthetic_steps": rs[0]["synthetic_steps"],
                    "train_success": float(np.mean(train)) if train else None,
                    "seeds_with_any_success": sum(x > 0 for x in xs), "seeds_by_commit": _seeds_by_commit(rs)})
    return out


def _seeds_by_commit(runs: Sequence[dict[str, Any]]) -> dict[str, list[int]]:
    """The seeds each code version (the git commit a file was written at; "unknown" if none) ran."""
    out: dict[str, list[int]] = {}
    for r in runs:
        out.setdefault(r.get("commit") or "unknown", []).append(int(r["seed"]))
    return out


def paired_ratio(merged: dict[str, Any], num: str = "dreamgym", den: str = "real") -> dict[str, Any] | None:
    """``num`` and ``den`` on the seeds both ran (the benches seed every reset, so a seed is a paired draw)."""
    seeds = _shared_seeds(merged, num, den)
    if not seeds:
        return None
    a = float(np.mean([merged["runs"][(den, s)]["eval_success"] for s in seeds]))
    b = float(np.mean([merged["runs"][(num, s)]["eval_success"] for s in seeds]))
    return {"seeds": seeds, f"{den}_mean": a, f"{num}_mean": b, "ratio": b / a if a else None}


def _shared_seeds(merged: dict[str, Any], *conditions: str) -> list[int]:
    sets = [{s for c, s in merged["runs"] if c == cond} for cond in conditions]
    return sorted(set.intersection(*sets)) if sets else []


def bootstrap_ratio(num: Sequence[float], den: Sequence[float], *, paired: bool, target: float,
                    n_boot: int = BOOTSTRAP, seed: int = 0) -> dict[str, Any] | None:
    """Percentile bootstrap of mean(num) / mean(den) over seeds: the 95% interval and P(ratio >= target).

    ``paired`` resamples seeds jointly (``num[i]`` and ``den[i]`` ran the same seed); otherwise each side
    is resampled on its own. Resamples whose ``den`` mean is 0 have no ratio and are left out (counted).
    Returns ``None`` with fewer than two seeds on a side (no spread to resample).
    """
    x, y = np.asarray(num, dtype=float), np.asarray(den, dtype=float)
    if len(x) < 2 or len(y) < 2 or (paired and len(x) != len(y)):
        return None
    rng = np.random.default_rng(seed)
    if paired:
        idx = rng.integers(0, len(x), size=(n_boot, len(x)))
        nm, dm = x[idx].mean(axis=1), y[idx].mean(axis=1)
    else:
        nm = x[rng.integers(0, len(x), size=(n_boot, len(x)))].mean(axis=1)
        dm = y[rng.integers(0, len(y), size=(n_boot, len(y)))].mean(axis=1)
    ok = dm > 0
    if not ok.any():
        return None
    r = nm[ok] / dm[ok]
    lo, hi = (float(v) for v in np.percentile(r, [2.5, 97.5]))
    verdict = "met" if lo >= target else "missed" if hi < target else "not settled"
    return {"ci95": [lo, hi], "p_at_least_target": float(np.mean(r >= target)), "verdict": verdict,
            "resamples": int(ok.sum()), "dropped_zero_den": int((~ok).sum())}


def compare(merged: dict[str, Any], num: str, den: str, target: float) -> dict[str, Any] | None:
    """mean(num) / mean(den) against ``target``: over all seeds of each, and paired on the seeds both ran."""
    xs = {c: [float(merged["runs"][(c, s)]["eval_success"]) for s in _shared_seeds(merged, c)] for c in (num, den)}
    if not xs[num] or not xs[den]:
        return None
    dm = float(np.mean(xs[den]))
    out: dict[str, Any] = {"num": num, "den": den, "target": target, "ratio": float(np.mean(xs[num])) / dm if dm else None,
                           "n": [len(xs[num]), len(xs[den])],
                           "bootstrap": bootstrap_ratio(xs[num], xs[den], paired=False, target=target)}
    seeds = _shared_seeds(merged, num, den)
    pn = [float(merged["runs"][(num, s)]["eval_success"]) for s in seeds]
    pd = [float(merged["runs"][(den, s)]["eval_success"]) for s in seeds]
    pr = paired_ratio(merged, num, den)
    out["paired"] = {"seeds": seeds, "ratio": pr["ratio"] if pr else None,
                     "bootstrap": bootstrap_ratio(pn, pd, paired=True, target=target)}
    return out


def _span(seeds: Sequence[int]) -> str:
    """``[0, 1, 2, 5]`` -> ``"0-2, 5"``."""
    spans: list[list[int]] = []
    for s in sorted(seeds):
        if spans and s == spans[-1][1] + 1:
            spans[-1][1] = s
        else:
            spans.append([s, s])
    return ", ".join(str(a) if a == b else f"{a}-{b}" for a, b in spans)


def _describe(name: str, c: dict[str, Any]) -> str:
    def one(ratio: float | None, boot: dict[str, Any] | None) -> str:
        if ratio is None:
            return "no ratio (the baseline never succeeded)"
        if boot is None:
            return f"{ratio:.2f} (too few seeds for an interval)"
        lo, hi = boot["ci95"]
        return f"{ratio:.2f} [95% CI {lo:.3f}, {hi:.3f}], {boot['p_at_least_target']:.0%} of resamples >= {c['target']:.2f}: {boot['verdict']}"

    p = c["paired"]
    paired = (f"paired on the {len(p['seeds'])} shared seeds {one(p['ratio'], p['bootstrap'])}" if p["seeds"]
              else "no seeds in common to pair")
    return f"- {name}: over all seeds ({c['n'][0]} and {c['n'][1]}) {one(c['ratio'], c['bootstrap'])}; {paired}\n"


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("files", nargs="+", help="bench_sim_to_real.py JSON files")
    p.add_argument("--out", default=None, help="path prefix: writes PREFIX.json, PREFIX.md and PREFIX.png")
    p.add_argument("--condition-from", action="append", default=[], metavar="CONDITION=FILE",
                   help="take CONDITION's runs only from FILE (repeatable; e.g. reruns that replace earlier ones)")
    args = p.parse_args(argv)
    picks: dict[str, set[str]] = {}
    for c in args.condition_from:
        cond, _, path = c.partition("=")
        picks.setdefault(cond, set()).add(path)
    merged = merge(args.files, picks)
    summary = summarise(merged)
    by = {s["condition"]: s for s in summary}
    ratio = by["dreamgym"]["mean"] / by["real"]["mean"] if "real" in by and "dreamgym" in by and by["real"]["mean"] else None
    rows = [[s["condition"], s["real_steps"], s["synthetic_steps"], ", ".join(f"{x:.3f}" for x in s["per_seed"]),
             f"{s['mean']:.3f} ± {s['sd']:.3f}", "–" if s["se"] is None else f"{s['se']:.3f}",
             f"{s['seeds_with_any_success']}/{s['n']}",
             "–" if s["train_success"] is None else f"{s['train_success']:.3f}"] for s in summary]
    table = markdown_table(["condition", "real steps", "synthetic steps", "held-out real success per seed",
                            "mean ± sd", "± se", "seeds > 0", "training success (own env)"], rows)
    cfg = merged["config"]
    text = (f"Merged from: {', '.join(f'`{f}`' for f in args.files)}"
            + "".join(f"; {c} only from {', '.join(f'`{f}`' for f in sorted(fs))}" for c, fs in picks.items())
            + "\n\n"
            f"Settings: {cfg}; experience-model temperature by condition: {merged['temperatures']}\n\n{table}\n")
    text += "\nCode version (git commit) by condition: " + "; ".join(
        f"{s['condition']}: " + ", ".join(f"{c} seeds {_span(v)}" for c, v in s["seeds_by_commit"].items())
        for s in summary) + "\n"
    if ratio is not None:
        text += f"\n(b) / (a) held-out real success: {ratio:.2f}\n"
    paired = paired_ratio(merged)
    if paired is not None:
        text += (f"\nOn the {len(paired['seeds'])} seeds run in both (a) and (b) ({paired['seeds']}): (a) "
                 f"{paired['real_mean']:.3f}, (b) {paired['dreamgym_mean']:.3f}, (b) / (a) "
                 + ("– ((a) never succeeded)" if paired["ratio"] is None else f"{paired['ratio']:.2f}") + "\n")
    targets = {}
    for name, num, den, target in TARGETS:
        c = compare(merged, num, den, target)
        if c is not None:
            targets[name] = c
    if targets:
        text += "\nTargets (percentile bootstrap over seeds, 10,000 resamples):\n\n" + "".join(
            _describe(n, c) for n, c in targets.items())
    print(text)
    result = {"targets": targets, "files": list(args.files), "condition_from": {c: sorted(fs) for c, fs in picks.items()}, "config": cfg, "temperatures": merged["temperatures"], "summary": summary,
              "dreamgym_over_real": ratio, "paired": paired}
    if args.out:
        out = Path(args.out)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.with_suffix(".json").write_text(json.dumps(result, indent=2) + "\n")
        out.with_suffix(".md").write_text(text)
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=(8, 4))
        for i, s in enumerate(summary):
            ax.bar(i, s["mean"], yerr=s["sd"], capsize=4, color="tab:blue", alpha=0.6)
            jitter = np.linspace(-0.15, 0.15, len(s["per_seed"])) if len(s["per_seed"]) > 1 else [0.0]
            ax.scatter(i + np.asarray(jitter), s["per_seed"], color="black", s=14, zorder=3)
        ax.set_xticks(range(len(summary)), [f"{s['condition']}\n({s['n']} seeds)" for s in summary])
        ax.set_ylabel("held-out real success")
        ax.set_title(f"ALFWorld {cfg.get('task_type')}: {cfg.get('steps')} training steps; dots = seeds")
        fig.tight_layout()
        fig.savefig(out.with_suffix(".png"), dpi=120)
        print(f"wrote {out.with_suffix('.json')} (+ .md, .png)")
    return result


if __name__ == "__main__":
    main()
