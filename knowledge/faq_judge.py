"""Whether the best FAQ entry answers a question: one calibrated judgement over several signals.

One retrieval score cannot tell a paraphrase of a one-question entry from an out-of-scope
question that shares its words ("jam buka kantor samsat?" and "jam buka perpus?"). The judge
reads several signals of one search and gives the probability that the best entry is the
answer:

* the best score, its lead over the runner-up, and its lexical and semantic parts;
* the lead of the best entry's semantic score over the runner-up's;
* how much of the question lies outside the library's domain: the share of its content terms
  that neither the FAQ now serving nor the library-domain vocabulary (the NLU's in-scope
  training examples, shipped with the judge) ever uses ("samsat", "bpjs", "indomaret");
* how much nearer the question is, in the embedder's space, to the closest library question
  (the NLU's in-scope examples) than to the closest out-of-scope one (the calibration set and
  the NLU's ``out_of_scope`` examples), a question identical to an example not counting it;
* how long the question is, whether it is English, and how many question variants the best
  entry is found by (a one-question entry scores paraphrases lower than one of many; its own
  and those it borrows, :mod:`knowledge.phrasings`).

The model is a logistic regression fitted by ``benchmarks/faq_decision.py --fit`` on the team's
FAQ variants asked against the sparse and the full FAQ, and on the calibration out-of-scope
questions; never on a held-out set. Its coefficients and vocabulary ship in
``knowledge/calibration/faq_judge.json``, fitted per embedder.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from knowledge.embedders import Embedder
from knowledge.text import fold, terms

__all__ = ["FEATURES", "JUDGE_FILE", "DomainExamples", "FaqJudge", "JudgeModel", "Signals", "load_judge_model"]

JUDGE_FILE = Path(__file__).resolve().parent / "calibration" / "faq_judge.json"

FEATURES = (
    "score", "lead", "lexical", "semantic", "semantic_lead", "outside_domain", "domain_lead", "length", "english",
    "density",
)


@dataclass(frozen=True)
class Signals:
    """The judge's reading of one search (the features, named)."""

    score: float
    lead: float
    lexical: float
    semantic: float
    semantic_lead: float
    outside_domain: float
    domain_lead: float
    length: float
    english: float
    density: float

    def vector(self) -> list[float]:
        return [getattr(self, name) for name in FEATURES]


@dataclass(frozen=True)
class JudgeModel:
    """Fitted coefficients (per embedder name) and the library-domain vocabulary."""

    weights: dict[str, tuple[list[float], float]]  # embedder name -> (coefficients, intercept)
    answer_at: dict[str, float]  # embedder name -> probability from which the best entry is answered
    vocabulary: frozenset[str]
    domain_examples: tuple[str, ...] = ()  # library questions (the NLU's in-scope examples)
    outside_examples: tuple[str, ...] = ()  # out-of-scope questions

    def for_embedder(self, name: str) -> tuple[list[float], float, float] | None:
        if name not in self.weights:
            return None
        coefficients, intercept = self.weights[name]
        return coefficients, intercept, self.answer_at[name]

    def to_json(self) -> str:
        return json.dumps(
            {
                "features": list(FEATURES),
                "models": {
                    name: {"coefficients": [round(c, 5) for c in co], "intercept": round(b, 5),
                           "answer_at": self.answer_at[name]}
                    for name, (co, b) in sorted(self.weights.items())
                },
                "vocabulary": sorted(self.vocabulary),
                "domain_examples": list(self.domain_examples),
                "outside_examples": list(self.outside_examples),
            },
            ensure_ascii=False, indent=1,
        )


def load_judge_model(path: Path = JUDGE_FILE) -> JudgeModel | None:
    """The shipped model, or None when the file is missing (then the plain thresholds decide)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    if list(data.get("features", [])) != list(FEATURES):
        raise ValueError(f"{path}: fitted for other features; refit with benchmarks/faq_decision.py --fit")
    models = data["models"]
    return JudgeModel(
        weights={n: (list(m["coefficients"]), float(m["intercept"])) for n, m in models.items()},
        answer_at={n: float(m["answer_at"]) for n, m in models.items()},
        vocabulary=frozenset(data["vocabulary"]),
        domain_examples=tuple(data.get("domain_examples", ())),
        outside_examples=tuple(data.get("outside_examples", ())),
    )


def domain_vocabulary(texts: Iterable[str]) -> frozenset[str]:
    """Content terms of ``texts`` (the library domain's wording)."""
    out: set[str] = set()
    for text in texts:
        out.update(terms(text))
    return frozenset(out)


class FaqJudge:
    """Judges the searches of one FAQ index (built with it; immutable)."""

    def __init__(
        self, coefficients: Sequence[float], intercept: float, answer_at: float, *,
        vocabulary: frozenset[str], faq_terms: frozenset[str], questions_per_entry: float,
    ) -> None:
        if len(coefficients) != len(FEATURES):
            raise ValueError("one coefficient per feature")
        self.coefficients = list(coefficients)
        self.intercept = intercept
        self.answer_at = answer_at
        self.known = vocabulary | faq_terms
        self.density = math.log(max(questions_per_entry, 1.0))

    def signals(
        self, query_terms: set[str], scores: Sequence[tuple[float, float, float | None]], *, english: bool,
        domain_lead: float = 0.0, questions: int | None = None,
    ) -> Signals:
        """``scores``: (score, lexical, semantic) of the ranked hits, best first; ``domain_lead``:
        see :class:`DomainExamples`; ``questions``: how many question variants the best entry has
        (the density signal of that entry; default: the FAQ's mean, as in the fitted FAQs, where
        every entry has about as many)."""
        s1, lex1, sem1 = scores[0] if scores else (0.0, 0.0, None)
        s2, _, sem2 = scores[1] if len(scores) > 1 else (0.0, 0.0, None)
        outside = [t for t in query_terms if t not in self.known and not t.isdigit()]
        return Signals(
            score=s1, lead=s1 - s2, lexical=lex1, semantic=sem1 or 0.0,
            semantic_lead=(sem1 or 0.0) - (sem2 or 0.0),
            outside_domain=len(outside) / max(len(query_terms), 1), domain_lead=domain_lead,
            length=min(len(query_terms), 8) / 8, english=1.0 if english else 0.0,
            density=self.density if questions is None else math.log(max(questions, 1)),
        )

    def probability(self, signals: Signals) -> float:
        """Probability that the best entry answers the question."""
        z = self.intercept + sum(c * x for c, x in zip(self.coefficients, signals.vector(), strict=True))
        return 1 / (1 + math.exp(-max(min(z, 30.0), -30.0)))


class DomainExamples:
    """Embedded library and out-of-scope example questions, for the ``domain_lead`` signal."""

    def __init__(self, embedder: Embedder, inside: Sequence[str], outside: Sequence[str]) -> None:
        self.inside = embedder.embed_queries(list(inside)).astype(np.float32) if inside else None
        self.outside = embedder.embed_queries(list(outside)).astype(np.float32) if outside else None
        self._inside_at = {fold(t): i for i, t in enumerate(inside)}
        self._outside_at = {fold(t): i for i, t in enumerate(outside)}

    def lead(self, query: str, vector: np.ndarray) -> float:
        """Cosine with the closest library example minus that with the closest out-of-scope one."""
        if self.inside is None or self.outside is None:
            return 0.0
        key = fold(query)
        return _closest(self.inside @ vector, self._inside_at.get(key)) - _closest(self.outside @ vector, self._outside_at.get(key))


def _closest(similarities: np.ndarray, skip: int | None) -> float:
    if skip is not None:
        similarities = similarities.copy()
        similarities[skip] = -1.0
    return float(similarities.max()) if len(similarities) else 0.0
