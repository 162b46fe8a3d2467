"""The FAQ judge: one calibrated decision over several signals (knowledge/faq_judge.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from knowledge.embedders import USE, load_embedder
from knowledge.faq import check_folder, write_sparse_faq
from knowledge.faq_judge import FEATURES, JUDGE_FILE, load_judge_model
from knowledge.faq_search import FaqIndex, Thresholds, load_synonyms, shipped_tuning

ROOT = Path(__file__).resolve().parents[2]
FAQ_DIR = ROOT / "knowledge" / "faq"


@pytest.fixture(scope="module")
def sparse_index(tmp_path_factory: pytest.TempPathFactory) -> FaqIndex:
    """The shipped FAQ reduced to one question per entry, with the default embedder and the judge."""
    items = write_sparse_faq(FAQ_DIR, tmp_path_factory.mktemp("sparse"))
    embedder = load_embedder(USE)
    tuning = shipped_tuning(USE)
    return FaqIndex(items, embedder=embedder, semantic_weight=tuning.semantic_weight,
                    english_weight=tuning.english_weight, synonyms=load_synonyms(FAQ_DIR / "sinonim.tsv"),
                    judge=load_judge_model())


def test_the_shipped_judge_is_fitted_for_the_default_embedder_and_lexical_retrieval() -> None:
    model = load_judge_model()
    assert model is not None
    for name in (USE, ""):
        fitted = model.for_embedder(name)
        assert fitted is not None
        coefficients, _, answer_at = fitted
        assert len(coefficients) == len(FEATURES) and 0.3 <= answer_at <= 0.95
    # The signals read the way they should: a higher score and a clearer lead make an answer
    # likelier; words outside the library's domain make it less likely.
    co = dict(zip(FEATURES, model.for_embedder(USE)[0], strict=True))
    assert co["score"] > 0 and co["lead"] > 0 and co["outside_domain"] < 0
    assert model.domain_examples and model.outside_examples and "pinjam" in model.vocabulary


def test_a_paraphrase_of_a_one_question_entry_is_answered(sparse_index: FaqIndex) -> None:
    hits = sparse_index.search("min perpus bukanya dari jam berapa sampai jam berapa?", limit=3)
    assert hits[0].item.id == "jam-buka" and hits[0].sure and hits[0].confidence is not None
    assert Thresholds().confident(hits)  # the judge's verdict is the one the engine reads


@pytest.mark.parametrize(
    "question",
    ["harga cabe merah di pasar hari ini berapa?", "siapa presiden indonesia yang pertama?",
     "jam buka kantor kelurahan cambai hari senin?"],
)
def test_questions_outside_the_library_are_not_answered(sparse_index: FaqIndex, question: str) -> None:
    hits = sparse_index.search(question, limit=1)
    assert not hits or not hits[0].sure


def test_the_judge_is_surer_of_a_library_question_than_of_the_same_words_about_another_office(
    sparse_index: FaqIndex,
) -> None:
    library = sparse_index.search("perpustakaan buka jam berapa?", limit=1)[0]
    office = sparse_index.search("kantor samsat buka jam berapa?", limit=1)[0]
    assert library.confidence is not None and office.confidence is not None
    assert library.confidence > office.confidence
    assert office.sure is False and office.elsewhere == "samsat"  # and it names another office


def test_without_a_fitted_judge_the_score_thresholds_decide(tmp_path: Path) -> None:
    assert load_judge_model(tmp_path / "missing.json") is None
    items, _ = check_folder(FAQ_DIR)
    index = FaqIndex(items)  # lexical, no judge
    hits = index.search("jam buka perpustakaan?", limit=2)
    assert hits[0].confidence is None and hits[0].sure is None
    assert Thresholds().confident(hits) == (hits[0].score >= Thresholds().answer
                                            and hits[0].score - hits[1].score >= Thresholds().margin)


def test_a_judge_fitted_for_other_features_is_refused(tmp_path: Path) -> None:
    data = json.loads(JUDGE_FILE.read_text(encoding="utf-8"))
    data["features"] = data["features"][:-1]
    stale = tmp_path / "judge.json"
    stale.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(ValueError, match="refit"):
        load_judge_model(stale)
