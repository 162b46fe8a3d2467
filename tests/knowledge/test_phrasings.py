"""Patron phrasings lent to a librarian's FAQ (knowledge/phrasings.py), with the real default
embedder and the shipped judge."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.settings import Settings
from knowledge.db import upgrade
from knowledge.embedders import Embedder, load_embedder
from knowledge.faq import FaqItem, FaqStore
from knowledge.faq_judge import FEATURES, JudgeModel, load_judge_model
from knowledge.faq_search import FaqIndex, shipped_tuning
from knowledge.kb import CachingEmbedder, KnowledgeBase
from knowledge.phrasings import BANK_FILE, PhrasingBank, lent_phrasings, load_bank
from knowledge.text import fold

ROOT = Path(__file__).resolve().parents[2]
LIBRARIAN_FAQ = ROOT / "tests" / "data" / "librarian_faq"

SPARSE_FAQ = (
    "faqs:\n"
    "  - id: internet-kami\n    questions:\n      - Apakah perpustakaan menyediakan WiFi?\n"
    "    answer: Ada WiFi gratis bernama PerpusKita, kata sandinya ditempel di meja layanan ya, Kak.\n"
    "  - id: parkir-kami\n    questions:\n      - Apakah tersedia tempat parkir?\n"
    "    answer: Parkir motor dan mobil di halaman depan, gratis, Kak.\n"
    "  - id: surat-bebas-pustaka\n    questions:\n      - Bagaimana cara mendapatkan surat bebas pustaka?\n"
    "    answer: Bawa kartu anggota ke meja sirkulasi; surat jadi dalam satu hari kerja, Kak.\n"
)


@pytest.fixture(scope="module")
def embedder() -> Embedder:
    inner = load_embedder(Settings().embedding_model)
    assert inner is not None
    return CachingEmbedder(inner)


@pytest.fixture(scope="module")
def bank(embedder: Embedder) -> PhrasingBank:
    tuning = shipped_tuning(embedder.name)
    return PhrasingBank(load_bank(BANK_FILE), embedder=embedder, judge=load_judge_model(),
                        semantic_weight=tuning.semantic_weight, english_weight=tuning.english_weight)


def test_the_shipped_bank_is_a_valid_faq_file_of_many_phrasings() -> None:
    clusters = load_bank(BANK_FILE)
    assert len(clusters) >= 50
    assert min(len(c.questions) for c in clusters) >= 15
    assert load_bank(None) == [] and load_bank(BANK_FILE.with_name("missing.yml")) == []


def test_an_entry_borrows_the_clusters_its_own_questions_ask(bank: PhrasingBank) -> None:
    items = FaqStore(LIBRARIAN_FAQ).entries()
    loans = bank.loans(items)
    by_entry: dict[str, set[str]] = {}
    for x in loans:
        by_entry.setdefault(x.entry_id, set()).add(x.cluster_id)
    # two questions, two clusters: the hours and the midday break
    assert by_entry["jam-layanan"] == {"jam-buka", "jam-istirahat"}
    assert by_entry["buku-hilang-rusak"] == {"buku-hilang", "buku-rusak"}
    assert by_entry["ruang-anak"] == {"pojok-anak"}
    # topics the bank has no cluster for borrow nothing
    for entry in ("surat-bebas-pustaka", "layanan-lansia", "koleksi-braille", "magang-pkl"):
        assert entry not in by_entry
    # a cluster is lent to one entry only, and never repeats the library's own questions
    clusters = [x.cluster_id for x in loans]
    assert len(clusters) == len(set(clusters))
    own = {fold(q) for i in items for q in i.questions}
    assert all(fold(p) not in own for x in loans for p in x.phrasings)
    lent = lent_phrasings(loans)
    assert set(lent) == set(by_entry)
    assert len(lent["jam-layanan"]) == len(set(lent["jam-layanan"])) >= 30


def test_the_knowledge_base_answers_a_patron_phrasing_with_the_librarians_entry(
    tmp_path: Path, embedder: Embedder
) -> None:
    faq = tmp_path / "faq"
    faq.mkdir()
    (faq / "layanan.yml").write_text(SPARSE_FAQ, encoding="utf-8")
    url = f"sqlite:///{tmp_path / 'kb.db'}"
    upgrade(url)
    with_bank = KnowledgeBase(url, faq, embedder=embedder)
    alone = KnowledgeBase(url, faq, embedder=embedder, phrasing_bank=None)
    try:
        index = with_bank.faq_index()
        assert set(index.borrowed) == {"internet-kami", "parkir-kami"}
        assert alone.faq_index().borrowed == {}
        for patron, entry in (("pw wifinya apa min", "internet-kami"), ("naruh motor dmn ya", "parkir-kami")):
            hit = with_bank.search_faq(patron)[0]
            assert hit.item.id == entry and hit.sure, patron
            # the librarian's entry as written: no bank text in what a patron is shown
            assert hit.item.questions == next(i for i in with_bank.faq_store.entries() if i.id == entry).questions
            assert not alone.search_faq(patron)[0].sure, patron
        # an edit is live: a new entry asking a bank question borrows at the next search
        (faq / "layanan.yml").write_text(
            SPARSE_FAQ + "  - id: toilet-kami\n    questions:\n      - Di mana letak toilet?\n"
            "    answer: Toilet ada di ujung lorong tiap lantai, Kak.\n", encoding="utf-8",
        )
        with_bank.faq_store.refresh(force=True)
        assert "toilet-kami" in with_bank.faq_index().borrowed
    finally:
        with_bank.close()
        alone.close()


def test_the_shipped_faq_borrows_nothing_it_already_asks(bank: PhrasingBank) -> None:
    assert bank.loans(FaqStore(ROOT / "knowledge" / "faq").entries()) == []


def test_an_empty_setting_lends_no_phrasings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PUSTAKABOT_PHRASING_BANK", "")
    assert Settings().phrasing_bank is None
    monkeypatch.delenv("PUSTAKABOT_PHRASING_BANK")
    assert Settings().phrasing_bank == BANK_FILE


def test_the_judge_reads_the_density_of_the_entry_it_judges() -> None:
    """A borrowing entry is judged as one of a full FAQ, its one-question neighbour as one of a
    sparse FAQ (a judge weighing only the density signal shows which it read)."""
    density_only = [1.0 if f == "density" else 0.0 for f in FEATURES]
    judge = JudgeModel({"": (density_only, 0.0)}, {"": 0.5}, frozenset())
    items = [
        FaqItem(id="wifi", questions=("Apakah ada WiFi?",), answer="Ada WiFi gratis."),
        FaqItem(id="aula", questions=("Apakah aula bisa dipinjam?",), answer="Aula bisa dipinjam gratis."),
    ]
    lent = tuple(f"wifi kata sandinya apa {n}" for n in range(24))
    index = FaqIndex(items, judge=judge, borrowed={"wifi": lent})
    wifi, aula = index.search("sandi wifi apa")[0], index.search("aula bisa dipinjam")[0]
    assert wifi.item.id == "wifi" and aula.item.id == "aula"
    assert wifi.confidence == pytest.approx(25 / 26)  # sigmoid(log 25)
    assert aula.confidence == pytest.approx(0.5)  # sigmoid(log 1)


def test_a_borrowed_phrasing_ranks_below_the_librarians_own_words() -> None:
    """An entry found by many borrowed phrasings must not win, by their number alone, a question
    its one-question neighbour asks in its own words; the hits keep their plain scores."""
    items = [
        FaqItem(id="parkir", questions=("Apakah tersedia tempat parkir?",), answer="Parkir gratis di halaman."),
        FaqItem(id="aula", questions=("jam pakai aula",), answer="Aula dipakai pada jam layanan."),
    ]
    index = FaqIndex(items, borrowed={"parkir": ("jam pakai aula",)})
    hits = index.search("jam pakai aula")
    assert [h.item.id for h in hits[:2]] == ["aula", "parkir"]
    assert hits[1].score == pytest.approx(hits[0].score)  # the same words: the same plain score
    assert FaqIndex(items).search("jam pakai aula")[0].item.id == "aula"


def test_a_question_written_as_a_bank_phrasing_is_that_cluster_without_a_search(bank: PhrasingBank) -> None:
    wifi = next(c for c in bank.clusters if c.id == "wifi")
    assert bank.cluster_of(wifi.questions[3].upper()) == ("wifi", 1.0)
    asked = "Apakah perpustakaan memberi akses internet nirkabel bagi pengunjung?"
    first = bank.cluster_of(asked)
    assert first is not None and first[0] == "wifi"
    assert bank.cluster_of(asked) == first  # remembered: a FAQ edit re-reads only new questions
