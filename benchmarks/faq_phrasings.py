"""Patron phrasings lent to a sparse FAQ (knowledge/phrasings.py): with and without, side by side.

For each FAQ condition, the same index is built twice — the entries alone, and the entries with
the phrasings they borrow from the bank — and the held-out questions are asked of both
(retrieval and the FAQ judge, in-process; the whole stack is ``faq_end_to_end.py``):

* ``shipped sparse``: the shipped FAQ reduced to each entry's first question and answer, asked
  with the blind sets ``tests/data/heldout/faq_blind*.yml``. The bank was written from the same
  entries, so every entry finds its own phrasings: this row shows the mechanism, not what a new
  library gets;
* ``--faq-dir DIR --heldout FILE``: a FAQ written independently of the bank (e.g.
  ``tests/data/librarian_faq/``, written by a colleague from a sheet of the library's facts,
  with its own blind questions): the figure that counts.

Out of scope (declined share, both builds): the held-out files' own out-of-scope questions, the
other-institution sets and ``../shared/data/xsid/`` (test sets only).

    HF_HUB_OFFLINE=1 .venv/bin/python benchmarks/faq_phrasings.py \\
        --faq-dir tests/data/librarian_faq --heldout tests/data/heldout/librarian_blind.yml
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.faq_decision import declined_share, outcomes  # noqa: E402
from benchmarks.faq_embedders import blind_files, load_xsid  # noqa: E402
from benchmarks.faq_retrieval import FAQ_DIR, load_heldout  # noqa: E402
from knowledge.embedders import USE, load_embedder  # noqa: E402
from knowledge.faq import FaqItem, FaqStore, write_sparse_faq  # noqa: E402
from knowledge.faq_judge import load_judge_model  # noqa: E402
from knowledge.faq_search import FaqIndex, load_synonyms, shipped_tuning  # noqa: E402
from knowledge.phrasings import BANK_FILE, PhrasingBank, lent_phrasings, load_bank  # noqa: E402

HELDOUT = ROOT / "tests" / "data" / "heldout"


def other_institutions() -> list[str]:
    out: list[str] = []
    for path in sorted(HELDOUT.glob("other_institutions*.yml")):
        out += list(yaml.safe_load(path.read_text(encoding="utf-8"))["out_of_scope"])
    return out


def run(name: str, items: Sequence[FaqItem], synonyms: dict[str, str], answerable: list[tuple[str, str]],
        oos: list[str], bank: PhrasingBank, embedder_name: str) -> None:
    embedder = bank.index.embedder
    tuning = shipped_tuning(embedder_name)
    judge = load_judge_model()
    loans = bank.loans(items)
    print(f"\n{name}: {len(items)} entries, {len({x.entry_id for x in loans})} borrow ({sum(len(x.phrasings) for x in loans)} phrasings); "
          f"{len(answerable)} questions, {len(oos)} out of scope")
    other = other_institutions()
    xsid = load_xsid()
    print("| build | top-1 | answered right | answered wrong | not answered, right one in top 3 | EN right "
          "| declined: own oos | other institutions | xsid |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for build, borrowed in (("entries alone", {}), ("with the bank's phrasings", lent_phrasings(loans))):
        index = FaqIndex(items, embedder=embedder, semantic_weight=tuning.semantic_weight,
                         english_weight=tuning.english_weight, synonyms=synonyms, judge=judge, borrowed=borrowed)
        o = outcomes(index, answerable)
        n = max(len(answerable), 1)
        print(f"| {build} | {o.top1 / n:.3f} | {o.right / n:.3f} | {o.wrong / n:.3f} | {o.offered / n:.3f} "
              f"| {o.en_right / max(o.en_n, 1):.3f} ({o.en_n}) | {declined_share(index, oos):.3f} "
              f"| {declined_share(index, other):.3f} | {declined_share(index, xsid):.3f} |", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--faq-dir", type=Path, help="a FAQ folder written independently of the bank")
    parser.add_argument("--heldout", type=Path, action="append", default=[], help="its held-out question set(s)")
    parser.add_argument("--embedding-model", default=USE)
    parser.add_argument("--bank", type=Path, default=BANK_FILE)
    parser.add_argument("--no-shipped", action="store_true", help="skip the shipped sparse FAQ conditions")
    parser.add_argument("--half", action="store_true",
                        help="also: the shipped sparse FAQ with a bank of every other cluster only (a development "
                             "condition: half the entries borrow, half keep one question; asked with faq_blind1-4)")
    args = parser.parse_args()
    embedder = load_embedder(args.embedding_model)
    name = embedder.name if embedder is not None else ""
    tuning = shipped_tuning(name)
    synonyms = load_synonyms(FAQ_DIR / "sinonim.tsv")

    def bank_of(clusters: Sequence[FaqItem]) -> PhrasingBank:
        return PhrasingBank(clusters, embedder=embedder, judge=load_judge_model(),
                            semantic_weight=tuning.semantic_weight, english_weight=tuning.english_weight,
                            synonyms=synonyms)

    bank = bank_of(load_bank(args.bank))
    with tempfile.TemporaryDirectory() as tmp:
        sparse = write_sparse_faq(FAQ_DIR, Path(tmp))
    if not args.no_shipped:
        run("shipped sparse FAQ (the bank holds these entries' own phrasings)", sparse, synonyms,
            *questions(blind_files()), bank, name)
    if args.half:
        development = [p for p in blind_files() if p.name != "faq_blind5.yml"]
        run("shipped sparse FAQ, a bank of every other cluster (development)", sparse, synonyms,
            *questions(development), bank_of(load_bank(args.bank)[::2]), name)
    if args.faq_dir:
        run(f"{args.faq_dir} (written without the bank)", FaqStore(args.faq_dir).entries(),
            load_synonyms(args.faq_dir / "sinonim.tsv"), *questions(args.heldout), bank, name)


def questions(paths: Sequence[Path]) -> tuple[list[tuple[str, str]], list[str]]:
    """The held-out files' (question, entry id) pairs and out-of-scope questions, together."""
    answerable: list[tuple[str, str]] = []
    oos: list[str] = []
    for path in paths:
        a, o = load_heldout(path)
        answerable += a
        oos += o
    return answerable, oos

if __name__ == "__main__":
    main()
