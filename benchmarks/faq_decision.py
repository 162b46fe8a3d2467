"""Fit and measure the FAQ judge (knowledge/faq_judge.py): answer, ask back or decline.

Fitting (``--fit``) never sees a held-out set. Its questions are the team's FAQ variants asked
against FAQ indexes that do not contain them:

* sparse: every entry reduced to its first question and answer; the other variants are queries;
* full: the variants split in four folds; each fold is asked against the FAQ without it.

Out of scope: ``knowledge/calibration/out_of_scope.yml`` and the NLU's ``out_of_scope``
examples, asked against both. A row is positive when the best entry is the expected one. The
answer probability is chosen on out-of-fold predictions of the fit rows (the lowest that keeps
wrong answers within ``--max-wrong`` of the in-scope questions and answered out-of-scope
questions within ``--max-oos`` on both FAQ conditions).

Measuring (default) asks the held-out sets in-process (retrieval and judge only; the whole
stack is ``faq_end_to_end.py``): the blind sets' paraphrases and out-of-scope questions,
``tests/data/heldout/other_institutions.yml`` and ``../shared/data/xsid/`` (test sets only).

    HF_HUB_OFFLINE=1 .venv/bin/python benchmarks/faq_decision.py --fit     # writes faq_judge.json
    HF_HUB_OFFLINE=1 .venv/bin/python benchmarks/faq_decision.py           # held-out figures
"""

from __future__ import annotations

import argparse
import dataclasses
import pickle
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.faq_embedders import query_sets  # noqa: E402
from benchmarks.faq_retrieval import FAQ_DIR  # noqa: E402
from bot.training import DATA  # noqa: E402
from knowledge.embedders import USE, Embedder, load_embedder  # noqa: E402
from knowledge.faq import FaqItem, check_folder, write_sparse_faq  # noqa: E402
from knowledge.faq_judge import FEATURES, JUDGE_FILE, JudgeModel, domain_vocabulary, load_judge_model  # noqa: E402
from knowledge.faq_search import FaqIndex, load_synonyms, shipped_tuning  # noqa: E402
from nlu.language import is_english  # noqa: E402

OTHER_INSTITUTIONS = ROOT / "tests" / "data" / "heldout" / "other_institutions.yml"


def nlu_in_scope_examples() -> list[str]:
    """The NLU's training examples of every intent but ``out_of_scope`` (the library's wording)."""
    out: list[str] = []
    for block in yaml.safe_load((DATA / "nlu.yml").read_text(encoding="utf-8"))["nlu"]:
        if block.get("intent") and block["intent"] != "out_of_scope":
            out += [ln.strip()[2:].strip() for ln in block["examples"].splitlines() if ln.strip().startswith("- ")]
    return out


@dataclass(frozen=True)
class Asked:
    """One question asked against one index: the judge's features and whether the best is right."""

    features: list[float]
    text: str
    in_scope: bool
    right: bool  # the best entry is the expected one (False for every out-of-scope question)
    condition: str


def make_index(items: Sequence[FaqItem], embedder: Embedder | None, synonyms: dict[str, str],
               examples: JudgeModel | None = None) -> FaqIndex:
    tuning = shipped_tuning(embedder.name if embedder is not None else "")
    return FaqIndex(items, embedder=embedder, semantic_weight=tuning.semantic_weight,
                    english_weight=tuning.english_weight, synonyms=synonyms, judge=examples)


def ask(index: FaqIndex, vocabulary: frozenset[str], questions: Sequence[tuple[str, str | None]],
        condition: str) -> list[Asked]:
    reader = index.make_judge([0.0] * len(FEATURES), 0.0, 0.5, vocabulary=vocabulary)
    if index.embedder is not None:  # one batch: much faster than one question at a time
        index.embedder.embed_queries([q for q, _ in questions])
    out = []
    for question, expected in questions:
        hits = index.search(question, limit=2)
        signals = reader.signals(index.query_terms(question), [(h.score, h.lexical, h.semantic) for h in hits],
                                 english=is_english(question), domain_lead=index.domain_lead(question))
        right = bool(hits) and expected is not None and hits[0].item.id == expected
        out.append(Asked(signals.vector(), question, expected is not None, right, condition))
    return out


def fit_rows(embedder: Embedder | None, vocabulary: frozenset[str], examples: JudgeModel) -> list[Asked]:
    full, problems = check_folder(FAQ_DIR)
    if problems:
        raise SystemExit(f"FAQ files invalid: {problems}")
    synonyms = load_synonyms(FAQ_DIR / "sinonim.tsv")
    sets = query_sets()
    oos: list[tuple[str, str | None]] = [(q, None) for q in dict.fromkeys([*sets.calibration, *sets.nlu_oos])]
    with tempfile.TemporaryDirectory() as tmp:
        sparse = write_sparse_faq(FAQ_DIR, Path(tmp))
    rows = ask(make_index(sparse, embedder, synonyms, examples), vocabulary,
               [(q, item.id) for item in full for q in item.questions[1:]] + oos, "sparse")
    folds = 4
    for fold in range(folds):
        kept, asked = [], []
        for item in full:
            keep = [q for n, q in enumerate(item.questions) if n == 0 or n % folds != fold]
            asked += [(q, item.id) for n, q in enumerate(item.questions) if n and n % folds == fold]
            kept.append(dataclasses.replace(item, questions=tuple(keep)))
        rows += ask(make_index(kept, embedder, synonyms, examples), vocabulary, asked + (oos if fold == 0 else []), "full")
    return rows


def _weights(rows: list[Asked]) -> np.ndarray:
    """Out-of-scope rows weigh as much, in total, as the in-scope ones of their condition."""
    w = np.ones(len(rows))
    for condition in ("sparse", "full"):
        inscope = sum(r.in_scope and r.condition == condition for r in rows)
        oos = sum((not r.in_scope) and r.condition == condition for r in rows)
        for i, r in enumerate(rows):
            if r.condition == condition and not r.in_scope:
                w[i] = inscope / max(oos, 1)
    return w


def choose_answer_at(rows: list[Asked], p: np.ndarray, max_wrong: float, max_oos: float) -> float:
    """The lowest probability at which both conditions stay within the error budgets."""
    for at in np.arange(0.30, 0.96, 0.01):
        ok = True
        for condition in ("sparse", "full"):
            idx = [i for i, r in enumerate(rows) if r.condition == condition]
            inscope = [i for i in idx if rows[i].in_scope]
            oos = [i for i in idx if not rows[i].in_scope]
            wrong = sum(p[i] >= at and not rows[i].right for i in inscope) / max(len(inscope), 1)
            answered_oos = sum(p[i] >= at for i in oos) / max(len(oos), 1)
            ok = ok and wrong <= max_wrong and answered_oos <= max_oos
        if ok:
            return round(float(at), 2)
    return 0.95


def fit(embedders: Sequence[str], max_wrong: float, max_oos: float, rows_cache: Path | None = None) -> JudgeModel:
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import cross_val_predict

    inside = nlu_in_scope_examples()
    vocabulary = domain_vocabulary(inside)
    sets = query_sets()
    outside = list(dict.fromkeys([*sets.calibration, *sets.nlu_oos]))
    # Only the examples (no fitted weights yet): the indexes embed them for the domain_lead signal.
    examples = JudgeModel({}, {}, vocabulary, tuple(inside), tuple(outside))
    weights: dict[str, tuple[list[float], float]] = {}
    answer_at: dict[str, float] = {}
    for name in embedders:
        embedder = load_embedder(name) if name else None
        cached = rows_cache / f"rows-{name or 'lexical'}.pickle" if rows_cache else None
        if cached is not None and cached.exists():
            rows, _ = pickle.loads(cached.read_bytes())
        else:
            rows = fit_rows(embedder, vocabulary, examples)
            if cached is not None:
                cached.write_bytes(pickle.dumps((rows, {})))
        X = np.array([r.features for r in rows])
        y = np.array([int(r.right) for r in rows])
        w = _weights(rows)
        model = LogisticRegression(C=1.0, max_iter=5000)
        p = cross_val_predict(model, X, y, cv=5, method="predict_proba", params={"sample_weight": w})[:, 1]
        model.fit(X, y, sample_weight=w)
        weights[name] = (model.coef_[0].tolist(), float(model.intercept_[0]))
        answer_at[name] = choose_answer_at(rows, p, max_wrong, max_oos)
        print(f"{name or 'lexical only'}: {len(rows)} fit rows, answer at p >= {answer_at[name]}; "
              + ", ".join(f"{f} {c:+.2f}" for f, c in zip(FEATURES, weights[name][0], strict=True)))
    return JudgeModel(weights, answer_at, vocabulary, tuple(inside), tuple(outside))


def measure(model: JudgeModel, name: str, per_entry: Sequence[int] = ()) -> None:
    """Held-out figures of the judge (in-process; no NLU)."""
    embedder = load_embedder(name) if name else None
    full, _ = check_folder(FAQ_DIR)
    synonyms = load_synonyms(FAQ_DIR / "sinonim.tsv")
    sets = query_sets()
    other = list(yaml.safe_load(OTHER_INSTITUTIONS.read_text(encoding="utf-8"))["out_of_scope"])
    with tempfile.TemporaryDirectory() as tmp:
        sparse = write_sparse_faq(FAQ_DIR, Path(tmp))
    print(f"\n{name or 'lexical only'}: held-out figures (in-process, no NLU)")
    print("| FAQ | top-1 | answered right | answered wrong | not answered, right one in top 3 | EN right "
          "| declined: blind oos | other institutions | xsid |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    conditions = [("sparse", sparse)]
    conditions += [(f"{k} questions per entry", [dataclasses.replace(i, questions=i.questions[:k], answer_en=None)
                                                for i in full]) for k in per_entry]
    conditions.append(("full", full))
    for condition, items in conditions:
        tuning = shipped_tuning(name)
        index = FaqIndex(items, embedder=embedder, semantic_weight=tuning.semantic_weight,
                         english_weight=tuning.english_weight, synonyms=synonyms, judge=model)
        o = outcomes(index, sets.answerable)
        top1, right, wrong, offered, en_right, en_n = o.top1, o.right, o.wrong, o.offered, o.en_right, o.en_n

        def declined(qs: Sequence[str]) -> float:
            return declined_share(index, qs)

        n = len(sets.answerable)
        print(f"| {condition} | {top1 / n:.3f} | {right / n:.3f} | {wrong / n:.3f} | {offered / n:.3f} "
              f"| {en_right / max(en_n, 1):.3f} | {declined(sets.blind_oos):.3f} | {declined(other):.3f} "
              f"| {declined(sets.xsid):.3f} |")


@dataclass
class Outcomes:
    """How the in-scope questions of a held-out set fared on one FAQ index."""

    top1: int = 0  # the best entry is the expected one
    right: int = 0  # answered, with the expected entry
    wrong: int = 0  # answered, with another entry
    offered: int = 0  # not answered, the expected entry among the three offered
    en_right: int = 0  # answered right, in English
    en_n: int = 0  # questions in English


def outcomes(index: FaqIndex, answerable: Sequence[tuple[str, str]]) -> Outcomes:
    """Each (question, expected entry id) asked of ``index`` (retrieval and judge, no NLU)."""
    o = Outcomes()
    for question, expected in answerable:
        hits = index.search(question, limit=3)
        ok = bool(hits) and hits[0].item.id == expected
        english = is_english(question)
        o.top1 += ok
        if hits and hits[0].sure:
            o.right += ok
            o.wrong += not ok
            o.en_right += ok and english
        else:
            o.offered += expected in [h.item.id for h in hits]
        o.en_n += english
    return o


def declined_share(index: FaqIndex, questions: Sequence[str]) -> float:
    """The share of ``questions`` ``index`` does not answer."""
    return sum(not (h := index.search(q, limit=1)) or not h[0].sure for q in questions) / max(len(questions), 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--fit", action="store_true", help="fit the judge and write knowledge/calibration/faq_judge.json")
    parser.add_argument("--embedder", action="append", help="embedder names to fit (default: the default USE and lexical)")
    parser.add_argument("--max-wrong", type=float, default=0.03, help="wrong answers allowed on the fit questions")
    parser.add_argument("--max-oos", type=float, default=0.03, help="answered out-of-scope questions allowed")
    parser.add_argument("--rows-cache", type=Path, help="a folder keeping the fit questions' signals between runs")
    parser.add_argument("--per-entry", default="", help="also measure FAQs of the first K questions per entry, e.g. 2,3,5")
    args = parser.parse_args()
    names = args.embedder or [USE, ""]
    if args.fit:
        model = fit(names, args.max_wrong, args.max_oos, args.rows_cache)
        JUDGE_FILE.write_text(model.to_json() + "\n", encoding="utf-8")
        print(f"wrote {JUDGE_FILE.relative_to(ROOT)}")
    model = load_judge_model()
    if model is None:
        raise SystemExit("no judge fitted yet: run with --fit")
    per_entry = [int(k) for k in args.per_entry.split(",") if k.strip()]
    for name in names:
        measure(model, name, per_entry)


if __name__ == "__main__":
    main()
