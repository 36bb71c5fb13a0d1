"""Replay: a real hnswlib index over real all-MiniLM-L6-v2 embeddings, in a real SQLite store."""

from __future__ import annotations

import numpy as np
import pytest

from dreamgym_env.error import ReplayStoreError
from dreamgym_env.replay import IndexConfig, TransitionStore, VectorIndex, open_replay, seeded_replay
from dreamgym_env.replay.buffer import exact_search
from dreamgym_env.types import Transition


def _t(state: str, action: str, domain: str = "alfworld", step: int = 0) -> Transition:
    return Transition(domain=domain, task_id="t", instruction="i", state=state, action=action,
                      next_state=f"after {action}", reward=0.0, done=False, step=step, episode_id=state[:8])


CORPUS = [
    _t("You arrive at countertop 1. On it you see a mug 1.", "take mug 1 from countertop 1"),
    _t("You arrive at fridge 1. The fridge 1 is closed.", "open fridge 1"),
    _t("You are at sinkbasin 1 holding a mug 1.", "clean mug 1 with sinkbasin 1"),
    _t("You arrive at desk 1. On it you see a book 1.", "take book 1 from desk 1"),
    _t("WebShop [SEP] Instruction: [SEP] red shoes [SEP] Search", "search[red shoes]", domain="webshop"),
]


def test_store_roundtrip_and_dedupe(tmp_path) -> None:
    store = TransitionStore(tmp_path / "s.sqlite")
    ids = store.add(CORPUS)
    assert store.add(CORPUS[:2]) == ids[:2]  # same uid -> same row, no duplicate
    assert store.count() == 5 and store.count("alfworld") == 4
    assert store.get([ids[3], ids[0]]) == [CORPUS[3], CORPUS[0]]
    store.close()
    assert TransitionStore(tmp_path / "s.sqlite").count() == 5


def test_corrupt_store_raises_typed_error(tmp_path) -> None:
    bad = tmp_path / "bad.sqlite"
    bad.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(ReplayStoreError, match="Cannot open"):
        TransitionStore(bad)


def test_retrieval_is_semantic_and_filtered_by_domain(embedder) -> None:
    buf = open_replay(None, embedder)
    buf.add(CORPUS)
    res = buf.retrieve("alfworld", [("You arrive at fridge 2. The fridge 2 is closed.", "open fridge 2"),
                                     ("You hold a mug at the sinkbasin.", "clean mug 2 with sinkbasin 1")], k=2)
    assert res[0][0].transition.action == "open fridge 1"
    assert res[1][0].transition.action == "clean mug 1 with sinkbasin 1"
    assert res[0][0].score > res[0][1].score
    assert all(r.transition.domain == "alfworld" for row in res for r in row)
    assert buf.retrieve("webshop", [("WebShop", "search[blue shoes]")], k=3)[0][0].transition.domain == "webshop"
    assert buf.retrieve("webarena", [("x", "y")], k=3) == [[]]


def test_save_load_and_rebuild(tmp_path, embedder) -> None:
    path = tmp_path / "r.sqlite"
    buf = open_replay(path, embedder)
    buf.add(CORPUS)
    buf.close()
    index_file = tmp_path / "r.sqlite.alfworld.hnsw"
    assert index_file.exists()
    again = open_replay(path, embedder)
    assert again.count("alfworld") == 4
    again.close()
    # A stale or broken index is rebuilt from the store, the source of truth.
    index_file.write_bytes(b"garbage")
    rebuilt = open_replay(path, embedder)
    assert rebuilt.count("alfworld") == 4
    assert rebuilt.retrieve("alfworld", [(CORPUS[1].state, CORPUS[1].action)], 1)[0][0].transition == CORPUS[1]


def test_seeded_cache_and_copy(tmp_path, embedder) -> None:
    files = [tmp_path / "seed.jsonl"]
    files[0].write_text("v1")
    a = seeded_replay("alfworld", CORPUS[:4], files, embedder)
    b = seeded_replay("alfworld", CORPUS[:4], files, embedder)
    assert a.store.path == b.store.path and b.count("alfworld") == 4
    own = seeded_replay("alfworld", CORPUS[:4], files, embedder, path=tmp_path / "own.sqlite")
    assert own.count("alfworld") == 4
    q = [(CORPUS[2].state, CORPUS[2].action)]
    assert own.retrieve("alfworld", q, 1)[0][0].transition == a.retrieve("alfworld", q, 1)[0][0].transition


def test_index_grows_and_matches_exact_search(embedder) -> None:
    texts = [f"You arrive at cabinet {i}. On the cabinet {i}, you see a {w} {i % 7}." for i, w in
             zip(range(600), ["mug", "apple", "bowl", "pen", "book", "cup"] * 100)]
    vecs = embedder.encode(texts)
    idx = VectorIndex(embedder.dim, IndexConfig(initial_capacity=16))
    idx.add(vecs, np.arange(len(vecs)))
    assert len(idx) == 600
    q = vecs[:50] + 0.01
    q /= np.linalg.norm(q, axis=1, keepdims=True)
    got, sims = idx.query(q, 5)
    exact = exact_search(vecs, q, 5)
    recall = np.mean([len(set(g) & set(e)) / 5 for g, e in zip(got, exact)])
    assert recall >= 0.9
    assert (np.diff(sims, axis=1) <= 1e-6).all()


def test_dimension_mismatch_is_typed() -> None:
    idx = VectorIndex(8)
    with pytest.raises(ReplayStoreError, match="dimension"):
        idx.add(np.ones((2, 4), dtype=np.float32), [0, 1])


def test_small_encoding_batches_give_the_vectors_of_one_big_batch(embedder) -> None:
    """The embedder encodes in small batches (less padding per batch); padding is masked, so the vectors
    equal those of one batch padded to the longest key."""
    keys = [f"action: look\nstate: {'You see a mug 1. ' * n}" for n in (0, 1, 3, 40, 2, 90, 5, 1, 60, 7, 0, 12)]
    assert embedder.batch_size < len(keys)
    small = embedder.encode(keys)
    big = embedder._model.encode(keys, batch_size=len(keys), normalize_embeddings=True, convert_to_numpy=True)
    assert small.shape == (len(keys), embedder.dim)
    np.testing.assert_allclose(small, big, atol=1e-5)
