"""The experience replay buffer: a transition store plus one hnswlib index per domain.

Seeded with offline real transitions and optionally enriched with synthetic ones; retrieval returns
the top-k stored transitions by cosine similarity of ``phi(state, action)``, within one domain.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from dreamgym_env.error import ReplayStoreError
from dreamgym_env.replay.embedder import Embedder, get_embedder, transition_key
from dreamgym_env.replay.index import IndexConfig, VectorIndex
from dreamgym_env.replay.store import TransitionStore
from dreamgym_env.types import Transition


@dataclass(frozen=True)
class Retrieved:
    """One retrieval result."""

    rowid: int
    score: float
    transition: Transition


class ReplayBuffer:
    """Transitions with per-domain vector indices.

    Args:
        store: Where transitions live (its row ids are the index ids).
        embedder: Encodes ``phi(state, action)``.
        index_config: HNSW parameters.
        progress: Show a progress bar when (re)building an index.
    """

    def __init__(self, store: TransitionStore, embedder: Embedder, index_config: IndexConfig | None = None,
                 progress: bool = False) -> None:
        self.store = store
        self.embedder = embedder
        self.index_config = index_config or IndexConfig()
        self._indices: dict[str, VectorIndex] = {}
        self._lock = threading.Lock()
        self._progress = progress
        self._dirty: set[str] = set()
        self._load_or_rebuild()

    # ----- persistence ----------------------------------------------------------------------------
    def _index_path(self, domain: str) -> Path | None:
        if self.store.path is None:
            return None
        return self.store.path.with_name(f"{self.store.path.name}.{domain}.hnsw")

    def _load_or_rebuild(self) -> None:
        stored_embedder = self.store.get_meta("embedder")
        if stored_embedder is None:
            self.store.set_meta("embedder", self.embedder.name)
        same_embedder = stored_embedder in (None, self.embedder.name)
        for domain in self.store.domains():
            path = self._index_path(domain)
            n = self.store.count(domain)
            if same_embedder and path is not None and path.exists():
                try:
                    idx = VectorIndex.load(path, self.embedder.dim, self.index_config)
                    # Same size is not enough after a crash: the saved index must hold exactly the
                    # stored rows, or it is rebuilt from the store (the source of truth).
                    if len(idx) == n and np.array_equal(np.sort(idx.ids()), self.store.rowids(domain)):
                        self._indices[domain] = idx
                        continue
                except ReplayStoreError:
                    pass  # unreadable: rebuild from the store, which is the source of truth
            self._rebuild(domain)
        if not same_embedder:
            self.store.set_meta("embedder", self.embedder.name)

    def _rebuild(self, domain: str, batch: int = 512) -> None:
        from tqdm.auto import tqdm

        idx = VectorIndex(self.embedder.dim, self.index_config)
        rows: list[tuple[int, Transition]] = []
        bar = tqdm(total=self.store.count(domain), desc=f"index {domain}", disable=not self._progress)
        for item in self.store.iter_domain(domain):
            rows.append(item)
            if len(rows) >= batch:
                self._embed_into(idx, rows)
                bar.update(len(rows))
                rows = []
        if rows:
            self._embed_into(idx, rows)
            bar.update(len(rows))
        bar.close()
        self._indices[domain] = idx
        self._dirty.add(domain)

    def _embed_into(self, idx: VectorIndex, rows: Sequence[tuple[int, Transition]]) -> None:
        vecs = self.embedder.encode([transition_key(t.state, t.action) for _, t in rows])
        idx.add(vecs, [r for r, _ in rows])

    def save(self) -> None:
        """Writes changed indices next to the store file (no-op for an in-memory store)."""
        with self._lock:
            for domain in sorted(self._dirty):
                path = self._index_path(domain)
                if path is not None:
                    self._indices[domain].save(path)
            self._dirty.clear()

    # ----- use ------------------------------------------------------------------------------------
    def __len__(self) -> int:
        return self.store.count()

    def count(self, domain: str) -> int:
        """Number of indexed transitions of a domain."""
        idx = self._indices.get(domain)
        return len(idx) if idx is not None else 0

    def add(self, transitions: Iterable[Transition]) -> list[int]:
        """Stores and indexes transitions (one transaction, one batched embedding). Returns row ids."""
        items = list(transitions)
        if not items:
            return []
        ids = self.store.add(items)
        by_domain: dict[str, list[tuple[int, Transition]]] = {}
        for rowid, t in zip(ids, items):
            by_domain.setdefault(t.domain, []).append((rowid, t))
        with self._lock:
            for domain, rows in by_domain.items():
                idx = self._indices.get(domain)
                if idx is None:
                    idx = self._indices[domain] = VectorIndex(self.embedder.dim, self.index_config)
                self._embed_into(idx, rows)
                self._dirty.add(domain)
        return ids

    def copy_domain_from(self, other: ReplayBuffer, domain: str) -> int:
        """Copies a domain's transitions and their vectors from another buffer (no re-embedding)."""
        if other.embedder.name != self.embedder.name:
            return len(self.add(t for _, t in other.store.iter_domain(domain)))
        src = other._indices.get(domain)
        rows = list(other.store.iter_domain(domain))
        if src is None or not rows:
            return 0
        vecs = np.asarray(src._index.get_items([r for r, _ in rows]), dtype=np.float32)
        ids = self.store.add(t for _, t in rows)
        with self._lock:
            idx = self._indices.get(domain)
            if idx is None:
                idx = self._indices[domain] = VectorIndex(self.embedder.dim, self.index_config)
            idx.add(vecs, ids)
            self._dirty.add(domain)
        return len(ids)

    def retrieve(self, domain: str, keys: Sequence[tuple[str, str]], k: int) -> list[list[Retrieved]]:
        """Returns, for each ``(state, action)`` key, the top-``k`` stored transitions of ``domain``.

        One batched embedding and one batched k-NN query for all keys.
        """
        idx = self._indices.get(domain)
        if idx is None or len(idx) == 0 or k <= 0 or not keys:
            return [[] for _ in keys]
        vecs = self.embedder.encode([transition_key(s, a) for s, a in keys])
        labels, sims = idx.query(vecs, k)
        flat = sorted({int(i) for row in labels for i in row})
        by_id = dict(zip(flat, self.store.get(flat)))
        return [
            [Retrieved(int(i), float(s), by_id[int(i)]) for i, s in zip(lrow, srow)]
            for lrow, srow in zip(labels, sims)
        ]

    def close(self) -> None:
        """Saves changed indices and closes the store."""
        self.save()
        self.store.close()


def open_replay(path: str | Path | None, embedder: Embedder | None = None,
                index_config: IndexConfig | None = None, progress: bool = False) -> ReplayBuffer:
    """Opens (or creates) a replay buffer at ``path`` (``None`` = in memory)."""
    return ReplayBuffer(TransitionStore(path), embedder or get_embedder(), index_config, progress=progress)


def seeded_replay(domain_name: str, seeds: Sequence[Transition], seed_files: Sequence[Path],
                  embedder: Embedder | None = None, path: str | Path | None = None) -> ReplayBuffer:
    """Returns a replay buffer that holds a domain's seed transitions.

    With ``path=None`` the buffer is a read-mostly cache keyed by the seed files' content and the
    embedder, built once per machine (under a lock, atomically) and then loaded in milliseconds.
    With a ``path``, that store is opened and seeded if it has none of this domain's transitions.
    """
    from dreamgym_env.model.assets import cache_dir, file_lock

    embedder = embedder or get_embedder()
    if path is not None:
        buf = open_replay(path, embedder)
        if buf.count(domain_name) == 0 and seeds:
            # Seed from the shared cache: its vectors are computed once per machine.
            buf.copy_domain_from(seeded_replay(domain_name, seeds, seed_files, embedder), domain_name)
            buf.save()
        return buf
    h = hashlib.blake2b(digest_size=8)
    h.update(embedder.name.encode())
    for f in seed_files:
        h.update(Path(f).read_bytes())
    target = cache_dir() / "replay" / f"{domain_name}-{h.hexdigest()}.sqlite"
    with file_lock(target.with_name(target.name + ".lock")):
        if not target.exists():
            tmp = target.with_name(target.name + ".building")
            for stale in tmp.parent.glob(tmp.name + "*"):
                stale.unlink()
            buf = open_replay(tmp, embedder)
            buf.add(seeds)
            buf.close()
            for suffix in ("", f".{domain_name}.hnsw"):
                Path(str(tmp) + suffix).replace(str(target) + suffix)
            for stale in tmp.parent.glob(tmp.name + "*"):  # WAL side files of the closed temp store
                stale.unlink()
        return open_replay(target, embedder)


def exact_search(vectors: np.ndarray, queries: np.ndarray, k: int) -> np.ndarray:
    """Exact cosine top-k over unit vectors (the baseline hnswlib is measured against)."""
    sims = queries @ vectors.T
    k = min(k, vectors.shape[0])
    part = np.argpartition(-sims, kth=k - 1, axis=1)[:, :k]
    order = np.take_along_axis(sims, part, axis=1).argsort(axis=1)[:, ::-1]
    return np.take_along_axis(part, order, axis=1)
