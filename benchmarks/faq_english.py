"""English questions on an Indonesian FAQ, with and without the English glossary (issue 14).

Each held-out English question is asked in-process of the FAQ index (retrieval and the judge,
no NLU; the whole stack is ``faq_end_to_end.py``), on the sparse FAQ (each entry's first
question and Indonesian answer only: what a library writes) and on the full one, with the
shipped glossary (``knowledge/lexicon/en_id.tsv``) and without it, side by side. Out-of-scope
English questions (the set's own and the other-institution sets' English ones) must be declined.

    HF_HUB_OFFLINE=1 .venv/bin/python benchmarks/faq_english.py [--heldout tests/data/heldout/faq_blind_en.yml]
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import tempfile
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.faq_decision import declined_share, outcomes  # noqa: E402
from benchmarks.faq_retrieval import FAQ_DIR  # noqa: E402
from knowledge.embedders import USE, load_embedder  # noqa: E402
from knowledge.english import Glossary, shipped_glossary  # noqa: E402
from knowledge.faq import check_folder, write_sparse_faq  # noqa: E402
from knowledge.faq_judge import load_judge_model  # noqa: E402
from knowledge.faq_search import FaqIndex, load_synonyms, shipped_tuning  # noqa: E402
from nlu.language import is_english  # noqa: E402

HELDOUT = ROOT / "tests" / "data" / "heldout"


def _text(row: str | dict[str, str]) -> str:
    return row if isinstance(row, str) else row["q"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--heldout", type=Path, action="append", help="held-out YAML files (answerable / out_of_scope)")
    parser.add_argument("--embedder", default=USE)
    args = parser.parse_args()
    files = args.heldout or [HELDOUT / "faq_blind_en.yml"]
    answerable: list[tuple[str, str]] = []
    oos: list[str] = []
    for path in files:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        answerable += [(row["q"], row["id"]) for row in data.get("answerable", []) if is_english(row["q"])]
        oos += [q for q in map(_text, data.get("out_of_scope", [])) if is_english(q)]
    for path in sorted(HELDOUT.glob("other_institutions*.yml")):
        oos += [q for q in map(_text, yaml.safe_load(path.read_text(encoding="utf-8"))["out_of_scope"]) if is_english(q)]
    embedder = load_embedder(args.embedder)
    tuning = shipped_tuning(args.embedder)
    judge = load_judge_model()
    synonyms = load_synonyms(FAQ_DIR / "sinonim.tsv")
    full, _ = check_folder(FAQ_DIR)
    with tempfile.TemporaryDirectory() as tmp:
        sparse = write_sparse_faq(FAQ_DIR, Path(tmp))
    conditions = [
        ("sparse", sparse),
        ("full without answer_en", [dataclasses.replace(i, answer_en=None) for i in full]),
        ("full", full),
    ]
    print(f"{len(answerable)} English questions in scope, {len(oos)} out of scope; embedder {args.embedder}")
    print("| FAQ | glossary | top-1 | answered right | answered wrong | not answered, right one in top 3 | out of scope declined |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for condition, items in conditions:
        for label, glossary in (("none", Glossary()), ("shipped", shipped_glossary())):
            index = FaqIndex(items, embedder=embedder, semantic_weight=tuning.semantic_weight,
                             english_weight=tuning.english_weight, synonyms=synonyms, judge=judge,
                             glossary=glossary)
            o = outcomes(index, answerable)
            n = max(len(answerable), 1)
            print(f"| {condition} | {label} | {o.top1 / n:.3f} | {o.right / n:.3f} | {o.wrong / n:.3f} "
                  f"| {o.offered / n:.3f} | {declined_share(index, oos):.3f} |")


if __name__ == "__main__":
    main()
