"""Experience replay: a persistent transition store, an hnswlib index and an embedder."""

from dreamgym_env.replay.buffer import ReplayBuffer, Retrieved, open_replay, seeded_replay
from dreamgym_env.replay.embedder import Embedder, SentenceTransformerEmbedder, get_embedder, transition_key
from dreamgym_env.replay.index import IndexConfig, VectorIndex
from dreamgym_env.replay.store import TransitionStore

__all__ = [
    "Embedder",
    "IndexConfig",
    "ReplayBuffer",
    "Retrieved",
    "SentenceTransformerEmbedder",
    "TransitionStore",
    "VectorIndex",
    "get_embedder",
    "open_replay",
    "seeded_replay",
    "transition_key",
]
