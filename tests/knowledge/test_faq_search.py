"""FAQ retrieval: ranking, paraphrases, thresholds on held-out questions (never in the FAQ files)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from knowledge.faq import FaqItem, FaqStore
from knowledge.faq_search import FaqIndex, Thresholds

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


def test_heldout_paraphrases_are_not_faq_variants(heldout: dict) -> None:
    variants = {q.strip().lower() for i in FaqStore(ROOT / "knowledge" / "faq").entries() for q in i.questions}
    assert len(heldout["answerable"]) >= 100 and len(heldout["out_of_scope"]) >= 50
    assert not [a["q"] for a in heldout["answerable"] if a["q"].strip().lower() in variants]


def test_heldout_ranking_and_thresholds(index: FaqIndex, heldout: dict) -> None:
    """Lexical retrieval alone (the suite runs without the embedding model); see RESULTS.md."""
    th = Thresholds()
    top1 = wrong = 0
    for a in heldout["answerable"]:
        hits = index.search(a["q"])
        top1 += hits[0].item.id == a["id"]
        wrong += th.confident(hits) and hits[0].item.id != a["id"]
    n = len(heldout["answerable"])
    declined = sum(1 for q in heldout["out_of_scope"] if not th.confident(index.search(q)))
    assert top1 / n >= 0.80
    assert wrong / n <= 0.05  # a wrong answer is worse than asking back
    assert declined / len(heldout["out_of_scope"]) >= 0.90


def test_exclude_and_empty_index(index: FaqIndex) -> None:
    hits = index.search("jam buka perpustakaan kalau puasa", exclude=frozenset({"jam-buka-ramadan"}))
    assert "jam-buka-ramadan" not in [h.item.id for h in hits]
    assert FaqIndex([]).search("apa saja") == []


class _Letters:
    """A deterministic toy embedder: letter-frequency vectors (real models are in the benchmark)."""

    def encode(self, texts: list[str]) -> list[list[float]]:
        out = []
        for text in texts:
            v = [float(text.lower().count(c)) for c in "abcdefghijklmnopqrstuvwxyz"]
            norm = sum(x * x for x in v) ** 0.5 or 1.0
            out.append([x / norm for x in v])
        return out


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
