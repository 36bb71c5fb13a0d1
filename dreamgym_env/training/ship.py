"""Ships a trained model as a domain's default: float16 weights + tokenizer into ``envs/<domain>/data/model``.

    python -m dreamgym_env.training.ship runs/alf-full alfworld

The runnable float32 folder is rebuilt from these files on first use
(:func:`dreamgym_env.model.assets.ensure_trained_default`), so ``dreamgym serve --model default-alfworld``
and an env without a ``model=`` both use it.
"""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

from dreamgym_env.error import InvalidConfigError


def ship(run_dir: str | Path, domain: str, dest: str | Path | None = None) -> Path:
    """Writes ``run_dir/model`` in float16 (plus its ``dreamgym.json`` and the run's ``report.json``) to ``dest``.

    Returns:
        The folder written (default: the domain's ``data/model``).
    """
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from dreamgym_env.domain import get_domain

    run = Path(run_dir)
    src = run / "model"
    if not (src / "config.json").exists():
        raise InvalidConfigError(f"{src} is not a trained model folder (run `dreamgym train` first).")
    if dest is None:
        d = get_domain(domain)
        if d.data_dir is None:
            raise InvalidConfigError(f"The domain {domain!r} has no data folder to ship a model into.")
        dest = Path(d.data_dir) / "model"
    dest = Path(dest)
    shutil.rmtree(dest, ignore_errors=True)
    model = AutoModelForCausalLM.from_pretrained(str(src), dtype=torch.float16)
    model.save_pretrained(str(dest))
    AutoTokenizer.from_pretrained(str(src)).save_pretrained(str(dest))
    shutil.copy(src / "dreamgym.json", dest / "dreamgym.json")
    if (run / "report.json").exists():
        rep = json.loads((run / "report.json").read_text())
        rep.pop("loss_curve", None)
        (dest / "report.json").write_text(json.dumps(rep, indent=1) + "\n")
    return dest


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("run_dir", help="a `dreamgym train --out` folder")
    ap.add_argument("domain")
    ap.add_argument("--dest", default=None)
    args = ap.parse_args(argv)
    out = ship(args.run_dir, args.domain, args.dest)
    size = sum(f.stat().st_size for f in out.iterdir()) / 1e6
    print(f"shipped {out} ({size:.1f} MB)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
