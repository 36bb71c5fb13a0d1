"""Product search: BM25 over each product's text, ranked deterministically.

Upstream indexes ``title + description + first bullet + "type: v1, v2, and type: ..."`` (lower
case) with Pyserini/Lucene's English analyzer (standard tokens, English stop words, Porter stems)
and BM25 (k1 = 0.9, b = 0.4), returning at most 50 hits. This module does the same with
``bm25s`` (Lucene's BM25 variant) and PyStemmer's Porter stemmer; equal scores break by catalog order.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np

from .catalog import Product

#: Upstream returns at most this many products per search.
SEARCH_RETURN_N = 50
#: Lucene's English stop words (its EnglishAnalyzer default set).
LUCENE_STOPWORDS = frozenset(
    "a an and are as at be but by for if in into is it no not of on or such that the their then there "
    "these they this to was will with".split()
)
_TOKEN = re.compile(r"[a-z0-9]+")


def product_document(p: Product) -> str:
    """The text upstream indexes for a product."""
    option_text = ", and ".join(f"{name}: {', '.join(values)}" for name, values in p.options.items())
    first_bullet = p.bullet_points[0] if p.bullet_points else ""
    return f"{p.name} {p.description} {first_bullet} {option_text}".lower()


class Analyzer:
    """Lower case, split on non-alphanumerics, drop possessive ``'s`` and stop words, Porter-stem."""

    def __init__(self) -> None:
        import Stemmer  # PyStemmer

        self._stem = Stemmer.Stemmer("porter").stemWord

    def __call__(self, text: str) -> list[str]:
        """Returns the index terms of ``text``."""
        text = text.lower().replace("'s ", " ")
        return [self._stem(t) for t in _TOKEN.findall(text) if t not in LUCENE_STOPWORDS]


class SearchEngine:
    """A BM25 index over a list of products.

    Args:
        products: The products, in catalog order.
        k1: BM25 term-frequency saturation (Pyserini's default 0.9).
        b: BM25 length normalisation (Pyserini's default 0.4).
    """

    def __init__(self, products: Sequence[Product], k1: float = 0.9, b: float = 0.4) -> None:
        import bm25s

        self.asins = [p.asin for p in products]
        self.analyzer = Analyzer()
        corpus = [self.analyzer(product_document(p)) or ["\x00"] for p in products]
        self._index = bm25s.BM25(k1=k1, b=b, method="lucene")
        self._index.index(corpus, show_progress=False)
        self._vocab = self._index.vocab_dict

    def search(self, keywords: str, k: int = SEARCH_RETURN_N) -> list[str]:
        """Returns the ASINs of the top ``k`` products with a positive score, best first."""
        terms = [t for t in self.analyzer(keywords) if t in self._vocab]
        if not terms or not self.asins:
            return []
        scores = np.asarray(self._index.get_scores(terms), dtype=np.float64)
        hits = np.flatnonzero(scores > 0)
        # Sort by score descending, then catalog order, so equal scores rank the same everywhere.
        order = hits[np.lexsort((hits, -scores[hits]))][:k]
        return [self.asins[i] for i in order]
