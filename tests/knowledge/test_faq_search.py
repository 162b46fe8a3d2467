"""FAQ retrieval: ranking, paraphrases, thresholds on held-out questions (never in the FAQ files)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import yaml

from knowledge.faq import FaqItem, FaqStore
from knowledge.db import upgrade
from bot.settings import Settings
from knowledge.faq_search import (
    SYNONYMS_FILE,
    Embedder,
    FaqIndex,
    Thresholds,
    load_embedder,
    load_synonyms,
    shipped_tuning,
)
from knowledge.kb import CachingEmbedder, KnowledgeBase
from nlu.language import is_english

ROOT = Path(__file__).resolve().parents[2]
HELDOUT = ROOT / "tests" / "data" / "heldout" / "faq.yml"


@pytest.fixture(scope="module")
def index() -> FaqIndex:
    return FaqIndex(FaqStore(ROOT / "knowledge" / "faq").entries())


@pytest.fixture(scope="module")
def heldout() -> dict:
    return yaml.safe_load(HELDOUT.read_text(encoding="utf-8"))


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("kalo puasa bukanya jam berapa", "jam-buka-ramadan"),
        ("jm bka perpus hr sabtu", "jam-buka-sabtu"),
        ("perpus bukaaa jam brp?", "jam-buka"),
        ("gmn cara bikin kartu anggota", "cara-daftar-anggota"),
        ("Wifi password?", "wifi"),
    ],
)
def test_chat_spellings_find_the_entry(index: FaqIndex, question: str, expected: str) -> None:
    hits = index.search(question)
    assert hits[0].item.id == expected
    assert Thresholds().confident(hits)


@pytest.mark.parametrize(
    ("heldout_file", "out_of_scope"),
    [("faq.yml", 50), ("faq_blind.yml", 50), ("faq_blind2.yml", 50), ("faq_blind3.yml", 50), ("faq_blind4.yml", 50),
     ("faq_blind_en.yml", 40)],
)
def test_heldout_paraphrases_are_not_faq_variants(heldout_file: str, out_of_scope: int) -> None:
    data = yaml.safe_load((HELDOUT.parent / heldout_file).read_text(encoding="utf-8"))
    entries = FaqStore(ROOT / "knowledge" / "faq").entries()
    variants = {q.strip().lower() for i in entries for q in i.questions}
    assert len(data["answerable"]) >= 100 and len(data["out_of_scope"]) >= out_of_scope
    assert not [a["q"] for a in data["answerable"] if a["q"].strip().lower() in variants]
    assert {a["id"] for a in data["answerable"]} <= {i.id for i in entries}


def figures(index: FaqIndex, data: dict, th: Thresholds) -> tuple[float, float, float]:
    """Top-1, answered wrongly and out-of-scope declined on a held-out set."""
    top1 = wrong = 0
    for a in data["answerable"]:
        hits = index.search(a["q"])
        top1 += hits[0].item.id == a["id"]
        wrong += th.confident(hits) and hits[0].item.id != a["id"]
    n = len(data["answerable"])
    declined = sum(1 for q in data["out_of_scope"] if not th.confident(index.search(q)))
    return top1 / n, wrong / n, declined / len(data["out_of_scope"])


def test_heldout_ranking_and_thresholds(index: FaqIndex, heldout: dict) -> None:
    """Lexical retrieval alone, without synonyms; see RESULTS.md."""
    top1, wrong, declined = figures(index, heldout, Thresholds())
    assert top1 >= 0.80
    assert wrong <= 0.05  # a wrong answer is worse than asking back
    assert declined >= 0.90


def test_exclude_and_empty_index(index: FaqIndex) -> None:
    hits = index.search("jam buka perpustakaan kalau puasa", exclude=frozenset({"jam-buka-ramadan"}))
    assert "jam-buka-ramadan" not in [h.item.id for h in hits]
    assert FaqIndex([]).search("apa saja") == []


class _Letters:
    """A deterministic toy embedder: letter-frequency vectors (real models: test_embedders.py)."""

    name = "letters"
    dim = 26

    def embed_queries(self, texts: list[str]) -> np.ndarray:
        v = np.array([[float(t.lower().count(c)) for c in "abcdefghijklmnopqrstuvwxyz"] for t in texts],
                     dtype=np.float32).reshape(len(texts), 26)
        return v / np.maximum(np.linalg.norm(v, axis=1, keepdims=True), 1e-12)

    embed_passages = embed_queries


def test_semantic_score_is_blended_in() -> None:
    items = [
        FaqItem(id="a", questions=("jam buka perpustakaan",), answer="pukul 08.00", answer_en=None,
                tags=(), source_file="x.yml"),
        FaqItem(id="b", questions=("syarat anggota",), answer="bawa KTP", answer_en=None,
                tags=(), source_file="x.yml"),
    ]
    hybrid = FaqIndex(items, embedder=_Letters(), semantic_weight=0.4)
    hit = hybrid.search("jam buka")[0]
    assert hit.item.id == "a" and hit.semantic is not None
    assert hit.score == pytest.approx(0.6 * hit.lexical + 0.4 * max(hit.semantic, 0.0))


def test_a_close_runner_up_means_asking_back(index: FaqIndex) -> None:
    th = Thresholds(answer=0.1, suggest=0.05, margin=0.03)
    hits = index.search("kartu")
    assert hits[0].score >= th.answer
    assert not th.confident(hits) or hits[0].score - hits[1].score >= 0.03
    assert not Thresholds(margin=1.0).confident(index.search("jam buka perpustakaan"))
    assert Thresholds(margin=0.0).confident(index.search("jam buka perpustakaan"))


def _item(id_: str, *questions: str, answer: str = "jawaban", answer_en: str | None = None) -> FaqItem:
    return FaqItem(id=id_, questions=questions, answer=answer, answer_en=answer_en, tags=(), source_file="x.yml")


SMALL = [
    _item("komputer", "ada komputer untuk umum?", "bisa pakai komputer perpustakaan?"),
    _item("pakaian", "boleh pakai kaos ke perpustakaan?", "aturan pakaian pengunjung"),
    _item("jam", "jam berapa perpustakaan buka?", answer_en="We open at 8 a.m."),
]


def test_synonyms_bring_the_faq_wording_to_the_question(tmp_path: Path) -> None:
    table = tmp_path / "sinonim.tsv"
    table.write_text("# komentar\npc\tkomputer\nbawa pulang\tpinjam\nrusak tanpa tab\n", encoding="utf-8")
    synonyms = load_synonyms(table)
    assert synonyms == {"pc": "komputer", "bawa pulang": "pinjam"}
    plain = FaqIndex(SMALL)
    with_synonyms = FaqIndex(SMALL, synonyms=synonyms)
    assert plain.search("ada pc yg bs dipakai?")[0].item.id == "pakaian"  # "pakai" alone misleads
    assert with_synonyms.search("ada pc yg bs dipakai?")[0].item.id == "komputer"
    # "pc" is unknown to the FAQ, so it no longer weighs on the question as an unknown word
    assert "pc" not in with_synonyms.query_terms("ada pc") and "komputer" in with_synonyms.query_terms("ada pc")
    assert load_synonyms(tmp_path / "missing.tsv") == {}


def test_the_shipped_synonym_file_is_valid() -> None:
    synonyms = load_synonyms(ROOT / "knowledge" / "faq" / SYNONYMS_FILE)
    assert len(synonyms) >= 50
    assert all(key and value and key == key.lower() for key, value in synonyms.items())


def test_english_questions_lean_on_the_embedding_model() -> None:
    index = FaqIndex(SMALL, embedder=_Letters(), semantic_weight=0.2, english_weight=0.6)
    english = index.search("when do you open?")[0]
    indonesian = index.search("kapan perpus buka?")[0]
    assert is_english("when do you open?") and not is_english("kapan perpus buka?")
    assert english.score == pytest.approx(0.4 * english.lexical + 0.6 * max(english.semantic or 0.0, 0.0))
    assert indonesian.score == pytest.approx(0.8 * indonesian.lexical + 0.2 * max(indonesian.semantic or 0.0, 0.0))


def test_a_synonym_edit_is_live_without_restart(tmp_path: Path) -> None:
    faq = tmp_path / "faq"
    faq.mkdir()
    (faq / "layanan.yml").write_text(
        "faqs:\n"
        "  - id: komputer\n    questions:\n      - ada komputer untuk umum?\n      - bisa pakai komputer?\n"
        "    answer: Ada 10 komputer di lantai 2, Kak.\n"
        "  - id: pakaian\n    questions:\n      - boleh pakai kaos?\n      - aturan pakaian pengunjung\n"
        "    answer: Pakaian sopan ya, Kak.\n",
        encoding="utf-8",
    )
    # the synonyms alone: the phrasing bank would lend "komputer" patrons' words for "pc" too
    kb = KnowledgeBase(f"sqlite:///{tmp_path / 'kb.db'}", faq, embedding_model="", phrasing_bank=None)
    upgrade(f"sqlite:///{tmp_path / 'kb.db'}")
    try:
        assert kb.search_faq("ada pc yg bs dipakai?")[0].item.id == "pakaian"
        (faq / SYNONYMS_FILE).write_text("pc\tkomputer\n", encoding="utf-8")
        assert kb.search_faq("ada pc yg bs dipakai?")[0].item.id == "komputer"
    finally:
        kb.close()


@pytest.fixture(scope="module")
def default_embedder() -> Embedder:
    """The default settings' embedder as loaded on this machine, remembering the FAQ's vectors
    across the held-out sets as the knowledge base does."""
    embedder = load_embedder(Settings().embedding_model)
    assert embedder is not None
    return CachingEmbedder(embedder)


@pytest.mark.parametrize(
    ("heldout_file", "min_top1"),
    # faq.yml: its misses were seen when sinonim.tsv was written; faq_blind.yml and
    # faq_blind2.yml: written from the FAQ files only, without seeing the code, the data or the
    # other sets (faq_blind2.yml after the variants were added; faq_blind3.yml and
    # faq_blind4.yml from the answers only). Floors a little under today's figures (RESULTS.md)
    # guard against regressions.
    [
        ("faq.yml", 0.95), ("faq_blind.yml", 0.92), ("faq_blind2.yml", 0.86),
        ("faq_blind3.yml", 0.92), ("faq_blind4.yml", 0.89),
    ],
)
def test_default_hybrid_retrieval_on_heldout_sets(default_embedder: Embedder, heldout_file: str, min_top1: float) -> None:
    """The default embedder with its shipped tuning (synonyms, thresholds, weights) on held-out
    data; figures in benchmarks/RESULTS.md ("Embedding backends")."""
    data = yaml.safe_load((HELDOUT.parent / heldout_file).read_text(encoding="utf-8"))
    folder = ROOT / "knowledge" / "faq"
    tuning = shipped_tuning(default_embedder.name)
    index = FaqIndex(FaqStore(folder).entries(), embedder=default_embedder, semantic_weight=tuning.semantic_weight,
                     english_weight=tuning.english_weight, synonyms=load_synonyms(folder / SYNONYMS_FILE))
    top1, wrong, declined = figures(index, data, tuning.thresholds)
    assert top1 >= min_top1
    assert wrong <= 0.05
    assert declined >= 0.90
