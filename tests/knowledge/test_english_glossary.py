"""English questions on an Indonesian FAQ: the glossary (knowledge/english.py) in FAQ retrieval."""

from __future__ import annotations

from pathlib import Path

import pytest

from knowledge.embedders import USE, load_embedder
from knowledge.english import Glossary, shipped_glossary
from knowledge.faq import write_sparse_faq
from knowledge.faq_judge import load_judge_model
from knowledge.faq_search import FaqIndex, load_synonyms, shipped_tuning

ROOT = Path(__file__).resolve().parents[2]
FAQ_DIR = ROOT / "knowledge" / "faq"


def test_keys_match_on_english_stems_two_word_keys_first(tmp_path: Path) -> None:
    path = tmp_path / "en_id.tsv"
    path.write_text("# comment\nfine\tdenda\nlate fee\tdenda keterlambatan\nlate\tterlambat\nbad line\n",
                    encoding="utf-8")
    glossary = Glossary.read(path)
    assert list(glossary.matches("Any fines?")) == [("fines", "denda")]
    # "late fees" is one key; its "late" is not read again on its own.
    assert list(glossary.matches("late fees for kids")) == [("late fees", "denda keterlambatan")]
    assert Glossary.read(tmp_path / "missing.tsv").table == {}


def test_the_shipped_glossary_reads_library_words() -> None:
    found = dict(shipped_glossary().matches("I lost my library card, can I borrow books?"))
    assert found["library card"] == "kartu anggota" and found["lost"] == "hilang" and found["borrow"] == "pinjam"


@pytest.fixture(scope="module")
def indexes(tmp_path_factory: pytest.TempPathFactory) -> tuple[FaqIndex, FaqIndex]:
    """The sparse FAQ (one Indonesian question per entry, no English answers) with the default
    embedder and the judge: without the glossary, and with the shipped one."""
    items = write_sparse_faq(FAQ_DIR, tmp_path_factory.mktemp("sparse"))
    tuning = shipped_tuning(USE)
    common = dict(embedder=load_embedder(USE), semantic_weight=tuning.semantic_weight,
                  english_weight=tuning.english_weight, synonyms=load_synonyms(FAQ_DIR / "sinonim.tsv"),
                  judge=load_judge_model())
    return FaqIndex(items, glossary=Glossary(), **common), FaqIndex(items, **common)


@pytest.mark.parametrize(
    ("question", "entry"),
    [("how much is the late fee per day?", "denda-keterlambatan"),
     ("is there a fine for returning a book late?", "denda-keterlambatan"),
     ("is there a prayer room?", "musala")],
)
def test_an_english_question_on_an_indonesian_only_entry_is_answered(
    indexes: tuple[FaqIndex, FaqIndex], question: str, entry: str
) -> None:
    without, with_glossary = indexes
    before = without.search(question)[0]
    assert not (before.item.id == entry and before.sure)  # what the glossary adds
    hit = with_glossary.search(question)[0]
    assert hit.item.id == entry and hit.sure


@pytest.mark.parametrize(
    "question",
    ["when does the city bank open on saturday?", "how much is parking at the hospital?",
     "what is the wifi password at the train station?"],
)
def test_another_institutions_question_in_english_gets_no_library_fact(
    indexes: tuple[FaqIndex, FaqIndex], question: str
) -> None:
    _, with_glossary = indexes
    assert not with_glossary.search(question, limit=1)[0].sure


def test_an_indonesian_question_is_not_glossed(indexes: tuple[FaqIndex, FaqIndex]) -> None:
    without, with_glossary = indexes
    question = "min, denda telat balikin buku berapa ya? open jam brp"
    assert with_glossary.query_terms(question) == without.query_terms(question)
    assert [(h.item.id, h.score, h.sure) for h in with_glossary.search(question)] == [
        (h.item.id, h.score, h.sure) for h in without.search(question)
    ]
