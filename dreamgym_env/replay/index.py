"""An hnswlib vector index (cosine) with growable capacity and save/load."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from dreamgym_env.error import MissingDependencyError, ReplayStoreError


@dataclass(frozen=True)
class IndexConfig:
    """HNSW parameters (see hnswlib's ALGO_PARAMS).

    Attributes:
        M: Graph degree; higher = better recall, more memory.
        ef_construction: Build-time beam width.
        ef: Query-time beam width (raised to ``k`` when smaller).
        initial_capacity: Elements allocated up front; the index doubles when full.
    """

    M: int = 16
    ef_construction: int = 100
    ef: int = 64
    initial_capacity: int = 1024


def _hnswlib():
    try:
        import hnswlib
    except ImportError as e:
        raise MissingDependencyError("hnswlib", "core", "the replay index", install="pip install hnswlib") from e
    return hnswlib


class VectorIndex:
    """Cosine k-NN over unit vectors with integer ids (the store's row ids)."""

    def __init__(self, dim: int, config: IndexConfig | None = None) -> None:
        self.dim = dim
        self.config = config or IndexConfig()
        self._index = _hnswlib().Index(space="cosine", dim=dim)
        self._index.init_index(max_elements=self.config.initial_capacity, M=self.config.M,
                               ef_construction=self.config.ef_construction, allow_replace_deleted=False)
        self._index.set_ef(self.config.ef)
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return int(self._index.get_current_count())

    def add(self, vectors: np.ndarray, ids: np.ndarray | list[int]) -> None:
        """Adds vectors under ids (re-adding an id replaces its vector)."""
        vectors = np.asarray(vectors, dtype=np.float32)
        if len(vectors) == 0:
            return
        if vectors.shape[1] != self.dim:
            raise ReplayStoreError(f"Vectors have dimension {vectors.shape[1]}, the index {self.dim}: "
                                   "the embedder changed; rebuild the index.")
        with self._lock:
            need = len(self) + len(vectors)
            cap = self._index.get_max_elements()
            if need > cap:
                self._index.resize_index(max(need, 2 * cap))
            self._index.add_items(vectors, np.asarray(ids, dtype=np.int64))

    def query(self, vectors: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Returns ``(ids, cosine_similarities)``, each ``(n, min(k, len))``, best first."""
        vectors = np.asarray(vectors, dtype=np.float32)
        n = len(self)
        k = min(k, n)
        if k <= 0 or len(vectors) == 0:
            return np.zeros((len(vectors), 0), dtype=np.int64), np.zeros((len(vectors), 0), dtype=np.float32)
        with self._lock:
            self._index.set_ef(max(self.config.ef, k))
            labels, dist = self._index.knn_query(vectors, k=k)
        return labels.astype(np.int64), (1.0 - dist).astype(np.float32)

    def ids(self) -> np.ndarray:
        """All ids in the index."""
        return np.asarray(self._index.get_ids_list(), dtype=np.int64)

    def save(self, path: str | Path) -> None:
        """Writes the index atomically (temp file + rename)."""
        path = Path(path)
        tmp = path.with_name(path.name + ".tmp")
        with self._lock:
            self._index.save_index(str(tmp))
        tmp.replace(path)

    @classmethod
    def load(cls, path: str | Path, dim: int, config: IndexConfig | None = None) -> VectorIndex:
        """Reads an index written by :meth:`save`."""
        self = cls.__new__(cls)
        self.dim = dim
        self.config = config or IndexConfig()
        self._index = _hnswlib().Index(space="cosine", dim=dim)
        try:
            self._index.load_index(str(path))
        except (RuntimeError, ValueError) as e:
            raise ReplayStoreError(f"Cannot read the index {path}: {e}") from e
        self._index.set_ef(self.config.ef)
        self._lock = threading.Lock()
        return self
