"""Curriculum vs uniform task sampling with a scripted learner whose skill grows.

Prints the per-round success distribution (share of chosen tasks solved in 0 < rate < 1 of their
rollouts, mean success) and the time per curriculum round (plan + record + generation with a scripted
variation model), and plots the per-round mean success with its 10-90% band when matplotlib is
installed (otherwise the plot is skipped).

    python benchmarks/curriculum_plot.py --seeds 5 --rounds 30 --out benchmarks/results/curriculum.png
"""

from __future__ import annotations

import argparse
import statistics
import time

from dreamgym_env.curriculum.simulate import LearnerConfig, run


def _quantile(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return xs[min(int(q * len(xs)), len(xs) - 1)]


def main() -> int:
    """Runs both samplers over several seeds and reports."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--rounds", type=int, default=30)
    ap.add_argument("--out", default=None, help="PNG path (needs matplotlib)")
    args = ap.parse_args()
    learner = LearnerConfig(rounds=args.rounds)
    results: dict[str, list[list[list[float]]]] = {}
    for mode in ("curriculum", "uniform"):
        t0 = time.perf_counter()
        results[mode] = [run(mode, learner, seed=s) for s in range(args.seeds)]
        dt = time.perf_counter() - t0
        print(f"{mode}: {dt / (args.seeds * args.rounds) * 1e3:.2f} ms per round "
              f"({args.seeds} seeds x {args.rounds} rounds)")
    print(f"\n{'round':>5} {'skill':>6} | {'curr mean':>9} {'curr mid':>8} {'p10-p90':>11} | "
          f"{'unif mean':>9} {'unif mid':>8} {'p10-p90':>11}")
    summary: dict[str, list[tuple[float, float, float]]] = {m: [] for m in results}
    for r in range(args.rounds):
        row = [f"{r:5d} {learner.skill(r):6.2f}"]
        for mode, runs in results.items():
            rates = [x for one in runs for x in one[r]]
            mean = statistics.fmean(rates)
            mid = sum(0.0 < x < 1.0 for x in rates) / len(rates)
            lo, hi = _quantile(rates, 0.1), _quantile(rates, 0.9)
            summary[mode].append((mean, lo, hi))
            row.append(f"{mean:9.2f} {mid:8.2f} {lo:5.2f}-{hi:5.2f}")
        print(" | ".join(row))
    for mode, runs in results.items():
        rates = [x for one in runs for rs in one for x in rs]
        late = [x for one in runs for rs in one[-10:] for x in rs]
        print(f"{mode}: share of chosen tasks in the middle (0 < success < 1) "
              f"{sum(0 < x < 1 for x in rates) / len(rates):.2f}; mean success over the last 10 rounds "
              f"{statistics.fmean(late):.2f}")
    if args.out:
        try:
            import matplotlib

            matplotlib.use("Agg")
            import matplotlib.pyplot as plt
        except ImportError:
            print("matplotlib is not installed: plot skipped (pip install matplotlib)")
            return 0
        fig, ax = plt.subplots(figsize=(7, 4))
        for mode, rows in summary.items():
            xs = range(len(rows))
            ax.plot(xs, [m for m, _, _ in rows], label=mode)
            ax.fill_between(xs, [lo for _, lo, _ in rows], [hi for _, _, hi in rows], alpha=0.2)
        ax.axhline(0.5, color="grey", lw=0.5)
        ax.set(xlabel="round", ylabel="success rate of chosen tasks", ylim=(0, 1))
        ax.legend()
        fig.tight_layout()
        fig.savefig(args.out)
        print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
