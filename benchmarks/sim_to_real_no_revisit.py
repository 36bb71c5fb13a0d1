"""``bench_sim_to_real.py`` with ALFWorld's revisit and open-on-return arrival rules switched off.

A diagnostic, not a product setting: it answers whether those two rules (94d6559, 6475cc0) are what lowered
(b)'s held-out real success. With them off, the arrival repair is exactly the one of 0889c09, which the
6-seed ``sim_to_real_batch8_arrival_repair*`` runs used. Both rules read the receptacles the episode has
seen listed (``_Seen.listed``); emptying that set turns both off and leaves every other rule as it is.

Usage: the same arguments as ``bench_sim_to_real.py``, e.g.
``python benchmarks/sim_to_real_no_revisit.py --conditions dreamgym --seeds 1 --first-seed 0 \
--eval-episodes 40 --parallel 16 --base-url http://127.0.0.1:8011/v1 --json out.json``.
"""
from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import dreamgym_env.envs.alfworld.domain as alfworld_domain


def switch_off_revisit_rules() -> None:
    """Patches ALFWorld's episode tracker so that no receptacle counts as seen listed (idempotent)."""
    track = alfworld_domain._track
    if getattr(track, "_no_revisit", False):
        return

    def _track(task: Any, history: Any) -> Any:
        seen = track(task, history)
        seen.listed = set()
        return seen

    _track._no_revisit = True  # type: ignore[attr-defined]
    alfworld_domain._track = _track


if __name__ == "__main__":
    switch_off_revisit_rules()
    import bench_sim_to_real

    bench_sim_to_real.main(sys.argv[1:])
